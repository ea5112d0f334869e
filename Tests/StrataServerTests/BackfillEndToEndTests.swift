import AsyncHTTPClient
import Foundation
import NIOFoundationCompat
import StrataTestSupport
import Testing

/// Blocks written by `promtool tsdb create-blocks-from openmetrics` answer the same PromQL in
/// Strata as in a real Prometheus 2.42 serving a copy of the same blocks.
@Suite struct BackfillEndToEndTests {
    static let base: Int64 = 1_700_000_000_000

    static func openMetrics() -> String {
        var text = "# TYPE http_requests counter\n# TYPE temperature gauge\n# TYPE latency_seconds histogram\n"
        var rng = SplitMix(seed: 99)
        var counters = [Double](repeating: 0, count: 4)
        var buckets = [Double](repeating: 0, count: 4)
        // 7 hours, every 15 s: four blocks of 2h from promtool.
        for k in 0 ..< 7 * 240 {
            let ts = String(format: "%.3f", Double(base + Int64(k) * 15_000) / 1000)
            for (i, code) in ["200", "404", "500", "503"].enumerated() {
                counters[i] += Double(rng.next() % 20) + (i == 0 ? 50 : 0)
                if k == 900 && i == 2 { counters[i] = 0 } // a counter reset
                text += "http_requests_total{code=\"\(code)\",job=\"api\"} \(counters[i]) \(ts)\n"
            }
            text += "temperature{room=\"a\"} \(Double(rng.next() % 4000) / 4) \(ts)\n" // quarters: sums are exact in any order
            for (i, le) in ["0.1", "0.5", "1", "+Inf"].enumerated() {
                buckets[i] += Double(rng.next() % 5) + Double(i * 3)
                if i > 0 { buckets[i] = max(buckets[i], buckets[i - 1]) }
                text += "latency_seconds_bucket{le=\"\(le)\"} \(buckets[i]) \(ts)\n"
            }
        }
        return text + "# EOF\n"
    }

    @Test(.timeLimit(.minutes(3)))
    func strataAndPrometheusAnswerAlikeOverBackfilledBlocks() async throws {
        guard let binary = strataBinary(), let promtool = requiredTool("promtool"), let prometheus = requiredTool("prometheus") else { return }
        let dir = try TempDir("backfill-e2e"); defer { dir.remove() }
        try Self.openMetrics().write(toFile: dir.file("in.om"), atomically: true, encoding: .utf8)
        let created = try await Tools.runAsync(promtool, ["tsdb", "create-blocks-from", "openmetrics", dir.file("in.om"), dir.file("blocks")])
        #expect(created.status == 0, "\(created.stderr)")
        try FileManager.default.copyItem(atPath: dir.file("blocks"), toPath: dir.file("prom"))
        try FileManager.default.copyItem(atPath: dir.file("blocks"), toPath: dir.file("strata"))

        // Prometheus serves the copy in dir/prom.
        let (prom, promPort) = try await startPrometheus(prometheus, dir: dir) { _ in "global:\n  scrape_interval: 1m\n" }
        defer { prom.stop() }
        let (strata, strataPort) = try await startStrata(binary, dataDir: dir.file("strata"), log: dir.file("strata.log"))
        defer { strata.stop() }
        let promURL = "http://127.0.0.1:\(promPort)", strataURL = "http://127.0.0.1:\(strataPort)"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let r = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(Double(Self.base) / 1000 + 60)", promURL, "temperature"])
            if r.status == 0 && r.stdout.contains("=>") { break }
            try await Task.sleep(for: .milliseconds(300))
        }

        // Times between samples (x.5 scrape intervals), so no sample sits on a window's left edge,
        // where Prometheus 2.x (closed) and 3.x/Strata (open) differ; rate windows inside the data,
        // where 2.42's extrapolation towards a series' start differs from 3.x's. Windows span
        // block boundaries.
        let times = [1.2, 2.0, 3.99, 6.9].map { String(format: "%.3f", Double(Self.base) / 1000 + $0 * 3600 + 7.5) }
        let queries = [
            "temperature", "http_requests_total", "sum by (code) (rate(http_requests_total[5m]))",
            "increase(http_requests_total{code=\"500\"}[1h])", "max_over_time(temperature[90m])",
            "histogram_quantile(0.9, rate(latency_seconds_bucket[10m]))", "count_over_time(http_requests_total[3h])",
            "sum_over_time(temperature[2h]) - temperature", "resets(http_requests_total[7h])",
        ]
        for t in times {
            for q in queries {
                let ours = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", strataURL, q])
                let theirs = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", promURL, q])
                #expect(ours.status == 0 && theirs.status == 0, "\(q): \(ours.stderr) \(theirs.stderr)")
                #expect(!theirs.stdout.isEmpty, "\(q) at \(t): nothing from Prometheus")
                #expect(withoutTenantLabel(ours.stdout).split(separator: "\n").sorted() == theirs.stdout.split(separator: "\n").sorted(),
                        "\(q) at \(t)\nStrata:\n\(withoutTenantLabel(ours.stdout))\nPrometheus:\n\(theirs.stdout)")
            }
        }
        // A range query over the whole backfill.
        let range = ["query", "range", "--start=\(Double(Self.base) / 1000 + 607.5)", "--end=\(Double(Self.base) / 1000 + 7 * 3600 - 7.5)", "--step=5m"]
        for q in ["sum by (code) (rate(http_requests_total[5m]))", "temperature"] {
            let ours = try await Tools.runAsync(promtool, range + [strataURL, q])
            let theirs = try await Tools.runAsync(promtool, range + [promURL, q])
            #expect(ours.status == 0 && theirs.status == 0, "\(q): \(ours.stderr) \(theirs.stderr)")
            #expect(withoutTenantLabel(ours.stdout) == theirs.stdout, "range \(q)\nStrata:\n\(withoutTenantLabel(ours.stdout).prefix(2000))\nPrometheus:\n\(theirs.stdout.prefix(2000))")
        }
        // Series and label values across blocks.
        let window = ["--start=\(Double(Self.base) / 1000)", "--end=\(Double(Self.base) / 1000 + 7 * 3600)"]
        for args in [["series", "--match=http_requests_total"] + window, ["labels"] + window + ["code"]] {
            let cmd = { (url: String) in args.first == "labels" ? ["query"] + args.dropLast() + [url, args.last!] : ["query"] + args + [url] }
            let ours = try await Tools.runAsync(promtool, cmd(strataURL)), theirs = try await Tools.runAsync(promtool, cmd(promURL))
            #expect(ours.status == 0 && !theirs.stdout.isEmpty && withoutTenantLabel(ours.stdout) == theirs.stdout, "\(args)\nStrata:\n\(withoutTenantLabel(ours.stdout))\nPrometheus:\n\(theirs.stdout)")
        }
    }

    /// A block written by Prometheus 2.42 itself (its head, through the snapshot API) is served by
    /// Strata with the same answers.
    @Test(.timeLimit(.minutes(3)))
    func strataServesABlockWrittenByPrometheus() async throws {
        guard let binary = strataBinary(), let promtool = requiredTool("promtool"), let prometheus = requiredTool("prometheus") else { return }
        let dir = try TempDir("prom-block-e2e"); defer { dir.remove() }
        let (prom, promPort) = try await startPrometheus(prometheus, dir: dir, extra: ["--web.enable-remote-write-receiver", "--web.enable-admin-api"]) { _ in
            "global:\n  scrape_interval: 1m\n"
        }
        defer { prom.stop() }
        let promURL = "http://127.0.0.1:\(promPort)"
        // 30 minutes of samples ending a minute ago (Prometheus refuses samples far in the past).
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let first = now - 31 * 60_000
        var b = WriteRequestBuilder()
        for s in 0 ..< 20 {
            b.add([("__name__", "prom_written"), ("s", String(s)), ("job", "w")],
                  (0 ..< 120).map { (first + Int64($0) * 15_000, Double(s * 1000 + $0)) })
        }
        #expect(await postWrite(port: promPort, b.snappyBody()) == .noContent, "\(prom.log)")
        var snapReq = HTTPClientRequest(url: promURL + "/api/v1/admin/tsdb/snapshot")
        snapReq.method = .POST
        let snapResp = try await HTTPClient.shared.execute(snapReq, timeout: .seconds(60))
        let snapJSON = try JSONSerialization.jsonObject(with: Data(buffer: try await snapResp.body.collect(upTo: 1 << 16))) as? [String: Any]
        let name = try #require((snapJSON?["data"] as? [String: Any])?["name"] as? String, "\(String(describing: snapJSON))")
        try FileManager.default.copyItem(atPath: dir.file("prom/snapshots/\(name)"), toPath: dir.file("strata"))

        let (strata, strataPort) = try await startStrata(binary, dataDir: dir.file("strata"), log: dir.file("strata.log"))
        defer { strata.stop() }
        let strataURL = "http://127.0.0.1:\(strataPort)"
        let at = String(format: "%.3f", Double(first + 100 * 15_000 + 7_500) / 1000)
        for q in ["prom_written", "sum(rate(prom_written[5m]))", "count_over_time(prom_written[1h])", "max by (job) (prom_written)"] {
            let ours = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(at)", strataURL, q])
            let theirs = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(at)", promURL, q])
            #expect(ours.status == 0 && theirs.status == 0 && !theirs.stdout.isEmpty, "\(q): \(ours.stderr) \(theirs.stderr)")
            #expect(withoutTenantLabel(ours.stdout).split(separator: "\n").sorted() == theirs.stdout.split(separator: "\n").sorted(),
                    "\(q)\nStrata:\n\(withoutTenantLabel(ours.stdout))\nPrometheus:\n\(theirs.stdout)")
        }
    }
}
