import AsyncHTTPClient
import Foundation
import NIOCore
import StrataTestSupport
import Testing

/// The results cache in `strata serve` (on by default): a dashboard's range query asked again
/// is served from it, a late remote write under cached steps is seen at once, and the
/// `--query-range.*` flags are checked.
@Suite struct ResultsCacheEndToEndTests {
    static func get(_ port: Int, _ path: String) async throws -> String {
        let resp = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(30))
        return String(buffer: try await resp.body.collect(upTo: 16 << 20))
    }

    static func metric(_ text: String, _ line: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last!) } ?? -1
    }

    @Test(.timeLimit(.minutes(2)))
    func aRefreshedQueryIsServedFromTheCacheAndALateWriteIsSeen() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("results-cache-e2e"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("strata.log"))
        defer { proc.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1000) / 60_000 * 60_000
        var b = WriteRequestBuilder()
        b.add([("__name__", "x"), ("s", "a")], stride(from: now - 3 * 3_600_000, through: now - 120_000, by: 30_000).map { ($0, 1) })
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)

        let range = "/api/v1/query_range?query=count(x)&start=\(now / 1000 - 3 * 3600)&end=\(now / 1000 - 300)&step=60"
        let first = try await Self.get(port, range)
        #expect(first.hasPrefix(#"{"status":"success""#) && !first.contains(#""2""#), "\(first.prefix(300))")
        #expect(try await Self.get(port, range) == first)
        let metrics = try await Self.get(port, "/metrics")
        #expect(Self.metric(metrics, #"strata_query_range_results_cache_requests_total{result="hit"}"#) >= 1, "\(metrics)")
        #expect(Self.metric(metrics, "strata_query_range_results_cache_entries") >= 1)

        // A second series arrives late, 50 to 40 minutes back: under cached steps.
        var late = WriteRequestBuilder()
        late.add([("__name__", "x"), ("s", "b")], stride(from: now - 3_000_000, through: now - 2_400_000, by: 30_000).map { ($0, 1) })
        #expect(await postWrite(port: port, late.snappyBody()) == .noContent)
        let after = try await Self.get(port, range)
        #expect(after.contains(#""2""#), "the late series is counted: \(after.suffix(300))")
        #expect(Self.metric(try await Self.get(port, "/metrics"), "strata_query_range_results_cache_invalidations_total") >= 1)
    }

    @Test func badCacheFlagsStopTheServerWithAClearMessage() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("results-cache-flags"); defer { dir.remove() }
        for (flag, value) in [("--query-range.split-interval", "0s"), ("--query-range.results-cache-size", "lots"),
                              ("--query-range.max-freshness", "soon")] {
            let r = try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data"), "--http-address", "127.0.0.1:0", flag, value])
            #expect(r.status != 0 && r.stderr.contains("invalid \(flag) \"\(value)\""), "\(flag): \(r.stderr)")
        }
    }
}
