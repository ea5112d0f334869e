/// A label matcher as in PromQL selectors: `=`, `!=`, `=~`, `!~`.
///
/// Regexes are fully anchored and `.` matches newlines, as Prometheus' `FastRegexMatcher` does.
/// Common shapes (`.*`, `.+`, literal alternations, literal prefixes) are matched without the
/// regex engine.
public struct LabelMatcher: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case equal = "=", notEqual = "!=", regexMatch = "=~", regexNoMatch = "!~"
    }

    public let kind: Kind
    public let name: String
    public let value: String
    private let regex: AnchoredRegex?

    public init(_ kind: Kind, _ name: String, _ value: String) throws {
        self.kind = kind
        self.name = name
        self.value = value
        switch kind {
        case .regexMatch, .regexNoMatch: regex = try AnchoredRegex(value)
        default: regex = nil
        }
    }

    /// Whether a label value (empty when the label is absent) satisfies the matcher.
    public func matches(_ s: String) -> Bool {
        switch kind {
        case .equal: return s.utf8.elementsEqual(value.utf8)
        case .notEqual: return !s.utf8.elementsEqual(value.utf8)
        case .regexMatch: return regex!.matches(s)
        case .regexNoMatch: return !regex!.matches(s)
        }
    }

    /// True when the matcher also selects series that lack the label entirely.
    public var matchesEmpty: Bool { matches("") }

    public var description: String { name + kind.rawValue + goQuote(value) }
}

public struct MatcherError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// An anchored regex with fast paths for the shapes Grafana and users write most.
final class AnchoredRegex: Sendable {
    private enum Plan {
        case any                 // .*
        case nonEmpty            // .+
        case literals(Set<ByteString>) // a|b|c (no metacharacters)
        case prefix(String)      // foo.*
        case engine
    }

    private let plan: Plan
    /// Linear-time (RE2) matching: no pattern can make one label value take long.
    private let compiled: GoRegexp

    init(_ pattern: String) throws {
        // Classified by code point, as Go reads a pattern: by Character, a metacharacter followed
        // by a combining mark would hide inside one grapheme and pass for a literal.
        let meta: Set<Unicode.Scalar> = ["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]
        func isLiteral(_ s: Substring.UnicodeScalarView) -> Bool { !s.contains(where: { meta.contains($0) }) }
        func string(_ s: Substring.UnicodeScalarView) -> String { String(Substring(s)) }
        let scalars = pattern.unicodeScalars[...]
        let alternatives = scalars.split(separator: "|", omittingEmptySubsequences: false)
        if pattern.utf8.elementsEqual(".*".utf8) { plan = .any }
        else if pattern.utf8.elementsEqual(".+".utf8) { plan = .nonEmpty }
        else if alternatives.allSatisfy(isLiteral) {
            plan = .literals(Set(alternatives.map { ByteString(string($0)) }))
        } else if pattern.utf8.count >= 2, pattern.utf8.suffix(2).elementsEqual(".*".utf8), isLiteral(scalars.dropLast(2)) {
            plan = .prefix(string(scalars.dropLast(2)))
        } else {
            plan = .engine
        }
        // Compiled whatever the plan, so an invalid pattern is refused the way Prometheus refuses it.
        do { compiled = try GoRegexp(pattern) } catch { throw MatcherError(error.description) }
    }

    func matches(_ s: String) -> Bool {
        switch plan {
        case .any: return true
        case .nonEmpty: return !s.isEmpty
        case .literals(let set): return set.contains(ByteString(s))
        case .prefix(let p): return s.utf8.starts(with: p.utf8)
        case .engine: return compiled.wholeMatch(s)
        }
    }
}
