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
/// check) answered whole and through the results cache, split every 7 minutes so most
/// queries come in several pieces, twice (evaluated, then from the cache): the answers must be
/// the same bytes.
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
            guard !Engine.dependsOnQueryRange(expr) else { return whole }
            var o = ResultsCache.Options()
            o.splitInterval = 7 * 60_000
            o.maxFreshness = 0
            let cache = ResultsCache(options: o)
            for pass in ["evaluated", "cached"] {
                let split = SplitRangeQuery(cache: cache, key: "q", start: start, end: end, step: step, now: 1 << 55) {
                    (first, last) throws(QueryError) in
                    (try engine.rangeQuery(storage, expr, start: first, end: last, step: step), engine.dataRange(expr, start: first, end: last))
                }
                let answer: QueryResult?
                do throws(QueryError) { answer = try split.run() } catch {
                    tally.mismatches.withLock { $0.append("\(expr) [\(start), \(end)] / \(step) \(pass): failed in pieces: \(error.message)") }
                    return whole
                }
                guard let answer else {
                    tally.wholeOnly.add(1, ordering: .relaxed)
                    return whole
                }
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
