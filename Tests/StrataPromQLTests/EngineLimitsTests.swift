import Foundation
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataRuntime
import StrataTestSupport
import Testing

/// Limits and hostile inputs: each must end in a clear error, never a crash or a runaway query.
@Suite struct EngineLimitsTests {
    static func storage(series: Int = 5, samples: Int = 50) -> MemoryStorage {
        let s = MemoryStorage()
        for i in 0 ..< series {
            s.add(Labels([("__name__", "x_total"), ("i", String(i))]),
                  (0 ..< samples).map { Sample(t: Int64($0) * 15_000, v: Double($0)) })
        }
        return s
    }

    func instant(_ q: String, at t: Int64 = 600_000, options: EngineOptions = EngineOptions(),
                 storage: MemoryStorage = storage()) throws(QueryError) -> QueryResult {
        let expr = try! PromQLParser.parse(q)
        return try Engine(options: options).instantQuery(storage, expr, at: t)
    }

    func errorKind(_ body: () throws -> QueryResult) -> QueryError.Kind? {
        do { _ = try body(); return nil } catch let e as QueryError { return e.kind } catch { return nil }
    }

    @Test func extremeTimesAreRefusedNotOverflowed() {
        #expect(errorKind { try instant("x_total @ -9.3e15") } == .badData)
        #expect(errorKind { try instant("max_over_time(vector(1)[5m:1m] @ 9.3e15)") } == .badData)
        #expect(errorKind { try instant("x_total", at: Int64.max - 1) } == .badData)
        let expr = try! PromQLParser.parse("1")
        #expect(throws: QueryError.self) {
            try Engine().rangeQuery(Self.storage(), expr, start: -9_000_000_000_000_000, end: 9_000_000_000_000_000, step: 1)
        }
    }

    @Test func hugeSubqueriesFailFastWithTooManySamples() {
        var o = EngineOptions()
        o.maxSamples = 1_000_000
        #expect(errorKind { try instant("count_over_time(vector(1)[1y:1ms])", options: o) } == .tooManySamples)
    }

    @Test func rangeFunctionsHoldOneSeriesAtATime() throws {
        // 5 series × 50 samples = 250 in total, 50 per series: fits a limit of 100, as in Prometheus.
        var o = EngineOptions()
        o.maxSamples = 100
        let r = try instant("max_over_time(x_total[1h])", options: o)
        guard case .vector(let v) = r.value else { Issue.record("not a vector"); return }
        #expect(v.count == 5 && v.allSatisfy { $0.v == 40 })
        o.maxSamples = 40
        #expect(errorKind { try instant("max_over_time(x_total[1h])", options: o) } == .tooManySamples)
    }

    /// Range functions over a large selection on worker threads (`EngineOptions.parallelism`):
    /// the same answer, order and annotations as one thread, and the same limits: too many
    /// samples and a cancelled query end in their errors.
    @Test func rangeFunctionsOnWorkerThreadsAnswerAndStopAsOneThread() throws {
        // 3,000 series, past the default threshold of 2,048; `x_total` looks like a counter,
        // `gauge` does not, so rate() of it carries Prometheus' info.
        let storage = MemoryStorage()
        for i in 0 ..< 3000 {
            storage.add(Labels([("__name__", i % 2 == 0 ? "x_total" : "gauge"), ("i", String(i))]),
                        (0 ..< 60).map { Sample(t: Int64($0) * 15_000, v: Double($0 * (i % 7 + 1))) })
        }
        var parallel = EngineOptions()
        parallel.parallelism = 2
        func range(_ q: String, _ o: EngineOptions) throws(QueryError) -> QueryResult {
            try Engine(options: o).rangeQuery(storage, try! PromQLParser.parse(q), start: 300_000, end: 885_000, step: 15_000)
        }
        func rendered(_ r: QueryResult) -> [String] {
            guard case .matrix(let m) = r.value else { return ["not a matrix"] }
            return m.map { "\($0.labels) \($0.points.map { "\($0.t):\($0.v)" })" } + r.annotations.map { $0.rendered(query: "") }
        }
        for q in ["rate({i=~\".+\"}[5m])", "max_over_time(x_total[2m] offset 1m)", "quantile_over_time(0.9, gauge[5m])",
                  "sum by (__name__) (increase({__name__=~\"x_total|gauge\"}[1m]))"] {
            let one = try range(q, EngineOptions()), two = try range(q, parallel)
            #expect(rendered(one) == rendered(two), "\(q)")
        }
        #expect(try range("rate(gauge[5m])", parallel).infos.count == 1)

        // 1,500 output series × 40 steps = 60,000 points: over a limit of 50,000 either way.
        var limited = parallel
        limited.maxSamples = 50_000
        #expect(errorKind { try range("rate(gauge[5m])", limited) } == .tooManySamples)
        limited.parallelism = 1
        #expect(errorKind { try range("rate(gauge[5m])", limited) } == .tooManySamples)

        var cancelled = parallel
        cancelled.cancellation = QueryCancellation()
        cancelled.cancellation!.cancel()
        #expect(errorKind { try range("rate(x_total[5m])", cancelled) } == .canceled)
    }

    /// A cancelled query stops at the next check with `canceled`, even from another thread
    /// while it runs, and long before its timeout.
    @Test func cancellationStopsAQuery() async throws {
        var o = EngineOptions()
        o.cancellation = QueryCancellation()
        o.cancellation!.cancel()
        let heavy = "max_over_time((max_over_time(vector(1)[10m:1ms]))[10m:1ms])"
        #expect(errorKind { try instant(heavy, options: o) } == .canceled)
        o.cancellation = QueryCancellation()
        o.timeout = .seconds(600)
        // On a thread of its own, as the server runs queries: a task would hold one of the few
        // threads Swift's tasks share, and the sleep below could wait for it.
        let (outcome, finish) = AsyncStream.makeStream(of: QueryError.Kind?.self)
        Thread { [o] in
            do { _ = try Engine(options: o).instantQuery(Self.storage(), try! PromQLParser.parse(heavy), at: 600_000); finish.yield(nil) }
            catch let e as QueryError { finish.yield(e.kind) } catch { finish.yield(nil) }
            finish.finish()
        }.start()
        try await Task.sleep(for: .milliseconds(200))
        let cancelledAt = ContinuousClock.now
        o.cancellation!.cancel()
        var it = outcome.makeAsyncIterator()
        #expect(await it.next() == .some(.canceled))
        #expect(ContinuousClock.now - cancelledAt < .seconds(30))
    }

    @Test func timeoutStopsAQuery() {
        var o = EngineOptions()
        o.timeout = .nanoseconds(1)
        #expect(errorKind { try instant("count_over_time(vector(1)[1d:1s])", options: o) } == .timeout)
    }

    @Test func nameRemovalIsImmediateUnlessDelayed() throws {
        let q = #"label_replace(rate(x_total[5m]), "n", "$1", "__name__", "(.+)")"#
        guard case .vector(let plain) = try instant(q).value else { Issue.record("not a vector"); return }
        #expect(plain.allSatisfy { $0.labels.get("n") == nil && $0.labels.get("__name__") == nil })
        var o = EngineOptions()
        o.delayedNameRemoval = true
        guard case .vector(let delayed) = try instant(q, options: o).value else { Issue.record("not a vector"); return }
        #expect(delayed.allSatisfy { $0.labels.get("n") == "x_total" && $0.labels.get("__name__") == nil })
    }

    @Test func aOneStepRangeQueryIsStillAMatrix() throws {
        let expr = try PromQLParser.parse("x_total")
        let r = try Engine().rangeQuery(Self.storage(), expr, start: 600_000, end: 600_000, step: 1)
        guard case .matrix(let m) = r.value else { Issue.record("range query must return a matrix"); return }
        #expect(m.count == 5)
    }

    @Test func nativeHistogramFunctionsSaySo() {
        do {
            _ = try instant("histogram_count(x_total)")
            Issue.record("should fail")
        } catch {
            #expect(error.kind == .badData)
            #expect(error.message.contains("native histograms are not supported"))
        }
    }
}
