import StrataPromQLParser
/// Splits a test script into commands, following the corpus README and Prometheus'
/// `promqltest` runner: lines are trimmed, `#` lines count as empty, `load`/`eval` own the
/// following non-empty lines. A broken block becomes `.invalid` so the rest still runs.
public enum PromQLScriptParser {
    typealias SyntaxError = ScriptLiteral.SyntaxError

    public static func parse(_ script: String) -> [ScriptCommand] {
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map { raw -> Substring in
            let l = raw.trimmingWhitespace()
            return l.hasPrefix("#") ? "" : l
        }
        var commands: [ScriptCommand] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if line.isEmpty { i += 1; continue }
            // The block is every following non-empty line (a scalar or fail-message line may end it earlier).
            var end = i + 1
            while end < lines.count, !lines[end].isEmpty { end += 1 }
            let word = line.prefix { !$0.isWhitespace }.lowercased()
            if word == "clear" {
                commands.append(.clear(line: i + 1)); i += 1; continue
            }
            do {
                if word.hasPrefix("load") {
                    commands.append(.load(try parseLoad(header: line, body: lines[i + 1 ..< end], line: i + 1)))
                } else if word.hasPrefix("eval") {
                    let (cmd, used) = try parseEval(header: line, body: lines[i + 1 ..< end], line: i + 1)
                    commands.append(.eval(cmd))
                    end = i + 1 + used
                } else {
                    commands.append(.invalid(line: i + 1, message: "invalid command \"\(line)\"", query: nil))
                    end = i + 1
                }
            } catch {
                let query = word.hasPrefix("eval") ? evalQueryText(line) : nil
                commands.append(.invalid(line: i + 1, message: "\(error)", query: query))
            }
            i = end
        }
        return commands
    }

    /// One series line, `name{l="v"} <values...>`, with its values expanded.
    public static func series(_ line: String) throws -> SeriesLine {
        try SeriesDescription.parse(line)
    }

    // MARK: load

    static func parseLoad(header: Substring, body: ArraySlice<Substring>, line: Int) throws -> LoadCommand {
        let words = header.split(whereSeparator: \.isWhitespace)
        guard words.count == 2, words[0] == "load" || words[0] == "load_with_nhcb" else {
            throw SyntaxError("invalid load command (load[_with_nhcb] <step>)")
        }
        var cmd = LoadCommand(line: line, step: try ScriptLiteral.duration(words[1]),
                              withNHCB: words[0] == "load_with_nhcb", series: [])
        var defaultStartTimestamps = false
        for l in body {
            // `name{...}@st <offsets>` gives start timestamps, which Strata does not store;
            // a bare `@st <offsets>` gives them to every later line of the block.
            if let space = l.firstIndex(where: \.isWhitespace), l[..<space].hasSuffix("@st") {
                let series = l[..<l.index(space, offsetBy: -3)]
                if series.isEmpty { defaultStartTimestamps = true } else {
                    cmd.startTimestampSeries.append(try SeriesDescription.parseLabels(series).0)
                }
                continue
            }
            let series = try SeriesDescription.parse(l)
            if defaultStartTimestamps { cmd.startTimestampSeries.append(series.labels) }
            // Within one load a repeated series replaces its earlier line.
            cmd.series.removeAll { $0.labels == series.labels }
            cmd.series.append(series)
        }
        return cmd
    }

    // MARK: eval

    /// Parses the header and the lines it owns; returns how many body lines it used.
    static func parseEval(header: Substring, body: ArraySlice<Substring>, line: Int) throws -> (EvalCommand, Int) {
        var cmd = try parseEvalHeader(header, line: line)
        var used = 0
        for l in body {
            used += 1
            if cmd.expectedFailure != nil, l.hasPrefix("expected_fail_message") {
                cmd.expectedFailure = .exact(String(l.dropFirst("expected_fail_message".count).trimmingWhitespace()))
                break
            }
            if cmd.expectedFailure != nil, l.hasPrefix("expected_fail_regexp") {
                let pattern = String(l.dropFirst("expected_fail_regexp".count).trimmingWhitespace())
                try checkRegex(pattern)
                cmd.expectedFailure = .pattern(pattern)
                break
            }
            if l.hasPrefix("expect range vector") {
                guard cmd.isInstant else { throw SyntaxError("expect range vector on a range eval") }
                let w = l.split(whereSeparator: \.isWhitespace)
                guard w.count == 9, w[3] == "from", w[5] == "to", w[7] == "step" else {
                    throw SyntaxError("invalid range vector definition \"\(l)\"")
                }
                let (start, end, step) = try (ScriptLiteral.duration(w[4]), ScriptLiteral.duration(w[6]), ScriptLiteral.duration(w[8]))
                guard end >= start else { throw SyntaxError("range vector end is before its start") }
                cmd.expectedRange = (start, end, step)
                continue
            }
            if l.hasPrefix("expect string") {
                let literal = l.dropFirst("expect string".count).trimmingWhitespace()
                guard !literal.isEmpty else { throw SyntaxError("expect string needs a quoted string") }
                cmd.expectedString = try ScriptLiteral.unquote(literal)
                continue
            }
            if l.split(separator: " ", omittingEmptySubsequences: false).first == "expect" {
                try parseExpect(l, into: &cmd)
                continue
            }
            if let scalar = ScriptLiteral.number(l) {
                cmd.expectedScalar = scalar
                break // a scalar line ends the block
            }
            let series = try SeriesDescription.parse(l)
            if series.values.count > 1, cmd.isInstant, cmd.expectedRange == nil {
                throw SyntaxError("expecting multiple values in instant evaluation not allowed")
            }
            cmd.expectedSeries.removeAll { $0.labels == series.labels }
            cmd.expectedSeries.append(series)
        }
        return (cmd, used)
    }

    /// `eval[_fail|_warn|_info|_ordered] instant at <t> <query>` or
    /// `eval[_fail|_warn|_info] range from <s> to <e> step <st> <query>`.
    static func parseEvalHeader(_ header: Substring, line: Int) throws -> EvalCommand {
        guard case let (words, query)? = leadingWords(header, 2), !query.isEmpty else { throw SyntaxError("invalid eval command") }
        let modifier = words[0].dropFirst("eval".count)
        let cmd: EvalCommand
        switch words[1] {
        case "instant":
            guard case let (w, q)? = leadingWords(query, 2), w[0] == "at", !q.isEmpty else { throw SyntaxError("eval instant needs \"at <time>\"") }
            cmd = EvalCommand(line: line, query: String(q), mode: .instant(at: try ScriptLiteral.duration(w[1])))
        case "range":
            guard case let (w, q)? = leadingWords(query, 6), w[0] == "from", w[2] == "to", w[4] == "step", !q.isEmpty else {
                throw SyntaxError("eval range needs \"from <start> to <end> step <step>\"")
            }
            let (start, end, step) = try (ScriptLiteral.duration(w[1]), ScriptLiteral.duration(w[3]), ScriptLiteral.duration(w[5]))
            guard end >= start else { throw SyntaxError("end timestamp (\(w[3])) is before start timestamp (\(w[1]))") }
            cmd = EvalCommand(line: line, query: String(q), mode: .range(start: start, end: end, step: step))
        default:
            throw SyntaxError("invalid eval command (eval instant|range ...)")
        }
        var result = cmd
        switch modifier {
        case "": break
        case "_fail": result.expectedFailure = .any
        case "_warn": result.requireWarning = true
        case "_info": result.requireInfo = true
        case "_ordered" where cmd.isInstant: result.ordered = true
        default: throw SyntaxError("invalid eval command \"\(words[0])\"")
        }
        return result
    }

    /// `expect <fail|warn|no_warn|info|no_info|ordered> [msg: text | regex: pattern]`.
    static func parseExpect(_ l: Substring, into cmd: inout EvalCommand) throws {
        guard case let (w, rest)? = leadingWords(l, 2) else { throw SyntaxError("invalid expect statement \"\(l)\"") }
        var text = TextExpectation.any
        if !rest.isEmpty {
            if rest.hasPrefix("msg:") {
                text = .exact(String(rest.dropFirst(4).trimmingWhitespace()))
            } else if rest.hasPrefix("regex:") {
                let pattern = String(rest.dropFirst(6).trimmingWhitespace())
                try checkRegex(pattern)
                text = .pattern(pattern)
            } else {
                throw SyntaxError("invalid expect statement \"\(l)\"")
            }
        }
        switch w[1] {
        case "fail":
            guard cmd.expectedFailure == nil else { throw SyntaxError("multiple expect fail lines") }
            cmd.expectedFailure = text
        case "warn": cmd.expectedWarnings.append(text)
        case "info": cmd.expectedInfos.append(text)
        case "no_warn": cmd.forbidWarnings = true
        case "no_info": cmd.forbidInfos = true
        case "ordered": cmd.ordered = true
        default: throw SyntaxError("invalid expected error/annotation type \(w[1])")
        }
        if cmd.forbidWarnings && !cmd.expectedWarnings.isEmpty { throw SyntaxError("warn and no_warn cannot be used together") }
        if cmd.forbidInfos && !cmd.expectedInfos.isEmpty { throw SyntaxError("info and no_info cannot be used together") }
    }

    static func checkRegex(_ pattern: String) throws {
        do { _ = try Regex(pattern) } catch { throw SyntaxError("invalid regex \(pattern): \(error)") }
    }

    /// The first `n` whitespace-separated words and the (possibly empty) text after them.
    static func leadingWords(_ s: Substring, _ n: Int) -> ([Substring], Substring)? {
        var words: [Substring] = []
        var rest = s.drop(while: \.isWhitespace)
        while words.count < n {
            let word = rest.prefix { !$0.isWhitespace }
            guard !word.isEmpty else { return nil }
            words.append(word)
            rest = rest.dropFirst(word.count).drop(while: \.isWhitespace)
        }
        return (words, rest)
    }

    /// Best-effort query text of an eval header that did not parse, for the report.
    static func evalQueryText(_ header: Substring) -> String? {
        let w = header.split(whereSeparator: \.isWhitespace)
        let skip = w.count > 1 && w[1] == "range" ? 8 : 4
        return leadingWords(header, skip).map { String($0.1) }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return s
    }
}
