import AsyncHTTPClient
import Foundation
import NIOCore
import StrataTestSupport
import Testing

/// The store role end to end: blocks ship, local retention lets them go, and queries over the
/// whole range still see every sample exactly once, from the bucket (filesystem and moto S3),
/// local blocks and the head together, and answer as Prometheus 2.42 does with the same samples.
@Suite struct BucketQueryEndToEndTests {
    static let base: Int64 = 1_700_000_000_000
    /// 3 series, a sample every 5 s over 12 minutes: 144 each.
    static let samples = 144

    static func value(_ i: Int, _ s: Int) -> Double { Double(i * 10 + s) }

    /// With `prometheus`, the same samples are written to a real Prometheus 2.42 too, and the
    /// same instant queries, over bucket-only, local and head time ranges, must agree.
    static func run(_ binary: String, _ dir: TempDir, objstore: [String], prometheus: String? = nil) async throws {
        let data = dir.file("data")
        var b = WriteRequestBuilder()
        for s in 0 ..< 3 {
            b.add([("__name__", "kept"), ("s", String(s))], (0 ..< samples).map { (base + Int64($0) * 5000, value($0, s)) })
        }
        // 1m blocks, and a retention of 3 minutes: most blocks leave the data directory once shipped.
        let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("serve.log"),
                                                 extra: BlocksEndToEndTests.fastBlocks + ["--shipper.interval", "300ms", "--tsdb.retention.time", "3m"] + objstore)
        defer { proc.stop() }
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        let end = Double(base + Int64(samples) * 5000) / 1000
        let deadline = Date().addingTimeInterval(60)
        // Until retention has deleted blocks (they are then read from the bucket).
        while !proc.log.contains("retention deleted blocks") && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(proc.log.contains("retention deleted blocks"), "\(proc.log)")

        let counts = try await BlocksEndToEndTests.query(port, "count_over_time(kept[20m])", time: end)
        #expect(counts == ["0": Double(samples), "1": Double(samples), "2": Double(samples)], "every sample once: \(counts)\n\(proc.log)")
        let sums = try await BlocksEndToEndTests.query(port, "sum_over_time(kept[20m])", time: end)
        for s in 0 ..< 3 { #expect(sums[String(s)] == (0 ..< samples).map { value($0, s) }.reduce(0, +), "\(sums)") }
        // The oldest minute is only in the bucket now.
        let first = try await BlocksEndToEndTests.query(port, "count_over_time(kept[1m])", time: Double(base + 59_000) / 1000)
        #expect(first == ["0": 12, "1": 12, "2": 12], "\(first)")
        let series = try await Tools.runAsync("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/api/v1/series?match[]=kept&start=\(Double(base) / 1000)&end=\(Double(base + 60_000) / 1000)"])
        #expect(series.stdout.contains("\"s\":\"0\"") && series.stdout.contains("\"s\":\"2\""), "\(series.stdout)")
        let values = try await Tools.runAsync("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/api/v1/label/s/values?start=\(Double(base) / 1000)&end=\(Double(base + 60_000) / 1000)"])
        #expect(values.stdout.contains("[\"0\",\"1\",\"2\"]"), "\(values.stdout)")

        if let prometheus {
            let (prom, promPort) = try await startPrometheus(prometheus, dir: dir, extra: ["--web.enable-remote-write-receiver"]) { _ in
                "global:\n  scrape_interval: 1m\n"
            }
            defer { prom.stop() }
            var req = HTTPClientRequest(url: "http://127.0.0.1:\(promPort)/api/v1/write")
            req.method = .POST
            req.headers.add(name: "Content-Type", value: "application/x-protobuf")
            req.headers.add(name: "Content-Encoding", value: "snappy")
            req.body = .bytes(ByteBuffer(bytes: b.snappyBody()))
            #expect(try await HTTPClient.shared.execute(req, timeout: .seconds(10)).status == .noContent)
            // Half-way between samples: Strata's range windows are left-open, as in Prometheus 3,
            // and 2.42's are closed, so a sample exactly at a window's start would differ.
            let times = [59_500, 362_500, 717_500].map { Double(base + $0) / 1000 }
            for expr in ["kept", "rate(kept[1m])", "sum_over_time(kept[5m])", "count_over_time(kept[20m])", "max_over_time(kept[90s])"] {
                for t in times {
                    let ours = try await BlocksEndToEndTests.query(port, expr, time: t)
                    let theirs = try await BlocksEndToEndTests.query(promPort, expr, time: t)
                    #expect(!theirs.isEmpty && ours.keys.sorted() == theirs.keys.sorted(), "\(expr) at \(t): \(ours) vs Prometheus \(theirs)")
                    for (k, v) in theirs {
                        let o = ours[k] ?? .nan
                        #expect(abs(o - v) <= 1e-9 * max(1, abs(v)), "\(expr) at \(t), s=\(k): \(o) vs Prometheus \(v)")
                    }
                }
            }
        }

        let metrics = try await Tools.runAsync("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout
        let opened = metrics.split(separator: "\n").first { $0.hasPrefix("strata_bucket_store_blocks_opened_total ") }
        #expect(opened.map { !$0.hasSuffix(" 0") } == true, "bucket blocks were read: \(opened ?? "")")
    }

    @Test(.timeLimit(.minutes(3)))
    func queriesReachBlocksRetentionLetGoFilesystem() async throws {
        guard let binary = strataBinary(), let prometheus = requiredTool("prometheus") else { return }
        let dir = try TempDir("strata-store-fs"); defer { dir.remove() }
        try await Self.run(binary, dir, objstore: [], prometheus: prometheus)
    }

    @Test(.timeLimit(.minutes(3)))
    func queriesReachBlocksRetentionLetGoS3() async throws {
        guard let binary = strataBinary(), let moto = try ShippingFaultTests.moto() else { return }
        defer { moto.stop() }
        try ShippingFaultTests.createBucket(moto)
        let dir = try TempDir("strata-store-s3"); defer { dir.remove() }
        try await Self.run(binary, dir, objstore: ["--objstore.config", ShippingFaultTests.objstore(moto)])
    }
}
