import StrataBlock
import StrataModel
import StrataTSDB

/// A line-by-line parser for the OpenMetrics text format, enough for backfilling: sample lines
/// with labels, value and timestamp; `# HELP`/`# TYPE`/`# UNIT` lines are checked and skipped;
/// the input must end with `# EOF`. Exemplars after ` # ` are ignored.
struct OpenMetricsParser {
    struct Sample {
        var labels: Labels
        var t: Int64
        var v: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    private let lines: [Substring]
    private var index = 0
    private(set) var sawEOF = false
    /// The line of the sample `next()` returned last.
    var lineNumber: Int { index }

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The next sample, nil at `# EOF` (an error if the input ends without it).
    mutating func next() throws -> Sample? {
        while index < lines.count {
            let lineNo = index + 1
            var line = lines[index]
            index += 1
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.isEmpty && index == lines.count { break } // the newline ending the last line
            if sawEOF {
                throw ParseError(line: lineNo, message: "data after # EOF")
            }
            if line.isEmpty { throw ParseError(line: lineNo, message: "empty line") }
            if line.first == "#" {
                if line == "# EOF" { sawEOF = true; continue }
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "#", ["HELP", "TYPE", "UNIT"].contains(parts[1]) else {
                    throw ParseError(line: lineNo, message: "invalid comment (want # HELP, # TYPE, # UNIT or # EOF): \(line)")
                }
                if parts[1] == "UNIT", parts.count == 4, !parts[3].isEmpty, !parts[2].hasSuffix(parts[3]) {
                    throw ParseError(line: lineNo, message: "unit \(parts[3]) is not a suffix of metric \(parts[2])")
                }
                continue
            }
            return try parseSample(line, lineNo)
        }
        if !sawEOF { throw ParseError(line: lines.count, message: "unexpected end of input: missing # EOF") }
        return nil
    }

    private func parseSample(_ line: Substring, _ lineNo: Int) throws -> Sample {
        func fail(_ m: String) -> ParseError { ParseError(line: lineNo, message: m) }
        let u = Array(line.utf8)
        var i = 0
        func isNameChar(_ c: UInt8, first: Bool) -> Bool {
            (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c == 58 || (!first && c >= 48 && c <= 57)
        }
        while i < u.count && isNameChar(u[i], first: i == 0) { i += 1 }
        guard i > 0 else { throw fail("expected a metric name: \(line)") }
        var b = LabelsBuilder()
        b.set("__name__", String(decoding: u[0 ..< i], as: UTF8.self))
        var seen = Set<String>(["__name__"])
        if i < u.count && u[i] == UInt8(ascii: "{") {
            i += 1
            while i < u.count && u[i] != UInt8(ascii: "}") {
                let start = i
                while i < u.count && isNameChar(u[i], first: i == start) && u[i] != 58 { i += 1 }
                guard i > start else { throw fail("expected a label name") }
                let name = String(decoding: u[start ..< i], as: UTF8.self)
                guard i + 1 < u.count, u[i] == UInt8(ascii: "="), u[i + 1] == UInt8(ascii: "\"") else {
                    throw fail("expected =\" after label name \(name)")
                }
                i += 2
                var value: [UInt8] = []
                while true {
                    guard i < u.count else { throw fail("unterminated label value") }
                    let c = u[i]
                    if c == UInt8(ascii: "\"") { i += 1; break }
                    if c == UInt8(ascii: "\\") {
                        guard i + 1 < u.count else { throw fail("unterminated escape") }
                        switch u[i + 1] {
                        case UInt8(ascii: "n"): value.append(10)
                        case UInt8(ascii: "\\"): value.append(92)
                        case UInt8(ascii: "\""): value.append(34)
                        default: throw fail("invalid escape \\\(Character(UnicodeScalar(u[i + 1])))")
                        }
                        i += 2
                        continue
                    }
                    value.append(c); i += 1
                }
                guard let v = String(validating: value, as: UTF8.self) else { throw fail("label value is not valid UTF-8") }
                guard seen.insert(name).inserted else { throw fail("duplicate label name \(name)") }
                if !v.isEmpty { b.set(name, v) }
                if i < u.count && u[i] == UInt8(ascii: ",") { i += 1 }
                else if i < u.count && u[i] != UInt8(ascii: "}") { throw fail("expected , or } after the value of label \(name)") }
            }
            guard i < u.count else { throw fail("unterminated label set") }
            i += 1
        }
        guard i < u.count, u[i] == UInt8(ascii: " ") else { throw fail("expected a space before the value") }
        let rest = String(decoding: u[(i + 1)...], as: UTF8.self)
        // value [timestamp] [# exemplar]
        let body = rest.split(separator: " # ", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let fields = body.split(separator: " ", omittingEmptySubsequences: false)
        guard let v = GoFloat.parse(String(fields[0])) else { throw fail("invalid value \"\(fields[0])\"") }
        guard fields.count == 2 else {
            throw fail(fields.count == 1 ? "expected a timestamp (backfilling needs one on every sample)" : "unexpected text after the timestamp")
        }
        guard let ts = GoFloat.parse(String(fields[1])), ts.isFinite else { throw fail("invalid timestamp \"\(fields[1])\"") }
        let ms = ts * 1000
        guard ms > -9.2e18 && ms < 9.2e18 else { throw fail("timestamp out of range") }
        return Sample(labels: b.labels(), t: Int64(ms), v: v)
    }
}
