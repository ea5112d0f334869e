import StrataModel

/// One slot of an expanded value list (`1 _ stale {{count:2}}` → four slots).
public enum SequenceValue: Sendable {
    case omitted
    case float(Double)
    /// A native histogram, kept as written: Strata does not model histograms yet, so readers
    /// only need to know that one was there.
    case histogram(String)

    public var isOmitted: Bool { if case .omitted = self { return true } else { return false } }
    public var isHistogram: Bool { if case .histogram = self { return true } else { return false } }
}

/// `name{label="value"} <values...>` as test scripts and `promtool test rules`' `input_series` write series.
public struct SeriesLine: Sendable {
    public var labels: Labels
    public var values: [SequenceValue]
    public init(labels: Labels, values: [SequenceValue]) { self.labels = labels; self.values = values }
}

/// Prometheus' series descriptions (`parser.ParseSeriesDesc`), the notation of PromQL test
/// scripts' `load` and of rule unit tests' `input_series`: `name{l="v", ...} <values>`. The
/// series part is a selector with only `=` matchers (names may be quoted, a lone quoted string
/// is the metric name), the values are expanded by `ValueSequence`.
public enum SeriesDescription {
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ d: String) { description = d }
    }

    public static func parse(_ line: some StringProtocol) throws -> SeriesLine {
        let (labels, rest) = try parseLabels(Substring(line))
        return SeriesLine(labels: labels, values: try ValueSequence.expand(rest))
    }

    /// The series part, and whatever follows it (values, or `@st ...`).
    public static func parseLabels(_ text: Substring) throws -> (Labels, Substring) {
        var s = text.drop(while: \.isWhitespace)
        var builder = LabelsBuilder()
        var sawSeries = false
        let name = s.prefix(while: isNameChar)
        if let first = name.first, !first.isNumber {
            builder.set("__name__", String(name))
            s = s.dropFirst(name.count)
            sawSeries = true
        }
        if s.first == "{" {
            s = s.dropFirst()
            try readLabelList(&s, into: &builder)
            sawSeries = true
        }
        guard sawSeries else { throw SyntaxError("expected a series, got \"\(text)\"") }
        return (builder.labels(), s)
    }

    /// Reads `name="value", "quoted"="v", "metric_name"}` up to and including the closing brace.
    private static func readLabelList(_ s: inout Substring, into builder: inout LabelsBuilder) throws {
        while true {
            s = s.drop(while: \.isWhitespace)
            guard let c = s.first else { throw SyntaxError("unterminated label set") }
            if c == "}" { s = s.dropFirst(); return }
            let name: String
            if c == "\"" || c == "'" || c == "`" {
                name = try unquote(try readQuoted(&s))
            } else {
                let ident = s.prefix(while: isNameChar)
                guard !ident.isEmpty else { throw SyntaxError("unexpected \"\(c)\" in label set") }
                name = String(ident)
                s = s.dropFirst(ident.count)
            }
            s = s.drop(while: \.isWhitespace)
            if s.first == "=" {
                s = s.dropFirst().drop(while: \.isWhitespace)
                builder.set(name, try unquote(try readQuoted(&s)))
            } else {
                builder.set("__name__", name) // `{"metric.name", job="x"}`
            }
            s = s.drop(while: \.isWhitespace)
            if s.first == "," { s = s.dropFirst() } else if s.first != "}" {
                throw SyntaxError("expected \",\" or \"}\" in label set")
            }
        }
    }

    /// Takes one quoted literal (quotes included) off the front of `s`.
    static func readQuoted(_ s: inout Substring) throws -> Substring {
        guard let q = s.first, q == "\"" || q == "'" || q == "`" else { throw SyntaxError("expected a quoted string") }
        var i = s.index(after: s.startIndex)
        while i < s.endIndex {
            if s[i] == "\\", q != "`" {
                i = s.index(after: i)
                if i < s.endIndex { i = s.index(after: i) }
                continue
            }
            if s[i] == q {
                let end = s.index(after: i)
                defer { s = s[end...] }
                return s[s.startIndex ..< end]
            }
            i = s.index(after: i)
        }
        throw SyntaxError("unterminated string")
    }

    static func isNameChar(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == ":")
    }

    /// Go's `parseNumber` of the test runner and of PromQL: an integer in base 0 (`0x1f`,
    /// `0o17`, `017`, `0b101`), else a float (`1e3`, `.5`, `Inf`, `-inf`, `NaN`, `0x1p-2`).
    public static func number(_ text: some StringProtocol) -> Double? {
        let s = String(text)
        if let i = goInteger(s) { return Double(i) }
        return GoFloat.parse(s)
    }

    private static func goInteger(_ s: String) -> Int64? {
        var body = Substring(s)
        var negative = false
        if let c = body.first, c == "+" || c == "-" { negative = c == "-"; body = body.dropFirst() }
        guard let first = body.first, first.isASCII, first.isNumber else { return nil }
        var radix = 10
        let lower = body.lowercased()
        if lower.hasPrefix("0x") { radix = 16; body = body.dropFirst(2) }
        else if lower.hasPrefix("0o") { radix = 8; body = body.dropFirst(2) }
        else if lower.hasPrefix("0b") { radix = 2; body = body.dropFirst(2) }
        else if body.count > 1, first == "0" { radix = 8; body = body.dropFirst() }
        body = Substring(body.filter { $0 != "_" }) // base 0 allows Go's digit separators
        guard !body.isEmpty, let magnitude = UInt64(body, radix: radix) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// Removes the quotes and escapes of a `"..."`, `'...'` or `` `...` `` literal.
    public static func unquote(_ literal: some StringProtocol) throws -> String {
        do { return try unquoteGoString(String(literal)) } catch { throw SyntaxError("invalid quoted string \(literal)") }
    }
}

/// Expands a value list: `_`, `_xN` (N gaps), `stale`, `v`, `vxN` (N+1 copies),
/// `a+bxN`/`a-bxN` (N+1 values by repeated addition, as the Go parser does), and `{{...}}`
/// histograms with the same suffixes.
public enum ValueSequence {
    typealias SyntaxError = SeriesDescription.SyntaxError

    public static func expand(_ text: some StringProtocol) throws -> [SequenceValue] {
        var out: [SequenceValue] = []
        for item in items(Substring(text)) { out += try expandItem(item) }
        return out
    }

    /// Splits on whitespace, except inside `{{...}}`.
    static func items(_ text: Substring) -> [Substring] {
        var out: [Substring] = []
        var start: Substring.Index?
        var depth = 0
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "{" { depth += 1 } else if c == "}" { depth = max(0, depth - 1) }
            if c.isWhitespace, depth == 0 {
                if let s = start { out.append(text[s ..< i]); start = nil }
            } else if start == nil {
                start = i
            }
            i = text.index(after: i)
        }
        if let s = start { out.append(text[s...]) }
        return out
    }

    static func expandItem(_ item: Substring) throws -> [SequenceValue] {
        if item == "_" { return [.omitted] }
        if item.hasPrefix("_x") {
            return Array(repeating: .omitted, count: try count(item.dropFirst(2), item))
        }
        if item.hasPrefix("{{") { return try expandHistogram(item) }
        var rest = item
        let first = try takeNumber(&rest, item)
        if rest.isEmpty { return [.float(first)] }
        if rest.first == "x" {
            return Array(repeating: .float(first), count: try count(rest.dropFirst(), item) + 1)
        }
        guard rest.first == "+" || rest.first == "-" else { throw SyntaxError("invalid value \"\(item)\"") }
        let delta = try takeNumber(&rest, item)
        guard rest.first == "x" else { throw SyntaxError("invalid value \"\(item)\"") }
        let n = try count(rest.dropFirst(), item)
        var values: [SequenceValue] = []
        var current = first
        for _ in 0 ... n {
            values.append(.float(current))
            current += delta
        }
        return values
    }

    /// `{{...}}`, `{{...}}xN`, `{{A}}+{{B}}xN`, `{{A}}-{{B}}xN`: only the shape matters here.
    private static func expandHistogram(_ item: Substring) throws -> [SequenceValue] {
        guard let close = closingBraces(in: item) else { throw SyntaxError("unterminated histogram \"\(item)\"") }
        let first = String(item[..<close.upperBound])
        var rest = item[close.upperBound...]
        if rest.isEmpty { return [.histogram(first)] }
        if rest.first == "+" || rest.first == "-" {
            guard let close2 = closingBraces(in: rest) else { throw SyntaxError("unterminated histogram \"\(item)\"") }
            rest = rest[close2.upperBound...]
        }
        guard rest.first == "x" else { throw SyntaxError("invalid histogram value \"\(item)\"") }
        return Array(repeating: .histogram(first), count: try count(rest.dropFirst(), item) + 1)
    }

    /// The range of the first `}}` in `s`.
    private static func closingBraces(in s: Substring) -> Range<Substring.Index>? {
        var i = s.startIndex
        while i < s.endIndex {
            let next = s.index(after: i)
            if s[i] == "}", next < s.endIndex, s[next] == "}" { return i ..< s.index(after: next) }
            i = next
        }
        return nil
    }

    private static func count(_ digits: Substring, _ item: Substring) throws -> Int {
        guard let n = Int(digits), n >= 0 else { throw SyntaxError("invalid repeat count in \"\(item)\"") }
        return n
    }

    /// Takes a signed number off the front: the PromQL lexer's number shape, `Inf`, `NaN`, `stale`.
    static func takeNumber(_ s: inout Substring, _ item: Substring) throws -> Double {
        var i = s.startIndex
        if i < s.endIndex, s[i] == "+" || s[i] == "-" { i = s.index(after: i) }
        let body = s[i...]
        for word in ["stale", "inf", "nan"] where body.lowercased().hasPrefix(word) {
            let end = s.index(i, offsetBy: word.count)
            let negative = s.first == "-"
            s = s[end...]
            switch word {
            case "stale": return StaleNaN.value
            case "inf": return negative ? -.infinity : .infinity
            default: return .nan
            }
        }
        let end = numberEnd(body)
        guard end > body.startIndex, let v = SeriesDescription.number(s[s.startIndex ..< end]) else {
            throw SyntaxError("invalid value \"\(item)\"")
        }
        s = s[end...]
        return v
    }

    /// Where a number starting at `s` ends: digits `.` digits `e±` digits (underscores allowed).
    /// No hex here: the series lexer refuses it because `0x10` reads as "0, ten times".
    private static func numberEnd(_ s: Substring) -> Substring.Index {
        var i = s.startIndex
        func accept(_ set: String) -> Bool {
            if i < s.endIndex, set.contains(s[i]) { i = s.index(after: i); return true }
            return false
        }
        func acceptRun(_ set: String) { while accept(set) {} }
        acceptRun("0123456789_")
        if accept(".") { acceptRun("0123456789_") }
        if accept("eE") { _ = accept("+-"); acceptRun("0123456789") }
        return i
    }
}
