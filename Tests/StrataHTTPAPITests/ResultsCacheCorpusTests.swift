import Foundation
@testable import StrataHTTPAPI
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import StrataTestSupport
import Synchronization
import Testing

/// Every range query of Prometheus' PromQL test scripts (and each instant eval's range-mode
/// check) answered whole and through the results cache, split every 7 minutes so that many
/// come in several pieces: after its first half was asked (so part is cached, part evaluated
/// piece by piece), then all from the cache. The answers must be the same bytes.
@Suite struct ResultsCacheCorpusTests {
    final class Tally: Sendable {
        let compared = Atomic<Int>(0)
        let wholeOnly = Atomic<Int>(0)
        let mismatches = Mutex<[String]>([])
    }

    static func json(_ r: QueryResult) -> [UInt8] {
        var w = JSONWriter()
        w.queryResult(r, query: "", storageWarnings: [])
        return w.bytes
    }

    @Test func theCorpusAnswersTheSameThroughTheCache() async throws {
        let tally = Tally()
        var options = PromQLTestOptions()
        options.rangeQuery = { engine, storage, expr, start, end, step throws(QueryError) in
            let whole = try engine.rangeQuery(storage, expr, start: start, end: end, step: step)
            // As the API: queries of one step, or whose steps depend on their range, are not split.
            guard end > start, !Engine.dependsOnQueryRange(expr) else { return whole }
            var o = ResultsCache.Options()
            o.splitInterval = 7 * 60_000
            o.maxFreshness = 0
            let cache = ResultsCache(options: o)
            // The first half alone fills some entries; the whole range then takes them, extends
            // one and evaluates the rest piece by piece; then it all comes from the cache.
            let half = start + Swift.max(1, (end - start) / step / 2) * step
            for (pass, last) in [("first half", half), ("in pieces", end), ("cached", end)] where last > start {
                let split = SplitRangeQuery(cache: cache, key: "q", start: start, end: last, step: step, now: 1 << 55,
                                            evaluate: { (first, last) throws(QueryError) in try engine.rangeQuery(storage, expr, start: first, end: last, step: step) },
                                            dataRange: { engine.dataRange(expr, start: $0, end: $1) })
                let answer: QueryResult?
                do throws(QueryError) { answer = try split.run() } catch {
                    tally.mismatches.withLock { $0.append("\(expr) [\(start), \(end)] / \(step) \(pass): failed in pieces: \(error.message)") }
                    return whole
                }
                guard let answer else {
                    tally.wholeOnly.add(1, ordering: .relaxed)
                    return whole
                }
                if last != end { continue }
                if Self.json(answer) != Self.json(whole) {
                    tally.mismatches.withLock {
                        $0.append("\(expr) [\(start), \(end)] / \(step) \(pass):\n  whole  \(String(decoding: Self.json(whole), as: UTF8.self).prefix(400))\n  pieces \(String(decoding: Self.json(answer), as: UTF8.self).prefix(400))")
                    }
                }
                tally.compared.add(1, ordering: .relaxed)
            }
            return whole
        }
        guard let reports = await PromQLCorpus.runUpstream(PromQLTestRunner(options: options)) else {
            if Tools.isCI { Issue.record("the PromQL corpus is missing at \(PromQLCorpus.directory)") }
            return
        }
        #expect(!reports.isEmpty)
        let mismatches = tally.mismatches.withLock { $0 }
        #expect(mismatches.isEmpty, "\(mismatches.count) answers differ, e.g.\n\(mismatches.prefix(5).joined(separator: "\n"))")
        let compared = tally.compared.load(ordering: .relaxed), wholeOnly = tally.wholeOnly.load(ordering: .relaxed)
        print("results cache over the corpus: \(compared) answers compared, \(wholeOnly) evaluated whole (annotations)")
        #expect(compared > 1000, "\(compared) compared")
    }
}
