/// A label matcher as in PromQL selectors: `=`, `!=`, `=~`, `!~`.
///
/// Regexes are fully anchored and `.` matches newlines, as Prometheus' `FastRegexMatcher` does.
/// Literal alternations are a hash lookup; the regex engine fast-paths `.*`, prefixes, suffixes
/// and substrings itself.
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

/// An anchored regex. Literal alternations (`a|b|c`, Grafana's multi-value variables, often
/// hundreds long) are a hash lookup; everything else goes to `GoRegexp`, which has its own fast
/// paths for `.*`, prefixes, suffixes and substrings.
final class AnchoredRegex: Sendable {
    /// Set when the pattern is a plain alternation of literals.
    private let literals: Set<ByteString>?
    /// Linear-time (RE2) matching: no pattern can make one label value take long.
    private let compiled: GoRegexp

    init(_ pattern: String) throws {
        // Classified by code point, as Go reads a pattern: by Character, a metacharacter followed
        // by a combining mark would hide inside one grapheme and pass for a literal.
        let meta: Set<Unicode.Scalar> = ["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]
        let alternatives = pattern.unicodeScalars[...].split(separator: "|", omittingEmptySubsequences: false)
        if alternatives.allSatisfy({ !$0.contains(where: { meta.contains($0) }) }) {
            literals = Set(alternatives.map { ByteString(String(Substring($0))) })
        } else {
            literals = nil
        }
        // Compiled in every case, so an invalid pattern is refused the way Prometheus refuses it.
        do { compiled = try GoRegexp(pattern) } catch { throw MatcherError(error.description) }
    }

    func matches(_ s: String) -> Bool {
        if let literals { return literals.contains(ByteString(s)) }
        return compiled.wholeMatch(s)
    }
}
