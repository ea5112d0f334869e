import AsyncHTTPClient
import Foundation
import NIOCore
import StrataBlockStore
import StrataObjectStore
import StrataTestSupport
import Testing

/// Downsampling end to end with the real binary: three days imported with `strata tsdb import
/// openmetrics`, uploaded with `strata bucket upload`, one `strata bucket compact --once` makes
/// the 5m block, and `strata serve` over that bucket answers with either resolution as
/// `max_source_resolution` asks.
@Suite struct DownsampledQueryTests {
    /// 2023-11-15T00:00:00Z, a multiple of 48h: the import's first 48h window is one raw block.
    static let base: Int64 = 1_700_006_400
    static let minutes = 3 * 24 * 60

    static func gauge(_ s: Int, _ m: Int) -> Double { Double(s * 100) + Double((m * 37 + s * 11) % 53) / 4 }
    /// A counter rising by s+1 a minute, reset to 0 at 30h.
    static func counter(_ s: Int, _ m: Int) -> Double { Double((s + 1) * (m < 1800 ? m : m - 1800)) }

    static func openMetrics() -> String {
        var out = "# TYPE g gauge\n"
        for s in 0 ..< 2 { for m in 0 ..< minutes { out += "g{s=\"\(s)\"} \(gauge(s, m)) \(base + Int64(m) * 60)\n" } }
        out += "# TYPE c counter\n"
        for s in 0 ..< 2 { for m in 0 ..< minutes { out += "c_total{s=\"\(s)\"} \(counter(s, m)) \(base + Int64(m) * 60)\n" } }
        return out + "# EOF\n"
    }

    /// `/api/v1/query` or `query_range` with `params`, as series label `s` → values.
    static func get(_ port: Int, _ path: String, _ params: [String: String]) async throws -> [String: [Double]] {
        let q = params.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
        let resp = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)?\(q)"), timeout: .seconds(30))
        let body = try await resp.body.collect(upTo: 16 << 20)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
        let result = try #require((json["data"] as? [String: Any])?["result"] as? [[String: Any]], "\(json)")
        var out: [String: [Double]] = [:]
        for r in result {
            let s = (r["metric"] as? [String: String])?["s"] ?? ""
            let points = (r["values"] as? [[Any]]) ?? [r["value"] as? [Any] ?? []]
            out[s] = points.map { Double($0.last as? String ?? "") ?? .nan }
        }
        return out
    }

    @Test(.timeLimit(.minutes(3)))
    func aggregatesAnswerForRawDataAsMaxSourceResolutionAsks() async throws {
        guard let binary = strataBinary() else { return }
        let tmp = try TempDir("downsampled-query"); defer { tmp.remove() }
        try Self.openMetrics().write(toFile: tmp.file("in.om"), atomically: true, encoding: .utf8)
        let imported = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", "--block-duration", "48h", tmp.file("in.om"), tmp.file("import")])
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        let objstore = ["--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(tmp.file("bucket"))\n"]
        let uploaded = try await Tools.runAsync(binary, ["bucket", "upload", "--path", tmp.file("import"), "--label", "tenant_id=\"t\""] + objstore)
        #expect(uploaded.status == 0, "\(uploaded.stdout)\(uploaded.stderr)")
        let compacted = try await Tools.runAsync(binary, ["bucket", "compact", "--once", "--consistency-delay", "0s", "--work-dir", tmp.file("work")] + objstore)
        #expect(compacted.status == 0 && compacted.stdout.contains("downsampled "), "\(compacted.stdout)\(compacted.stderr)")
        let blocks = try await BucketBlocks.list(try FilesystemBucket(directory: tmp.file("bucket")))
        #expect(blocks.map(\.resolution).sorted() == [0, 0, 300_000], "the 48h raw block got a 5m copy; the 24h one did not")

        let (proc, port) = try await startStrata(binary, dataDir: tmp.file("data"), log: tmp.file("serve.log"), extra: objstore)
        defer { proc.stop() }
        // At the end of a 5m window on day 2: a 1h range holds 12 whole windows.
        let t = String(format: "%.3f", Double(Self.base + 24 * 3600 + 10 * 300) - 0.001)
        func instant(_ q: String, _ res: String) async throws -> [String: [Double]] {
            try await Self.get(port, "/api/v1/query", ["query": q, "time": t, "max_source_resolution": res])
        }
        var raw: [String: [Double]] = [:]
        let deadline = Date().addingTimeInterval(30)
        while raw.isEmpty && Date() < deadline {
            raw = try await instant("max_over_time(g[1h])", "0s")
            if raw.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(raw.count == 2, "the bucket's blocks are read")

        // min and max of windows are the min and max of their samples; sums add up; a bare
        // selector reads the window's average, which is avg_over_time over the window raw.
        for (q, rawQ) in [("max_over_time(g[1h])", "max_over_time(g[1h])"), ("min_over_time(g[1h])", "min_over_time(g[1h])"),
                          ("sum_over_time(g[1h])", "sum_over_time(g[1h])"), ("g", "avg_over_time(g[5m])")] {
            let coarse = try await instant(q, "5m"), fine = try await instant(rawQ, "0s")
            #expect(coarse.keys.sorted() == ["0", "1"] && coarse.keys.sorted() == fine.keys.sorted(), "\(q)")
            for (s, v) in fine { #expect(abs(coarse[s]![0] - v[0]) <= 1e-9 * max(1, abs(v[0])), "\(q) s=\(s): 5m \(coarse[s]!) raw \(v)") }
        }
        // count_over_time counts the windows (Thanos reads the count aggregate's samples).
        #expect(try await instant("count_over_time(g[1h])", "5m") == ["0": [12], "1": [12]])
        #expect(try await instant("count_over_time(g[1h])", "0s") == ["0": [60], "1": [60]])
        // rate over the counter aggregate: the resets are kept, so it agrees with raw data
        // (within 2%: fewer, coarser points extrapolate differently). Across the reset at 30h too.
        for at in [t, String(Self.base + 30 * 3600 + 1800)] {
            let coarse = try await Self.get(port, "/api/v1/query", ["query": "rate(c_total[1h])", "time": at, "max_source_resolution": "5m"])
            let fine = try await Self.get(port, "/api/v1/query", ["query": "rate(c_total[1h])", "time": at])
            for s in ["0", "1"] {
                let want = Double(Int(s)! + 1) / 60
                #expect(abs(fine[s]![0] - want) / want < 0.02 && abs(coarse[s]![0] - want) / want < 0.02, "at \(at) s=\(s): 5m \(coarse) raw \(fine)")
            }
        }
        // rate(x[5m]) needs two samples in 5m: it stays on raw data whatever the parameter says.
        #expect(try await instant("rate(c_total[5m])", "1h") == (try await instant("rate(c_total[5m])", "0s")))

        // auto: a 1h step reads data up to 12m, so 5m blocks, over two days; without it, raw.
        let range = ["query": "count_over_time(g[1h])", "start": String(Self.base + 2 * 3600), "end": String(Self.base + 46 * 3600), "step": "3600"]
        let auto = try await Self.get(port, "/api/v1/query_range", range.merging(["max_source_resolution": "auto"]) { a, _ in a })
        #expect(auto["0"]?.count == 45 && auto.values.allSatisfy { $0.allSatisfy { $0 == 12 } }, "\(auto)")
        let rawRange = try await Self.get(port, "/api/v1/query_range", range)
        #expect(rawRange.values.allSatisfy { $0.count == 45 && $0.allSatisfy { $0 == 60 } }, "\(rawRange)")
    }
}
