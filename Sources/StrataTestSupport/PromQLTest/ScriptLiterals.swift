import StrataModel
import StrataPromQLParser

/// The literal syntaxes of the test scripts, read the way the Go runner reads them: durations
/// (`model.ParseDuration`), quoted strings (`strconv.Unquote`) and numbers (`strconv.ParseInt`
/// base 0, then `ParseFloat`). Durations and strings use the parser's Go-compatible helpers.
enum ScriptLiteral {
    struct SyntaxError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// `1h30m`, `10s53ms`, `0`: units from largest to smallest, each at most once; milliseconds.
    static func duration(_ text: some StringProtocol) throws -> Int64 {
        try parsePrometheusDuration(String(text))
    }

    // MARK: Numbers

    /// Go's `parseNumber` of the runner and of PromQL: an integer in base 0 (`0x1f`, `0o17`,
    /// `017`, `0b101`), else a float (`1e3`, `.5`, `Inf`, `-inf`, `NaN`, `0x1p-2`).
    static func number(_ text: some StringProtocol) -> Double? {
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
    static func unquote(_ literal: some StringProtocol) throws -> String {
        do { return try unquoteGoString(String(literal)) } catch { throw SyntaxError("invalid quoted string \(literal)") }
    }
}
