import Foundation
import StrataModel
import StrataPromQLParser

/// What an eval exercises. Only `core` failures count against the conformance threshold;
/// the others are run to see how far the engine gets.
public enum EvalClass: String, Sendable, CaseIterable, Hashable {
    case core
    case nativeHistogram = "native histogram"
    case experimental
}

/// Classes from the corpus' own `count_cases.py --list` (`file:line<TAB>flags<TAB>query`), which
/// knows more flags (duration expressions, fill modifiers, …) than the fallback below.
public enum PromQLCaseList {
    /// `[file: [line: class]]`, or nil when python3 or the script is missing or fails.
    public static func load(corpusDirectory: String) -> [String: [Int: EvalClass]]? {
        let script = corpusDirectory + "/count_cases.py"
        guard FileManager.default.fileExists(atPath: script), let python = Tools.which("python3"),
              let result = try? Tools.run(python, [script, "--list", "--dir", corpusDirectory], timeout: 60),
              result.status == 0
        else { return nil }
        return parse(listOutput: result.stdout)
    }

    /// `-` is core; flags containing `nh` are native histograms; any other flag is experimental.
    public static func parse(listOutput: String) -> [String: [Int: EvalClass]] {
        var out: [String: [Int: EvalClass]] = [:]
        for line in listOutput.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2, let colon = fields[0].lastIndex(of: ":"),
                  let lineNumber = Int(fields[0][fields[0].index(after: colon)...]) else { continue }
            let flags = fields[1].split(separator: ",")
            let cls: EvalClass = fields[1] == "-" ? .core : flags.contains("nh") ? .nativeHistogram : .experimental
            out[String(fields[0][..<colon]), default: [:]][lineNumber] = cls
        }
        return out
    }
}

/// Loaded series that make an eval selecting them non-core, for the fallback classifier.
struct SpecialSeries {
    var histograms: [Labels] = []
    /// Series with start timestamps or `__type__`/`__unit__` labels (features behind flags).
    var experimental: [Labels] = []

    static func += (a: inout SpecialSeries, b: SpecialSeries) {
        a.histograms += b.histograms
        a.experimental += b.experimental
    }
}

/// The fallback when the case list is not available: native histogram if the expectation holds
/// `{{...}}`, a selector matches a series loaded with histograms, or a histogram-only function
/// is called; experimental if an experimental function, aggregator or syntax is used or a
/// selector matches a series of a flag-gated feature; else core.
enum EvalClassifier {
    /// Experimental even when the parser table lacks them: the stand-alone query-context
    /// functions and the binary-operator fill modifiers.
    static let experimentalNames: Set<String> = ["start", "end", "step", "range", "min_of", "max_of", "fill", "fill_left", "fill_right"]

    static func classify(_ ev: EvalCommand, expr: Expr?, loaded: SpecialSeries) -> EvalClass {
        if ev.expectsHistogram { return .nativeHistogram }
        guard let expr else { return classify(queryText: ev.query) }
        var histogram = false, experimental = usesExperimentalSyntax(ev.query)
        func selects(_ vs: VectorSelector, _ series: [Labels]) -> Bool {
            series.contains { l in vs.matchers.allSatisfy { $0.matches(l.get($0.name) ?? "") } }
        }
        forEachNode(expr) { node in
            switch node {
            case .vectorSelector(let vs):
                if selects(vs, loaded.histograms) { histogram = true }
                if selects(vs, loaded.experimental) { experimental = true }
            case .call(let c):
                if c.function.nativeHistogramOnly { histogram = true }
                if c.function.experimental || experimentalNames.contains(c.function.name) { experimental = true }
            case .aggregate(let a):
                if a.op.isExperimental { experimental = true }
            default:
                break
            }
        }
        return histogram ? .nativeHistogram : experimental ? .experimental : .core
    }

    /// For queries our parser rejects: look at the text only.
    static func classify(queryText: String) -> EvalClass {
        let names = callNames(in: withoutStringContents(queryText))
        if names.contains(where: { PromQLFunction.all[$0]?.nativeHistogramOnly == true }) { return .nativeHistogram }
        return usesExperimentalSyntax(queryText) ? .experimental : .core
    }

    /// Experimental functions and aggregators, fill modifiers, `anchored`/`smoothed`, and
    /// duration arithmetic in `[...]` or after `offset` (plain numbers like `[1800]` don't count).
    static func usesExperimentalSyntax(_ query: String) -> Bool {
        let text = withoutStringContents(query)
        let experimentalCall = callNames(in: text).contains { name in
            PromQLFunction.all[name]?.experimental == true || experimentalNames.contains(name)
                || AggregateOp(rawValue: name)?.isExperimental == true
        }
        if experimentalCall { return true }
        if text.contains(/[\w\])]\s+(anchored|smoothed)\b/) || text.contains(/offset\s*-?\s*\(/) { return true }
        for match in text.matches(of: /\[([^\]]*)\]/) {
            for part in match.1.split(separator: ":") {
                let p = part.trimmingWhitespace()
                if p.contains(where: { "+*/%^(".contains($0) }) || p.dropFirst().contains("-") { return true }
            }
        }
        return false
    }

    /// The query with the insides of its string literals removed, so regexes in matchers
    /// (`"[a-z]+"`) are not read as syntax.
    static func withoutStringContents(_ query: String) -> String {
        var out = ""
        var quote: Character?
        var escaped = false
        for c in query {
            if let q = quote {
                if escaped {
                    escaped = false
                } else if c == "\\", q != "`" {
                    escaped = true
                } else if c == q {
                    quote = nil
                    out.append(c)
                }
                continue
            }
            if c == "\"" || c == "'" || c == "`" { quote = c }
            out.append(c)
        }
        return out
    }

    /// Identifiers directly followed by `(`, except those right after `@`.
    static func callNames(in query: String) -> [String] {
        let chars = Array(query)
        var names: [String] = []
        var i = 0
        while i < chars.count {
            guard chars[i].isLetter || chars[i] == "_" else { i += 1; continue }
            let start = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
            var j = i
            while j < chars.count, chars[j].isWhitespace { j += 1 }
            var k = start - 1
            while k >= 0, chars[k].isWhitespace { k -= 1 }
            if j < chars.count, chars[j] == "(", !(k >= 0 && chars[k] == "@") {
                names.append(String(chars[start ..< i]).lowercased())
            }
        }
        return names
    }

    static func forEachNode(_ expr: Expr, _ body: (Expr) -> Void) {
        body(expr)
        // Leaves (and any node kind added later) fall to `default`.
        switch expr {
        case .matrixSelector(let m): forEachNode(.vectorSelector(m.vectorSelector), body)
        case .subquery(let s): forEachNode(s.expr, body)
        case .call(let c): c.args.forEach { forEachNode($0, body) }
        case .aggregate(let a):
            if let p = a.param { forEachNode(p, body) }
            forEachNode(a.expr, body)
        case .binary(let b): forEachNode(b.lhs, body); forEachNode(b.rhs, body)
        case .unary(let u): forEachNode(u.expr, body)
        case .paren(let p): forEachNode(p.expr, body)
        default: break
        }
    }
}
