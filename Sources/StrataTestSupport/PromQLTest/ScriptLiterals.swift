import StrataModel
import StrataPromQLParser

/// The literal syntaxes of the test scripts, read the way the Go runner reads them: durations
/// (`model.ParseDuration`), quoted strings (`strconv.Unquote`) and numbers (`strconv.ParseInt`
/// base 0, then `ParseFloat`). Durations and strings use the parser's Go-compatible helpers.
enum ScriptLiteral {
    typealias SyntaxError = SeriesDescription.SyntaxError

    /// `1h30m`, `10s53ms`, `0`: units from largest to smallest, each at most once; milliseconds.
    static func duration(_ text: some StringProtocol) throws -> Int64 {
        try parsePrometheusDuration(String(text))
    }

    static func number(_ text: some StringProtocol) -> Double? { SeriesDescription.number(text) }

    /// Removes the quotes and escapes of a `"..."`, `'...'` or `` `...` `` literal.
    static func unquote(_ literal: some StringProtocol) throws -> String { try SeriesDescription.unquote(literal) }
}
