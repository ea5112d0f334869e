import AsyncHTTPClient
import Foundation
import NIOCore
import StrataServer
import StrataTestSupport
import Testing

/// Queries nobody waits for any more stop, and running queries never hold up the rest of the
/// server: a client that disconnects frees its slot or leaves the queue (as Prometheus cancels
/// a request's context), and health checks and remote write answer while queries run.
@Suite struct QueryCancellationTests {
    /// Runs until its timeout on an empty database: a subquery inside a subquery, 600k steps each.
    static func heavy(timeout: String) -> String {
        "/api/v1/query?time=1000&timeout=\(timeout)&query=" +
            "max_over_time((max_over_time(vector(1)%5B10m%3A1ms%5D))%5B10m%3A1ms%5D)"
    }

    static func get(_ port: Int, _ path: String, timeout: Int64 = 120) async throws -> (Int, String) {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        req.method = .GET
        let res = try await HTTPClient.shared.execute(req, timeout: .seconds(timeout))
        return (Int(res.status.code), String(buffer: try await res.body.collect(upTo: 1 << 20)))
    }

    /// A value of Strata's own /metrics.
    static func metric(_ port: Int, _ name: String) async throws -> Double {
        let (_, body) = try await get(port, "/metrics")
        let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return Double(line?.split(separator: " ").last ?? "") ?? -1
    }

    static func waitFor(_ port: Int, _ name: String, _ value: Double) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await metric(port, name) != value {
            if ContinuousClock.now > deadline { throw StrataTestError("\(name) never reached \(value)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// One query at a time, with a timeout far beyond the tests' own limits.
    static var oneSlot: ServerConfig {
        var config = ServerConfig()
        config.queryMaxConcurrency = 1
        config.queryTimeout = 5 * 60 * 1000
        return config
    }

    static func time<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
        let start = ContinuousClock.now
        let r = try await body()
        return (r, ContinuousClock.now - start)
    }

    /// One slot: a running query whose client hangs up stops, and the next query gets the slot at
    /// once instead of after the first one's 5-minute timeout.
    @Test(.timeLimit(.minutes(2)))
    func aRunningQueryStopsWhenItsClientLeaves() async throws {
        try await withStrata(Self.oneSlot) { port in
            let abandoned = Task { try await Self.get(port, Self.heavy(timeout: "5m")) }
            try await Self.waitFor(port, "strata_queries_running", 1)
            abandoned.cancel() // the HTTP client closes its connection
            let ((status, body), took) = try await Self.time { try await Self.get(port, "/api/v1/query?query=1%2B1&time=1") }
            #expect(status == 200 && body.contains(#""result":[1,"2"]"#), "\(body)")
            #expect(took < .seconds(60), "the slot was freed after \(took)")
            try await Self.waitFor(port, "strata_queries_running", 0)
            #expect(try await Self.metric(port, "strata_queries_canceled_total") == 1)
        }
    }

    /// One slot, held by a heavy query: a query with `timeout=1s` waiting for it is answered
    /// `503 timeout` at its deadline, while the first still runs, not when the slot frees.
    @Test(.timeLimit(.minutes(2)))
    func aQueuedQueryIsAnsweredAtItsDeadline() async throws {
        try await withStrata(Self.oneSlot) { port in
            let first = Task { try await Self.get(port, Self.heavy(timeout: "5m")) }
            defer { first.cancel() }
            try await Self.waitFor(port, "strata_queries_running", 1)
            let (status, body) = try await Self.get(port, "/api/v1/query?query=1&time=1&timeout=1s")
            #expect(status == 503 && body.contains("query timed out in query queue"), "\(body)")
            // Answered while the slot was still taken: the first query has 5 minutes to run.
            #expect(try await Self.metric(port, "strata_queries_running") == 1)
            #expect(try await Self.metric(port, "strata_queries_waiting") == 0)
        }
    }

    /// One slot, held by a heavy query for the whole test: a second query, then a labels and a
    /// federation request, wait in line and their clients leave. Each must leave the line at once (the slot
    /// is never free meanwhile, so "waiting" can only drop by leaving); then the first query's
    /// client leaves too and a third query gets the slot.
    @Test(.timeLimit(.minutes(3)))
    func aWaitingQueryWhoseClientLeftNeverRuns() async throws {
        try await withStrata(Self.oneSlot) { port in
            let first = Task { try await Self.get(port, Self.heavy(timeout: "5m")) }
            try await Self.waitFor(port, "strata_queries_running", 1)
            let abandoned = Task { try await Self.get(port, Self.heavy(timeout: "5m")) }
            try await Self.waitFor(port, "strata_queries_waiting", 1)
            abandoned.cancel()
            try await Self.waitFor(port, "strata_queries_waiting", 0)
            // The index endpoints and federation wait in the same line and leave it the same way.
            for path in ["/api/v1/labels", "/federate?match%5B%5D=up"] {
                let abandonedScan = Task { try await Self.get(port, path) }
                try await Self.waitFor(port, "strata_queries_waiting", 1)
                abandonedScan.cancel()
                try await Self.waitFor(port, "strata_queries_waiting", 0)
            }
            #expect(try await Self.metric(port, "strata_queries_running") == 1)
            let third = Task { try await Self.get(port, "/api/v1/query?query=1%2B1&time=1") }
            try await Self.waitFor(port, "strata_queries_waiting", 1)
            first.cancel()
            let (status, body) = try await third.value
            #expect(status == 200 && body.contains(#""result":[1,"2"]"#), "\(body)")
            // The first query's handler counts its cancellation after freeing the slot, so the
            // third one can finish first: wait for the count rather than read it once.
            try await Self.waitFor(port, "strata_queries_canceled_total", 4)
        }
    }

    /// Two CPU-bound queries on a 2-core machine: health checks and remote write still answer
    /// at once (queries run on threads of their own, not where request handlers run).
    @Test(.timeLimit(.minutes(2)))
    func healthAndWritesAnswerWhileQueriesRun() async throws {
        try await withStrata { port in
            let queries = (0 ..< 2).map { _ in Task { try await Self.get(port, Self.heavy(timeout: "30s")) } }
            try await Self.waitFor(port, "strata_queries_running", 2)
            let ((health, _), healthTook) = try await Self.time { try await Self.get(port, "/-/healthy") }
            var b = WriteRequestBuilder()
            b.add([("__name__", "m")], [(1000, 1)])
            let (written, writeTook) = await Self.time { await postWrite(port: port, b.snappyBody()) }
            #expect(health == 200 && written == .noContent)
            // Without own threads both waited for the queries to end (30 s). The bound leaves room
            // for a 2-core machine busy with the other tests' servers and child processes.
            #expect(healthTook < .seconds(20) && writeTook < .seconds(20), "health \(healthTook), write \(writeTook)")
            for q in queries { q.cancel() }
            try await Self.waitFor(port, "strata_queries_running", 0)
        }
    }
}
