import Foundation
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// A regex scan over many label values must neither hold back new series (which need the
/// postings' write lock) nor outlive its query's timeout; and no pattern may make one value slow.
@Suite struct SlowRegexTests {
    /// `(a|aa)+b…` makes a backtracking matcher (Swift's `Regex`) try every way to split a run of
    /// a's: with 30 of them, about a second per value. Matched in linear time, 100,000 values
    /// with 40 a's each take milliseconds.
    @Test func nestedQuantifiersTakeLinearTime() throws {
        let head = Head()
        for i in 0 ..< 100_000 {
            _ = append(head, Labels([("__name__", "m"), ("v", String(repeating: "a", count: 40) + (i % 2 == 0 ? "b" : "c") + String(i))]), [(1000, 1)])
        }
        var options = EngineOptions()
        options.timeout = .seconds(30)
        let started = ContinuousClock.now
        let result = try Engine(options: options).instantQuery(head, try PromQLParser.parse(#"count(m{v=~"(a|aa)+b[0-9]+"})"#), at: 1000)
        #expect("\(result)".contains("50000"), "\(result)")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aLongRegexScanEndsAtItsTimeoutAndNewSeriesKeepComing() throws {
        let head = Head()
        // Long values make the scan itself long (linear in their bytes): 20,000 of 2,000 bytes.
        for i in 0 ..< 20_000 {
            _ = append(head, Labels([("__name__", "m"), ("v", String(repeating: "a", count: 2000) + String(i))]), [(1000, 1)])
        }
        var options = EngineOptions()
        options.timeout = .milliseconds(20)
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
        #expect(ended < .seconds(5), "the query ran \(ended) with a 20ms timeout")
        #expect(slowest < .milliseconds(250), "a new series waited \(slowest) while the regex ran")
    }
}
