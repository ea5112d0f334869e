import Foundation
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// A regex that backtracks over many label values must neither hold back new series (which need
/// the postings' write lock) nor outlive its query's timeout.
@Suite struct SlowRegexTests {
    @Test func aSlowRegexOverManyValuesEndsAtItsTimeoutAndNewSeriesKeepComing() throws {
        let head = Head()
        let values = 100_000
        for i in 0 ..< values {
            // `(a|aa)+b` tries every way to split the run of a's before failing on the digits.
            _ = append(head, Labels([("__name__", "m"), ("v", String(repeating: "a", count: 16) + String(i))]), [(1000, 1)])
        }
        var options = EngineOptions()
        options.timeout = .milliseconds(500)
        let expr = try PromQLParser.parse(#"count(m{v=~"(a|aa)+b"})"#)
        final class Outcome: @unchecked Sendable {
            let lock = NSLock()
            var error: (any Error)?
            var took: Duration?
            var done: Bool { lock.withLock { took != nil } }
        }
        let outcome = Outcome()
        let started = ContinuousClock.now
        let opts = options
        let thread = Thread {
            var failure: (any Error)?
            do { _ = try Engine(options: opts).instantQuery(head, expr, at: 1000) } catch { failure = error }
            outcome.lock.withLock { outcome.error = failure; outcome.took = ContinuousClock.now - started }
        }
        thread.stackSize = 64 << 20
        thread.start()
        // New series while the regex runs: each one takes the postings' write lock.
        var slowest = Duration.zero, written = 0
        while !outcome.done || written < 20 {
            let t0 = ContinuousClock.now
            #expect(append(head, Labels([("__name__", "new"), ("i", String(written))]), [(1000, 1)]).accepted == 1)
            slowest = max(slowest, ContinuousClock.now - t0)
            written += 1
            if ContinuousClock.now - started > .seconds(60) { break }
        }
        let error = outcome.lock.withLock { outcome.error }
        #expect((error as? QueryError)?.kind == .timeout, "\(String(describing: error))")
        #expect("\(String(describing: error))".contains("query timed out in expression evaluation"))
        let ended = try #require(outcome.lock.withLock { outcome.took })
        #expect(ended < .seconds(5), "the query ran \(ended) with a 500ms timeout")
        #expect(slowest < .milliseconds(250), "a new series waited \(slowest) while the regex ran")
    }
}
