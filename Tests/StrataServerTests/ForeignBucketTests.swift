import Foundation
import StrataTestSupport
import Testing

/// A bucket Strata did not write: blocks made by Prometheus' own `promtool tsdb
/// create-blocks-from openmetrics`, put into the bucket with a `meta.json` shaped as Thanos'
/// sidecar uploads it (its `thanos` section added by hand), are found and served.
@Suite struct ForeignBucketTests {
    @Test(.timeLimit(.minutes(2)))
    func promtoolBlocksWithThanosMetaAreServed() async throws {
        guard let binary = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let tmp = try TempDir("foreign-bucket"); defer { tmp.remove() }
        let base: Int64 = 1_700_006_400, minutes = 6 * 60
        var om = "# TYPE fg gauge\n"
        for s in 0 ..< 2 { for m in 0 ..< minutes { om += "fg{s=\"\(s)\"} \(s * 1000 + m) \(base + Int64(m) * 60)\n" } }
        try (om + "# EOF\n").write(toFile: tmp.file("in.om"), atomically: true, encoding: .utf8)
        let made = try await Tools.runAsync(promtool, ["tsdb", "create-blocks-from", "openmetrics", tmp.file("in.om"), tmp.file("promtool")])
        #expect(made.status == 0, "\(made.stdout)\(made.stderr)")

        let fm = FileManager.default
        let blocks = try fm.contentsOfDirectory(atPath: tmp.file("promtool")).filter { $0.count == 26 }
        #expect(blocks.count >= 3, "6h in 2h blocks: \(blocks)")
        for ulid in blocks {
            let src = tmp.file("promtool/" + ulid), dst = tmp.file("bucket/" + ulid)
            try fm.createDirectory(atPath: dst, withIntermediateDirectories: true)
            try fm.copyItem(atPath: src + "/index", toPath: dst + "/index")
            try fm.copyItem(atPath: src + "/chunks", toPath: dst + "/chunks")
            var meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: src + "/meta.json"))) as? [String: Any])
            meta["thanos"] = ["labels": ["prometheus": "p1"], "downsample": ["resolution": 0], "source": "sidecar"] as [String: Any]
            try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: dst + "/meta.json"))
        }
        let objstore = ["--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(tmp.file("bucket"))\n"]
        let verify = try await Tools.runAsync(binary, ["bucket", "verify"] + objstore)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        let (proc, port) = try await startStrata(binary, dataDir: tmp.file("data"), log: tmp.file("serve.log"), extra: objstore)
        defer { proc.stop() }
        let end = Double(base + Int64(minutes) * 60)
        var counts: [String: Double] = [:]
        let deadline = Date().addingTimeInterval(30)
        while counts.isEmpty && Date() < deadline {
            counts = try await BlocksEndToEndTests.query(port, "count_over_time(fg[7h])", time: end)
            if counts.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(counts == ["0": Double(minutes), "1": Double(minutes)], "\(counts)\n\(proc.log)")
        let sums = try await BlocksEndToEndTests.query(port, "sum_over_time(fg[7h])", time: end)
        let want: Double = (0 ..< minutes).reduce(0.0) { $0 + Double(1000 + $1) }
        #expect(sums["1"] == want, "\(sums)")
    }
}
