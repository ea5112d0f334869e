import Foundation
import StrataBlock
import StrataBlockStore
import StrataObjectStore
import StrataTestSupport
import Testing

/// Shipping to a real S3 API (moto) when things break: the server goes away, Strata is killed
/// in the middle of an upload, the catalog is damaged, the configuration is wrong.
@Suite(.serialized) struct ShippingFaultTests {
    static func moto(port: Int? = nil, authActions: Int? = nil) throws -> MotoServer? {
        guard let server = try MotoServer.start(authActions: authActions, port: port) else {
            if Tools.isCI { Issue.record("moto is not installed for python3 (scripts/bootstrap.sh installs moto[server] and boto3)") }
            else { print("moto (python3 -m moto.server) not installed; skipping the shipping fault tests") }
            return nil
        }
        return server
    }

    static func createBucket(_ moto: MotoServer) throws {
        let made = try moto.boto3("client(\"s3\").create_bucket(Bucket=\"thanos\")\n")
        #expect(made.status == 0, "\(made.stderr)")
    }

    static func objstore(_ moto: MotoServer, bucket: String = "thanos", secret: String = "testing", endpoint: String? = nil) -> String {
        "type: S3\nconfig:\n  bucket: \(bucket)\n  endpoint: \(endpoint ?? moto.endpoint)\n  insecure: true\n  bucket_lookup_type: path\n"
            + "  access_key: testing\n  secret_key: \(secret)\n  max_retries: 1\n"
    }

    static func s3(_ moto: MotoServer) throws -> S3Bucket {
        var c = S3Bucket.Config(bucket: "thanos", endpoint: moto.endpoint)
        c.accessKey = "testing"; c.secretKey = "testing"; c.insecure = true; c.bucketLookupType = "path"; c.maxRetries = 1
        return try S3Bucket(c)
    }

    /// The ULIDs with a `meta.json` in the bucket (empty while it cannot be reached).
    static func shipped(_ bucket: S3Bucket) async -> Set<String> {
        guard let top = try? await bucket.list("", recursive: false) else { return [] }
        var out = Set<String>()
        for dir in top where dir.hasSuffix("/") {
            if (try? await bucket.exists(dir + "meta.json")) == true { out.insert(String(dir.dropLast())) }
        }
        return out
    }

    /// `n` series of 295 s of samples from `start` (ms), every 5 s.
    static func batch(_ start: Int64, series n: Int = 3) -> WriteRequestBuilder {
        var b = WriteRequestBuilder()
        for s in 0 ..< n {
            b.add([("__name__", "faulty"), ("s", String(s))], (0 ..< 60).map { (start + Int64($0) * 5000, Double($0 * 10 + s)) })
        }
        return b
    }

    static func waitFor(_ what: String, seconds: Double = 30, _ log: () -> String = { "" }, _ cond: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await cond() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)\n\(log())")
    }

    static let base: Int64 = 1_700_000_000_000
    static let fast = BlocksEndToEndTests.fastBlocks + ["--shipper.interval", "300ms"]

    @Test(.timeLimit(.minutes(3)))
    func blocksWaitLocallyWhileTheBucketIsDownAndShipOnceItIsBack() async throws {
        guard let binary = strataBinary(), var moto = try Self.moto() else { return }
        defer { moto.stop() }
        try Self.createBucket(moto)
        let dir = try TempDir("strata-fault-down"); defer { dir.remove() }
        let data = dir.file("data")
        // Retention of one minute over 2023 data: a block stays only while it waits for upload.
        let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("1.log"),
                                                 extra: Self.fast + ["--tsdb.retention.time", "1m", "--objstore.config", Self.objstore(moto)])
        defer { proc.stop() }
        let bucket = try Self.s3(moto)
        #expect(await postWrite(port: port, Self.batch(Self.base).snappyBody()) == .noContent)
        try await Self.waitFor("the first blocks in the bucket", { proc.log }) { await Self.shipped(bucket).count >= 3 }

        moto.kill9()
        #expect(await postWrite(port: port, Self.batch(Self.base + 300_000).snappyBody()) == .noContent)
        // Blocks cut now cannot be uploaded; retention must keep them.
        var waiting: [String: BlockMeta] = [:]
        try await Self.waitFor("blocks cut while the bucket is down", { proc.log }) {
            for ulid in BlocksEndToEndTests.blockDirs(data + "/default-tenant") {
                if let m = try? BlockMeta.read(dir: data + "/default-tenant/" + ulid), m.minTime >= Self.base + 300_000 { waiting[ulid] = m }
            }
            return waiting.count >= 3
        }
        // The shipper's passes fail (each after the connect timeout); retention keeps the blocks.
        func metric(_ name: String) async -> Double {
            let text = (try? await Tools.runAsync("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout) ?? ""
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{tenant=") }.flatMap { Double($0.split(separator: " ")[1]) } ?? -1
        }
        try await Self.waitFor("a failed upload pass", { proc.log }) { await metric("strata_shipper_upload_failures_total") > 0 }
        #expect(await metric("strata_retention_blocks_waiting_for_upload") >= 2, "\(proc.log)")
        // Thanos' objstore metrics count the failed requests.
        let text = (try? await Tools.runAsync("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout) ?? ""
        let failedOps = text.split(separator: "\n").filter { $0.hasPrefix("objstore_bucket_operation_failures_total{") && !$0.hasSuffix(" 0") }
        #expect(!failedOps.isEmpty, "\(text)")
        #expect(Set(BlocksEndToEndTests.blockDirs(data + "/default-tenant")).isSuperset(of: waiting.keys), "blocks not yet uploaded were deleted:\n\(proc.log)")
        #expect(proc.log.contains("shipping blocks failed; retried at the next pass"), "\(proc.log)")

        // Back (empty: moto keeps buckets in memory): the waiting blocks go up, then retention
        // lets them go.
        moto = try #require(try Self.moto(port: moto.port))
        try Self.createBucket(moto)
        try await Self.waitFor("the waiting blocks in the bucket", { proc.log }) { await Self.shipped(bucket).isSuperset(of: waiting.keys) }
        for (ulid, local) in waiting {
            let meta = try BlockMeta.parse(Data(try await bucket.get(ulid + "/meta.json")), path: ulid)
            #expect(meta.stats.numSamples == local.stats.numSamples && meta.minTime == local.minTime && meta.maxTime == local.maxTime)
        }
        // Retention keeps only the newest block once the others are in the bucket.
        let newest = try #require(waiting.max { $0.value.maxTime < $1.value.maxTime }?.key)
        try await Self.waitFor("retention after the upload", { proc.log }) {
            Set(BlocksEndToEndTests.blockDirs(data + "/default-tenant")).intersection(waiting.keys) == [newest]
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aKillMidUploadIsFinishedAtRestartAndNothingIsUploadedTwice() async throws {
        guard let binary = strataBinary(), let moto = try Self.moto() else { return }
        defer { moto.stop() }
        try Self.createBucket(moto)
        // Strata reaches moto through a gate that stops answering at the second part of a
        // chunk segment's multipart upload (`Tests/Fixtures/s3_gate.py`): the kill below lands
        // half way through that upload however busy the machine is.
        let gatePort = try Tools.freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/s3_gate.py").path
        let gate = try PythonServer(python: try #require(PythonServer.interpreter(importing: ["http.server"])), .script(script),
                                    arguments: [String(gatePort), String(moto.port), #"/chunks/000001\?.*partNumber=2"#], name: "s3-gate")
        defer { gate.stop() }
        #expect(gate.wait { gate.output.contains("gate listening") }, "\(gate.output)")
        let dir = try TempDir("strata-fault-kill"); defer { dir.remove() }
        let data = dir.file("data")
        // 5 MiB parts: the big block below goes up in a multipart upload of two parts.
        let flags = Self.fast + ["--objstore.config", Self.objstore(moto, endpoint: "127.0.0.1:\(gatePort)") + "  part_size: 5242880\n"]
        var (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("1.log"), extra: flags)
        // Every server this test starts is stopped, however it ends.
        var started = [proc]
        defer { for p in started { p.stop() } }
        let bucket = try Self.s3(moto)
        #expect(await postWrite(port: port, Self.batch(Self.base).snappyBody()) == .noContent)
        try await Self.waitFor("the first blocks in the bucket", { proc.log }) { await Self.shipped(bucket).count >= 3 }
        var firstUploads: [String: String] = [:]
        for ulid in await Self.shipped(bucket) {
            firstUploads[ulid] = ThanosMeta.from(try BlockMeta.parse(Data(try await bucket.get(ulid + "/meta.json")), path: ulid))?.uploadTime
        }

        // A block of 720k random samples (a chunk segment of about 6 MiB, two parts), in one
        // aligned minute; a later sample makes the head cut it.
        let start = (Self.base + 400_000) / 60_000 * 60_000
        // Sent in time order across the series, so the head never spans the 1.5 block ranges
        // that make it cut before the minute is complete.
        var rng = SplitMix(seed: 7)
        for slice in 0 ..< 10 {
            var b = WriteRequestBuilder()
            for s in 0 ..< 12 {
                b.add([("__name__", "big"), ("s", String(s))],
                      (slice * 6000 ..< (slice + 1) * 6000).map { (start + Int64($0), Double(rng.next() % 1_000_000_007) / 7) })
            }
            #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        }
        var tail = WriteRequestBuilder()
        tail.add([("__name__", "big"), ("s", "0")], [(start + 200_000, 1)])
        #expect(await postWrite(port: port, tail.snappyBody()) == .noContent)

        // Once the gate holds the second part, Strata is killed with the upload half done, and
        // the gate opens again for the restarted server.
        var big: String?
        try await Self.waitFor("the big block's second part", seconds: 60, { proc.log + gate.output }) {
            big = Set(BlocksEndToEndTests.blockDirs(data + "/default-tenant")).subtracting(firstUploads.keys)
                .first { gate.output.contains("/thanos/\($0)/chunks/000001?") }
            return big != nil
        }
        let interrupted = try #require(big)
        try await Task.sleep(for: .milliseconds(500))
        kill(proc.process.processIdentifier, SIGKILL)
        proc.process.waitUntilExit()
        kill(gate.process.processIdentifier, SIGUSR1)
        #expect(!(await Self.shipped(bucket)).contains(interrupted), "the upload finished before the kill")

        (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("2.log"), extra: flags)
        started.append(proc)
        try await Self.waitFor("the interrupted block in the bucket", { proc.log }) { await Self.shipped(bucket).contains(interrupted) }
        let meta = try BlockMeta.parse(Data(try await bucket.get(interrupted + "/meta.json")), path: interrupted)
        #expect(meta.stats.numSamples == 720_000)
        let segment = try await bucket.attributes(interrupted + "/chunks/000001").size
        #expect(segment > 5 << 20 && segment == (try? FileSystem.size(data + "/default-tenant/" + interrupted + "/chunks/000001")))
        for (ulid, uploadTime) in firstUploads {
            let now = ThanosMeta.from(try BlockMeta.parse(Data(try await bucket.get(ulid + "/meta.json")), path: ulid))?.uploadTime
            #expect(now == uploadTime, "\(ulid) was uploaded again")
        }
        proc.stop()
        let catalog = try BlockCatalog(dataDir: data)
        for ulid in firstUploads.keys { #expect(try catalog.attempts(ulid).map(\.outcome) == ["uploaded"], "\(ulid)") }
        #expect(try catalog.attempts(interrupted).map(\.outcome) == ["interrupted", "uploaded"])

        // A damaged catalog is set aside and rebuilt from the data directory and the bucket.
        for f in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: catalog.path + f) }
        try Data(repeating: 0xAB, count: 4096).write(to: URL(fileURLWithPath: catalog.path))
        (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("3.log"), extra: flags)
        started.append(proc)
        try await Self.waitFor("the catalog rebuilt", { proc.log }) { proc.log.contains("block catalog synced with the bucket") }
        proc.stop()
        #expect(proc.log.contains("rebuilding the block catalog"), "\(proc.log)")
        #expect(FileManager.default.fileExists(atPath: catalog.path + ".corrupt"))
        let rebuilt = try BlockCatalog(dataDir: data).blocks()
        let all = await Self.shipped(bucket)
        #expect(Set(rebuilt.filter { $0.inBucket && $0.state == .uploaded }.map(\.ulid)) == all, "\(rebuilt)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aBucketThatCannotBeUsedStopsTheServerAtStartInOneLine() async throws {
        let dir = try TempDir("strata-fault-config"); defer { dir.remove() }
        guard let binary = strataBinary(), let moto = try Self.moto() else { return }
        defer { moto.stop() }
        try Self.createBucket(moto)
        func serve(_ yaml: String) async throws -> Tools.RunResult {
            try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data"), "--http-address", "127.0.0.1:0", "--objstore.config", yaml])
        }
        func config(bucket: String = "thanos", endpoint: String, key: String = "testing", secret: String = "testing") -> String {
            "type: S3\nconfig:\n  bucket: \(bucket)\n  endpoint: \(endpoint)\n  insecure: true\n  bucket_lookup_type: path\n"
                + "  access_key: \(key)\n  secret_key: \(secret)\n  max_retries: 0\n"
        }
        let missing = try await serve(config(bucket: "nope", endpoint: moto.endpoint))
        #expect(missing.status != 0 && missing.stderr.contains("the bucket does not exist") && missing.stderr.contains("NoSuchBucket"), "\(missing.stderr)")
        let closed = try Tools.freePort()
        let unreachable = try await serve(config(endpoint: "127.0.0.1:\(closed)"))
        #expect(unreachable.status != 0 && unreachable.stderr.contains("the bucket cannot be reached"), "\(unreachable.stderr)")

        // Wrong credentials, against a moto that checks signatures (on reads without a query
        // string: moto 5 refuses every signed request with one, right or wrong, so the check's
        // read is what is refused here).
        guard let checking = try Self.moto(authActions: 3) else { return }
        defer { checking.stop() }
        let user = try checking.createUser(withBucket: "thanos")
        let wrongSecret = try await serve(config(endpoint: checking.endpoint, key: user.key, secret: user.secret + "x"))
        #expect(wrongSecret.status != 0 && wrongSecret.stderr.contains("the credentials were refused: s3 head strata-startup-check: HTTP 403"),
                "\(wrongSecret.stderr)")
        for run in [missing, unreachable, wrongSecret] {
            #expect(run.stderr.split(separator: "\n").filter { $0.contains("objstore") }.count == 1, "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("data") + "/" + BlockCatalog.fileName), "nothing is started before the check")
    }
}
