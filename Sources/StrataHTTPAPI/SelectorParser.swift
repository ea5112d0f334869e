import StrataModel

/// Parses a PromQL instant vector selector (`metric{a="b",c=~"d.*"}`), the only expression the first
/// read path evaluates. The PromQL issue replaces this with the full parser.
public enum SelectorParser {
    public static func parse(_ input: String) throws(APIError) -> [LabelMatcher] {
        var p = Scanner(Array(input.utf8))
        var matchers: [LabelMatcher] = []
        p.skipSpace()
        if p.peekIdentStart(metric: true) {
            let name = p.identifier(metric: true)
            matchers.append(try make(.equal, "__name__", name))
            p.skipSpace()
        }
        if p.peek == UInt8(ascii: "{") {
            p.pos += 1
            while true {
                p.skipSpace()
                if p.peek == UInt8(ascii: "}") { p.pos += 1; break }
                let label: String
                if p.peek == UInt8(ascii: "\"") || p.peek == UInt8(ascii: "'") {
                    label = try p.quoted()
                } else if p.peekIdentStart(metric: false) {
                    label = p.identifier(metric: false)
                } else {
                    throw unsupported(input, at: p.pos, "unexpected character inside braces")
                }
                p.skipSpace()
                let kind: LabelMatcher.Kind
                if p.consume("=~") { kind = .regexMatch }
                else if p.consume("!~") { kind = .regexNoMatch }
                else if p.consume("!=") { kind = .notEqual }
                else if p.consume("=") { kind = .equal }
                else { throw unsupported(input, at: p.pos, "expected a label matching operator") }
                p.skipSpace()
                guard p.peek == UInt8(ascii: "\"") || p.peek == UInt8(ascii: "'") || p.peek == UInt8(ascii: "`") else {
                    throw unsupported(input, at: p.pos, "expected a quoted label value")
                }
                let value = try p.quoted()
                if label == "__name__" && p.hadMetricName {
                    throw APIError.badData("1:\(p.pos + 1): parse error: metric name must not be set twice: \(goQuote(matchers[0].value)) or \(goQuote(value))")
                }
                matchers.append(try make(kind, label, value))
                p.skipSpace()
                if p.consume(",") { continue }
                if p.peek == UInt8(ascii: "}") { p.pos += 1; break }
                throw unsupported(input, at: p.pos, "expected \",\" or \"}\"")
            }
        }
        p.skipSpace()
        if !p.atEnd || matchers.isEmpty {
            throw unsupported(input, at: p.pos, nil)
        }
        if matchers.allSatisfy({ $0.matchesEmpty }) {
            throw APIError.badData("1:1: parse error: vector selector must contain at least one non-empty matcher")
        }
        return matchers
    }

    private static func make(_ k: LabelMatcher.Kind, _ n: String, _ v: String) throws(APIError) -> LabelMatcher {
        do { return try LabelMatcher(k, n, v) } catch { throw .badData("1:1: parse error: \(error)") }
    }

    private static func unsupported(_ input: String, at pos: Int, _ detail: String?) -> APIError {
        .badData("1:\(pos + 1): unsupported expression \(goQuote(input))\(detail.map { ": " + $0 } ?? ""); "
            + "this version of Strata evaluates instant vector selectors only (e.g. up{job=\"x\"}); full PromQL support is coming")
    }

    struct Scanner {
        let b: [UInt8]
        var pos = 0
        var hadMetricName = false
        init(_ b: [UInt8]) { self.b = b }

        var atEnd: Bool { pos >= b.count }
        var peek: UInt8? { pos < b.count ? b[pos] : nil }

        mutating func skipSpace() {
            while let c = peek, c == 32 || c == 9 || c == 10 || c == 13 { pos += 1 }
        }

        mutating func consume(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard pos + n <= b.count else { return false }
            let match = s.withUTF8Buffer { Array($0) == Array(b[pos ..< pos + n]) }
            if match { pos += n }
            return match
        }

        func isIdent(_ c: UInt8, first: Bool, metric: Bool) -> Bool {
            (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (metric && c == 58) || (!first && c >= 48 && c <= 57)
        }

        func peekIdentStart(metric: Bool) -> Bool { peek.map { isIdent($0, first: true, metric: metric) } ?? false }

        mutating func identifier(metric: Bool) -> String {
            let start = pos
            while let c = peek, isIdent(c, first: pos == start, metric: metric) { pos += 1 }
            if metric { hadMetricName = true }
            return String(decoding: b[start ..< pos], as: UTF8.self)
        }

        /// A Go/PromQL string literal: "…" and '…' with escapes, `…` raw.
        mutating func quoted() throws(APIError) -> String {
            let q = b[pos]; pos += 1
            var out: [UInt8] = []
            while true {
                guard let c = peek else { throw APIError.badData("1:\(pos + 1): parse error: unterminated quoted string") }
                pos += 1
                if c == q { break }
                if q != UInt8(ascii: "`") && c == UInt8(ascii: "\\") {
                    guard let e = peek else { throw APIError.badData("1:\(pos + 1): parse error: unterminated quoted string") }
                    pos += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "a"): out.append(7)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "v"): out.append(11)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
                    case UInt8(ascii: "x"):
                        guard pos + 2 <= b.count, let v = UInt8(String(decoding: b[pos ..< pos + 2], as: UTF8.self), radix: 16)
                        else { throw APIError.badData("1:\(pos + 1): parse error: invalid escape sequence") }
                        out.append(v); pos += 2
                    case UInt8(ascii: "u"), UInt8(ascii: "U"):
                        let n = e == UInt8(ascii: "u") ? 4 : 8
                        guard pos + n <= b.count, let v = UInt32(String(decoding: b[pos ..< pos + n], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(v)
                        else { throw APIError.badData("1:\(pos + 1): parse error: invalid escape sequence") }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8)); pos += n
                    default:
                        throw APIError.badData("1:\(pos): parse error: unknown escape sequence \(goQuote(String(UnicodeScalar(e))))")
                    }
                } else {
                    out.append(c)
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else {
                throw APIError.badData("1:\(pos): parse error: invalid UTF-8 in string")
            }
            return s
        }
    }
}
