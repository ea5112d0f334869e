import Foundation
import Testing
@testable import StrataPromQLParser

/// Every query on an `eval` line of the Prometheus conformance scripts must parse (with
/// experimental functions on) and print back to text that parses to the same, except those
/// using experimental syntax we do not support yet.
@Suite struct ConformanceCorpusTests {
    static let corpus = "/work/shared/conformance/promql"

    @Test func everyEvalQueryParses() throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: Self.corpus) else {
            // A developer's machine may lack it; CI (CI=true) must not pass without it.
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("PromQL conformance corpus not found at \(Self.corpus)") }
            else { print("PromQL conformance corpus not found at \(Self.corpus); skipping") }
            return
        }
        var parsed = 0
        var skipped: [String: Int] = [:]
        var failures: [String] = []
        for name in names.sorted() where name.hasSuffix(".test") {
            let text = try String(contentsOfFile: "\(Self.corpus)/\(name)", encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let query = evalQuery(line.trimmingCharacters(in: .whitespaces)) else { continue }
                if let reason = unsupportedSyntax(query) {
                    skipped[reason, default: 0] += 1
                    continue
                }
                let options = ParserOptions(experimentalFunctions: true)
                do {
                    let printed = try PromQLParser.parse(query, options: options).description
                    parsed += 1
                    // The printed form must parse back to itself.
                    let reprinted = try PromQLParser.parse(printed, options: options).description
                    if reprinted != printed { failures.append("\(name): \(query)\n    prints \(printed), then \(reprinted)") }
                } catch {
                    failures.append("\(name): \(query)\n    \(error)")
                }
            }
        }
        let skips = skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("conformance corpus: \(parsed) parsed, \(failures.count) failed, skipped: \(skips)")
        for failure in failures.prefix(10) { print("  " + failure) }
        #expect(failures.isEmpty, "\(failures.count) corpus queries failed to parse:\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    /// The query of `eval[_fail] instant at <t> <q>` or `eval[_fail] range from <a> to <b> step <s> <q>`.
    private func evalQuery(_ line: String) -> String? {
        guard line.hasPrefix("eval") else { return nil }
        let words = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true)
        guard words.count >= 3 else { return nil }
        let prefixWords: Int
        switch words[1] {
        case "instant": prefixWords = words[2] == "at" ? 4 : 2
        case "range": prefixWords = 8
        default: return nil
        }
        guard words.count > prefixWords else { return nil }
        // Everything after the prefix words, spacing kept.
        return String(line[words[prefixWords].startIndex...])
    }

    /// Why a query is skipped: experimental syntax we do not parse yet (duration arithmetic,
    /// `anchored`/`smoothed`, fill modifiers) or the native-histogram trim operators `</` and `>/`.
    private func unsupportedSyntax(_ q: String) -> String? {
        if q.contains(/\b(anchored|smoothed)\b/) { return "anchored/smoothed" }
        if q.contains(/\bfill(_left|_right)?\s*\(/) { return "fill modifiers" }
        if q.contains("</") || q.contains(">/") { return "trim operators" }
        if q.contains(/(?i)\[[^\]]*([+*\/%^()]|step|range|min_of|max_of|\S\s*-)[^\]]*\]/) { return "duration arithmetic" }
        if q.contains(/(?i)offset\s*[-+]?\s*(\(|step|range|min_of|max_of)/) { return "duration arithmetic" }
        return nil
    }
}
