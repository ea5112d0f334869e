import Foundation
import StrataModel
import StrataServer
import StrataTestSupport
import Testing

@Suite struct RemoteReadEndToEndTests {
    /// A real Prometheus 2.42 with `remote_read` pointed at Strata answers a query with data only
    /// Strata has (Prometheus 2.42's client asks for SAMPLES).
    @Test(.timeLimit(.minutes(2)))
    func prometheusReadsStrataThroughRemoteRead() async throws {
        guard let prometheus = requiredTool("prometheus"), let promtool = requiredTool("promtool") else { return }
        try await withStrata { strataPort in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var b = WriteRequestBuilder()
            for job in ["a", "b"] {
                b.series.append(.init(labels: [("__name__", "strata_only_metric"), ("job", job)],
                                      samples: (0 ..< 10).map { Sample(t: now - 90_000 + Int64($0) * 10_000, v: Double($0) + (job == "a" ? 0 : 100)) }))
            }
            #expect(await postWrite(port: strataPort, b.snappyBody()) == .noContent)

            let dir = try TempDir("prometheus-remote-read")
            defer { dir.remove() }
            let (prom, promPort) = try await startPrometheus(prometheus, dir: dir) { _ in """
                global:
                  scrape_interval: 1m
                remote_read:
                  - url: http://127.0.0.1:\(strataPort)/api/v1/read
                    read_recent: true
                """ }
            defer { prom.stop() }

            let promURL = "http://127.0.0.1:\(promPort)"
            let t = String(format: "%.3f", Double(now) / 1000)
            var out = ""
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let r = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", promURL, "strata_only_metric"])
                if r.status == 0 && !r.stdout.isEmpty { out = r.stdout; break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(out.contains(#"strata_only_metric{job="a", tenant_id="default-tenant"} => 9"#), "\(out)\n\(prom.log)")
            #expect(out.contains(#"strata_only_metric{job="b", tenant_id="default-tenant"} => 109"#), "\(out)")
            // PromQL in Prometheus over the remote-read data.
            let sum = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", promURL, "sum(max_over_time(strata_only_metric[2m]))"])
            #expect(sum.stdout.contains("=> 118"), "\(sum.stdout) \(sum.stderr)")
        }
    }
}
