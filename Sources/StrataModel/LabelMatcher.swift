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
        case .equal: return s == value
        case .notEqual: return s != value
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
final class AnchoredRegex: @unchecked Sendable {
    private enum Plan {
        case any                 // .*
        case nonEmpty            // .+
        case literals(Set<String>) // a|b|c (no metacharacters)
        case prefix(String)      // foo.*
        case engine
    }

    private let plan: Plan
    // Immutable after init; Swift's Regex is not declared Sendable on every platform.
    private let compiled: Regex<AnyRegexOutput>?

    init(_ pattern: String) throws {
        let meta: Set<Character> = ["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]
        func isLiteral(_ s: Substring) -> Bool { !s.contains(where: { meta.contains($0) }) }
        if pattern == ".*" { plan = .any }
        else if pattern == ".+" { plan = .nonEmpty }
        else if pattern.split(separator: "|", omittingEmptySubsequences: false).allSatisfy(isLiteral) {
            plan = .literals(Set(pattern.split(separator: "|", omittingEmptySubsequences: false).map(String.init)))
        } else if pattern.hasSuffix(".*"), isLiteral(pattern.dropLast(2)) {
            plan = .prefix(String(pattern.dropLast(2)))
        } else {
            plan = .engine
        }
        do {
            compiled = try Regex("^(?:" + pattern + ")$").dotMatchesNewlines()
        } catch {
            throw MatcherError("error parsing regexp: \(error): `\(pattern)`")
        }
    }

    func matches(_ s: String) -> Bool {
        switch plan {
        case .any: return true
        case .nonEmpty: return !s.isEmpty
        case .literals(let set): return set.contains(s)
        case .prefix(let p): return s.utf8.starts(with: p.utf8)
        case .engine: return (try? compiled!.wholeMatch(in: s)) != nil
        }
    }
}
