import AsyncHTTPClient
import Foundation
import NIOCore
import StrataModel
import StrataServer
import StrataTestSupport
import Testing

/// remote write → head → block → bucket, with `strata serve` on its defaults (a filesystem
/// bucket in the data directory): the bucket's copy of each block has Thanos' `meta.json`, and
/// promtool reads from the bucket exactly the samples written.
@Suite struct ShippingEndToEndTests {
    @Test(.timeLimit(.minutes(3)))
    func blocksReachTheBucketAndReadBackWithPromtool() async throws {
        guard let binary = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("strata-ship"); defer { dir.remove() }
        let data = dir.file("data")
        let bucketDir = data + "/bucket"
        let tenantDir = data + "/default-tenant"
        let base: Int64 = 1_700_000_000_000
        var b = WriteRequestBuilder()
        for s in 0 ..< 3 {
            b.add([("__name__", "shipped"), ("s", String(s))], (0 ..< 60).map { (base + Int64($0) * 5000, Double($0 * 10 + s)) })
        }
        let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("1.log"),
                                                 extra: BlocksEndToEndTests.fastBlocks + ["--label", "cluster=\"e2e\""])
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        // 295 s of samples with 1m blocks: at least three blocks are cut and uploaded.
        let deadline = Date().addingTimeInterval(30)
        func shipped() -> [String] {
            BlocksEndToEndTests.blockDirs(bucketDir).filter { FileManager.default.fileExists(atPath: bucketDir + "/" + $0 + "/meta.json") }
        }
        // Until three blocks are in and every block cut so far is (the last one may be uploading).
        while (shipped().count < 3 || shipped() != BlocksEndToEndTests.blockDirs(tenantDir)) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        proc.stop()
        let blocks = shipped()
        #expect(blocks.count >= 3, "blocks were not shipped:\n\(proc.log)")
        #expect(blocks == BlocksEndToEndTests.blockDirs(tenantDir), "every local block is in the bucket")

        var samplesInMetas = 0
        for ulid in blocks {
            let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bucketDir + "/" + ulid + "/meta.json"))) as? [String: Any])
            samplesInMetas += (meta["stats"] as? [String: Any])?["numSamples"] as? Int ?? 0
            let thanos = try #require(meta["thanos"] as? [String: Any], "no thanos section in \(ulid)")
            #expect(thanos["labels"] as? [String: String] == ["cluster": "e2e", "tenant_id": "default-tenant"])
            #expect(thanos["source"] as? String == "receive")
            #expect((thanos["files"] as? [[String: Any]])?.map { $0["rel_path"] as? String } == ["chunks/000001", "index", "meta.json"])
            #expect(!FileManager.default.fileExists(atPath: bucketDir + "/" + ulid + "/tombstones"), "tombstones are not uploaded")
        }
        let state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tenantDir + "/thanos.shipper.json"))) as? [String: Any])
        #expect(state["version"] as? Int == 1 && Set(state["uploaded"] as? [String] ?? []) == Set(blocks))

        // `strata bucket ls` lists the same blocks, with their labels and source.
        let ls = try await Tools.runAsync(binary, ["bucket", "ls", "--tsdb.path", data])
        #expect(ls.status == 0 && ls.stdout.split(separator: "\n").map(String.init) == blocks, "\(ls.stdout)\(ls.stderr)")
        let wide = try await Tools.runAsync(binary, ["bucket", "ls", "-o", "wide", "--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(bucketDir)\n"])
        #expect(wide.status == 0 && wide.stdout.hasPrefix("ULID") && wide.stdout.contains("receive") && wide.stdout.contains("cluster=\"e2e\"") && wide.stdout.contains("tenant_id=\"default-tenant\""), "\(wide.stdout)\(wide.stderr)")
        let json = try await Tools.runAsync(binary, ["bucket", "ls", "-o", "json", "--tsdb.path", data])
        #expect(json.stdout.split(separator: "\n").count == blocks.count && json.stdout.contains("\"thanos\":"), "\(json.stdout)")
        let clean = try await Tools.runAsync(binary, ["bucket", "verify", "--tsdb.path", data])
        #expect(clean.status == 0 && clean.stdout == "no problems found\n", "\(clean.stdout)\(clean.stderr)")
        // A partial upload (no meta.json) is not a block, and verify reports it; so it does a
        // truncated index.
        try FileManager.default.createDirectory(atPath: bucketDir + "/01JAAAAAAAAAAAAAAAAAAAAAAA/chunks", withIntermediateDirectories: true)
        try Data([1]).write(to: URL(fileURLWithPath: bucketDir + "/01JAAAAAAAAAAAAAAAAAAAAAAA/index"))
        #expect(try await Tools.runAsync(binary, ["bucket", "ls", "--tsdb.path", data]).stdout.split(separator: "\n").map(String.init) == blocks)
        let index = bucketDir + "/" + blocks[0] + "/index"
        let saved = try Data(contentsOf: URL(fileURLWithPath: index))
        // Replaced, not truncated in place: the bucket's file is a hard link to the local block's.
        try saved.prefix(saved.count / 2).write(to: URL(fileURLWithPath: index), options: .atomic)
        let found = try await Tools.runAsync(binary, ["bucket", "verify", "--tsdb.path", data])
        #expect(found.status == 1, "\(found.stdout)\(found.stderr)")
        #expect(found.stdout.contains("01JAAAAAAAAAAAAAAAAAAAAAAA: partial upload (no meta.json)"), "\(found.stdout)")
        #expect(found.stdout.contains("\(blocks[0]): index is \(saved.count / 2) bytes, meta.json says \(saved.count)"), "\(found.stdout)")
        #expect(found.stdout.contains("\(blocks[0]): index does not read"), "\(found.stdout)")
        try saved.write(to: URL(fileURLWithPath: index), options: .atomic)
        try FileManager.default.removeItem(atPath: bucketDir + "/01JAAAAAAAAAAAAAAAAAAAAAAA")

        // promtool reads the blocks as downloaded from the bucket (Thanos' filesystem layout is a
        // block directory per ULID; promtool wants a WAL directory beside them, empty here).
        let downloaded = dir.file("downloaded")
        try FileManager.default.copyItem(atPath: bucketDir, toPath: downloaded)
        try FileManager.default.createDirectory(atPath: downloaded + "/wal", withIntermediateDirectories: true)
        let r = try await Tools.runAsync(promtool, ["tsdb", "dump", downloaded])
        #expect(r.status == 0, "promtool: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("{__name__=\"shipped\"") }
        let inBuckets = lines.count
        // Each sample once, as many as the blocks say, and the first three minutes at least.
        #expect(inBuckets == samplesInMetas && inBuckets >= 3 * 36 && inBuckets <= 180, "\(inBuckets) samples in the bucket, \(samplesInMetas) in the metas")
        #expect(Set(lines).count == lines.count)
        for s in 0 ..< 3 {
            #expect(lines.contains("{__name__=\"shipped\", s=\"\(s)\"} \(s) \(base)"), "the first sample of series \(s)")
        }
    }

    @Test func aBadObjectStoreConfigurationFailsAtStartInOneLine() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-ship-bad"); defer { dir.remove() }
        let r = try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data"), "--http-address", "127.0.0.1:0",
                                                  "--objstore.config", "type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  acess_key: x\n"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("field acess_key not found"), "\(r.stderr)")
        let labels = try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data"), "--label", "1bad=\"x\""])
        #expect(labels.status != 0 && labels.stderr.contains("is not a valid label name"), "\(labels.stderr)")
    }

    /// `--label` as Thanos parses it: a valid name, a Go-quoted value, each name once.
    @Test func labelFlags() throws {
        #expect(try ServerConfig.parseLabels(["cluster=\"eu-1\"", "replica=\"a\\\"b\""]) == ["cluster": "eu-1", "replica": "a\"b"])
        #expect { _ = try ServerConfig.parseLabels(["cluster=eu-1"]) } throws: { "\($0)".contains("unquote label value") }
        #expect { _ = try ServerConfig.parseLabels(["cluster"]) } throws: { "\($0)".contains("unrecognized label") }
        #expect { _ = try ServerConfig.parseLabels(["a=\"1\"", "a=\"2\""]) } throws: { "\($0)".contains("given twice") }
        #expect { _ = try ServerConfig.parseLabels(["tenant_id=\"\""]) } throws: { "\($0)".contains("empty label value") }
    }
}
