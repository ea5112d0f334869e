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

public enum GoRegexSource {
    /// `pattern` with every non-ASCII code point written as `\u{…}`. Go reads a pattern code point
    /// by code point; Swift's parser reads characters and refuses a metacharacter followed by a
    /// combining mark (`.` + U+0301) as "confusable". Escaped sequences and `\Q…\E` stay as they are.
    public static func swift(_ pattern: String) -> String {
        var out = ""
        var escaped = false, quoted = false
        var previous: Unicode.Scalar = " "
        for c in pattern.unicodeScalars {
            defer { previous = c }
            if quoted {
                if previous == "\\" && c == "E" { quoted = false }
                out.unicodeScalars.append(c)
                continue
            }
            if escaped {
                escaped = false
                if c == "Q" { quoted = true }
                out.unicodeScalars.append(c)
                continue
            }
            if c == "\\" { escaped = true; out.unicodeScalars.append(c); continue }
            if c.isASCII { out.unicodeScalars.append(c) } else { out += "\\u{" + String(c.value, radix: 16) + "}" }
        }
        return out
    }
}

/// An anchored regex with fast paths for the shapes Grafana and users write most.
final class AnchoredRegex: @unchecked Sendable {
    private enum Plan {
        case any                 // .*
        case nonEmpty            // .+
        case literals(Set<ByteString>) // a|b|c (no metacharacters)
        case prefix(String)      // foo.*
        case engine
    }

    private let plan: Plan
    // Immutable after init; Swift's Regex is not declared Sendable on every platform.
    private let compiled: Regex<AnyRegexOutput>?

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
        if let why = Self.nonRE2Syntax(pattern) {
            throw MatcherError("error parsing regexp: invalid or unsupported Perl syntax: `\(why)`")
        }
        do {
            // Go's regexp steps through code points; Swift's default steps through grapheme clusters
            // (so `.` would swallow "e" plus a combining accent, and "é" would equal its NFD form).
            compiled = try Regex("^(?:" + GoRegexSource.swift(pattern) + ")$").dotMatchesNewlines().matchingSemantics(.unicodeScalar)
        } catch {
            throw MatcherError("error parsing regexp: \(error): `\(pattern)`")
        }
    }

    /// Swift's regex engine accepts constructs RE2 (and so Prometheus) rejects: lookaround,
    /// backreferences, atomic groups and possessive quantifiers. Refuse them the way Prometheus would.
    static func nonRE2Syntax(_ p: String) -> String? {
        let b = Array(p.utf8)
        var i = 0
        var inClass = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                if i + 1 < b.count, (UInt8(ascii: "1") ... UInt8(ascii: "9")).contains(b[i + 1]) {
                    return "\\" + String(UnicodeScalar(b[i + 1]))
                }
                i += 2
                continue
            }
            if inClass { if c == UInt8(ascii: "]") { inClass = false }; i += 1; continue }
            if c == UInt8(ascii: "[") { inClass = true; i += 1; if i < b.count && b[i] == UInt8(ascii: "]") { i += 1 }; continue }
            if c == UInt8(ascii: "("), i + 2 < b.count, b[i + 1] == UInt8(ascii: "?") {
                let n = b[i + 2]
                if n == UInt8(ascii: "=") || n == UInt8(ascii: "!") || n == UInt8(ascii: ">") { return "(?" + String(UnicodeScalar(n)) }
                if n == UInt8(ascii: "<"), i + 3 < b.count, b[i + 3] == UInt8(ascii: "=") || b[i + 3] == UInt8(ascii: "!") {
                    return "(?<" + String(UnicodeScalar(b[i + 3]))
                }
            }
            if (c == UInt8(ascii: "*") || c == UInt8(ascii: "+") || c == UInt8(ascii: "?") || c == UInt8(ascii: "}")),
               i + 1 < b.count, b[i + 1] == UInt8(ascii: "+") {
                return String(UnicodeScalar(c)) + "+"
            }
            i += 1
        }
        return nil
    }

    func matches(_ s: String) -> Bool {
        switch plan {
        case .any: return true
        case .nonEmpty: return !s.isEmpty
        case .literals(let set): return set.contains(ByteString(s))
        case .prefix(let p): return s.utf8.starts(with: p.utf8)
        case .engine: return (try? compiled!.wholeMatch(in: s)) != nil
        }
    }
}
