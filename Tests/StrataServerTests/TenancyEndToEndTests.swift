import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataBlock
import StrataBlockStore
import StrataModel
import StrataObjectStore
import StrataServer
import StrataTestSupport
import StrataTSDB
import Testing

/// One TSDB per tenant, as Thanos Receive keeps them: two tenants writing the same series stay
/// apart on disk, in the bucket (their blocks carry their tenant label, so the compactor groups
/// them apart), across a restart, and, with `--query.enforce-tenancy`, in what each may read.
@Suite struct TenancyEndToEndTests {
    static func write(_ port: Int, tenant: String?, _ body: [UInt8], path: String = "/api/v1/receive") async throws -> (Int, String) {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        req.method = .POST
        req.headers.add(name: "Content-Type", value: "application/x-protobuf")
        req.headers.add(name: "Content-Encoding", value: "snappy")
        if let tenant { req.headers.add(name: "THANOS-TENANT", value: tenant) }
        req.body = .bytes(ByteBuffer(bytes: body))
        let res = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        return (Int(res.status.code), String(buffer: try await res.body.collect(upTo: 1 << 20)))
    }

    /// GET `path` as `tenant` (nil: no header); the status and the decoded JSON.
    static func get(_ port: Int, _ path: String, tenant: String? = nil) async throws -> (Int, [String: Any]) {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        req.method = .GET
        if let tenant { req.headers.add(name: "THANOS-TENANT", value: tenant) }
        let res = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let body = try await res.body.collect(upTo: 16 << 20)
        return (Int(res.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:])
    }

    /// `query` at `time` as `tenant`: each result's labels (as `{a="b", …}` sorted) and value.
    static func query(_ port: Int, _ query: String, time: Double, tenant: String? = nil) async throws -> [String: Double] {
        let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let (status, json) = try await get(port, "/api/v1/query?query=\(q)&time=\(time)", tenant: tenant)
        #expect(status == 200, "\(json)")
        var out: [String: Double] = [:]
        for r in (json["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? [] {
            let metric = (r["metric"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
            out["{" + metric.joined(separator: ", ") + "}"] = Double((r["value"] as? [Any])?.last as? String ?? "")
        }
        return out
    }

    static func data(_ json: [String: Any]) -> [String] { ((json["data"] as? [Any]) ?? []).map { "\($0)" }.sorted() }

    static let base: Int64 = 1_700_000_000_000

    /// The same series from two tenants, 5 minutes of samples 5 s apart (tenant a writes 1s, b writes 2s).
    static func batch(value: Double, metadataFor family: String? = nil) -> [UInt8] {
        var b = WriteRequestBuilder()
        b.add([("__name__", "m"), ("s", "0")], (0 ..< 60).map { (base + Int64($0) * 5000, value) })
        if let family { b.metadata = [MetricMetadata(metricFamilyName: family, type: .gauge, help: "h", unit: "")] }
        return b.snappyBody()
    }

    @Test(.timeLimit(.minutes(3)))
    func tenantsStayApartOnDiskInTheBucketAndInQueries() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-tenancy"); defer { dir.remove() }
        let data = dir.file("data")
        let end = Double(Self.base + 59 * 5000) / 1000
        var (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("1.log"), extra: BlocksEndToEndTests.fastBlocks)
        #expect(try await Self.write(port, tenant: "team-a", Self.batch(value: 1, metadataFor: "m_meta")).0 == 200)
        #expect(try await Self.write(port, tenant: "team-b", Self.batch(value: 2, metadataFor: "b_only")).0 == 200)
        // Refused names create nothing.
        for bad in ["../x", "bucket", "a/b"] {
            let (status, body) = try await Self.write(port, tenant: bad, Self.batch(value: 3))
            #expect(status == 400 && body.contains("tenant name") && body.contains("not valid"), "\(bad): \(status) \(body)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("x")))

        // Without enforcement every tenant is read, each series with its tenant label.
        let both = try await Self.query(port, "m", time: end)
        #expect(both == [#"{__name__="m", s="0", tenant_id="team-a"}"#: 1, #"{__name__="m", s="0", tenant_id="team-b"}"#: 2])
        #expect(try await Self.query(port, #"sum by (tenant_id) (count_over_time(m{tenant_id="team-b"}[10m]))"#, time: end)
            == [#"{tenant_id="team-b"}"#: 60])
        let (_, values) = try await Self.get(port, "/api/v1/label/tenant_id/values")
        #expect(Self.data(values) == ["team-a", "team-b"])
        // Head statistics add up the tenants' heads.
        let (_, status) = try await Self.get(port, "/api/v1/status/tsdb")
        #expect(((status["data"] as? [String: Any])?["headStats"] as? [String: Any])?["numSeries"] as? Int == 2, "\(status)")

        // Each tenant's own directory, WAL and blocks; the blocks reach the bucket with the tenant label.
        let bucketDir = data + "/bucket"
        func shipped() -> [String: String] {
            var out: [String: String] = [:]
            for ulid in BlocksEndToEndTests.blockDirs(bucketDir) {
                guard let json = try? Data(contentsOf: URL(fileURLWithPath: bucketDir + "/" + ulid + "/meta.json")),
                      let meta = try? BlockMeta.parse(json, path: ulid), let thanos = ThanosMeta.from(meta) else { continue }
                out[ulid] = thanos.labels["tenant_id"]
            }
            return out
        }
        let deadline = Date().addingTimeInterval(30)
        while Set(shipped().values) != ["team-a", "team-b"] && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let inBucket = shipped()
        for tenant in ["team-a", "team-b"] {
            #expect(FileManager.default.fileExists(atPath: data + "/\(tenant)/wal"))
            let local = Set(BlocksEndToEndTests.blockDirs(data + "/" + tenant))
            #expect(!local.isEmpty && local.allSatisfy { inBucket[$0] == tenant || inBucket[$0] == nil }, "\(tenant): \(local) \(inBucket)")
        }
        #expect(!FileManager.default.fileExists(atPath: data + "/wal"), "no single-tenant WAL beside the tenants")
        // Different external labels: different compaction groups, as Thanos' compactor keys them.
        let blocks = try await BucketBlocks.list(try FilesystemBucket(directory: bucketDir))
        #expect(Set(blocks.compactMap { $0.thanos.map { BucketBlocks.streamKey($0.labels) } }).count == 2, "\(blocks.map(\.thanos?.labels))")
        proc.stop()

        // After a restart, with reads confined to the tenant the header names.
        (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("2.log"),
                                             extra: BlocksEndToEndTests.fastBlocks + ["--query.enforce-tenancy"])
        defer { proc.stop() }
        #expect(try await Self.query(port, "m", time: end, tenant: "team-a") == [#"{__name__="m", s="0", tenant_id="team-a"}"#: 1])
        #expect(try await Self.query(port, "m", time: end, tenant: "team-b") == [#"{__name__="m", s="0", tenant_id="team-b"}"#: 2])
        // A selector naming the other tenant is rewritten, not obeyed (prom-label-proxy).
        #expect(try await Self.query(port, #"m{tenant_id="team-b"}"#, time: end, tenant: "team-a") == [#"{__name__="m", s="0", tenant_id="team-a"}"#: 1])
        #expect(try await Self.query(port, #"count_over_time(m[10m])"#, time: end, tenant: "team-b") == [#"{s="0", tenant_id="team-b"}"#: 60])
        // No header: the default tenant, which has nothing.
        #expect(try await Self.query(port, "m", time: end).isEmpty)
        let (_, series) = try await Self.get(port, "/api/v1/series?match[]=m", tenant: "team-b")
        #expect(Self.data(series).count == 1 && Self.data(series)[0].contains("team-b"), "\(series)")
        let (_, tenants) = try await Self.get(port, "/api/v1/label/tenant_id/values", tenant: "team-a")
        #expect(Self.data(tenants) == ["team-a"])
        // Head statistics, metadata and federation are the tenant's own too.
        let (_, ownStatus) = try await Self.get(port, "/api/v1/status/tsdb", tenant: "team-a")
        #expect(((ownStatus["data"] as? [String: Any])?["headStats"] as? [String: Any])?["numSeries"] as? Int == 1, "\(ownStatus)")
        let (_, noneStatus) = try await Self.get(port, "/api/v1/status/tsdb", tenant: "nobody")
        #expect(((noneStatus["data"] as? [String: Any])?["headStats"] as? [String: Any])?["numSeries"] as? Int == 0, "\(noneStatus)")
        let (_, metadata) = try await Self.get(port, "/api/v1/metadata", tenant: "team-a")
        #expect((metadata["data"] as? [String: Any])?["m_meta"] != nil && (metadata["data"] as? [String: Any])?["b_only"] == nil, "\(metadata)")
        // Federation serves samples from the last lookback window: fresh ones from both tenants.
        for tenant in ["team-a", "team-b"] {
            var fresh = WriteRequestBuilder()
            fresh.add([("__name__", "fresh")], [(Int64(Date().timeIntervalSince1970 * 1000), 1)])
            #expect(try await Self.write(port, tenant: tenant, fresh.snappyBody()).0 == 200)
        }
        var fed = HTTPClientRequest(url: "http://127.0.0.1:\(port)/federate?match%5B%5D=fresh")
        fed.headers.add(name: "THANOS-TENANT", value: "team-b")
        let federated = String(buffer: try await HTTPClient.shared.execute(fed, timeout: .seconds(30)).body.collect(upTo: 1 << 20))
        #expect(federated.contains(#"tenant_id="team-b""#) && !federated.contains("team-a"), "\(federated)")
        let (badStatus, bad) = try await Self.get(port, "/api/v1/query?query=m", tenant: "../x")
        #expect(badStatus == 400 && "\(bad)".contains("not valid"), "\(bad)")
        // /metrics names each tenant.
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
        req.method = .GET
        let metrics = String(buffer: try await HTTPClient.shared.execute(req, timeout: .seconds(30)).body.collect(upTo: 16 << 20))
        #expect(metrics.contains("strata_tenants{state=\"open\"} 2\n") && metrics.contains(#"strata_head_series{tenant="team-a"}"#), "\(metrics)")
    }

    /// A data directory from before tenants (WAL and blocks at its top) is moved into the
    /// default tenant's directory at start, and its data is served under that tenant.
    @Test(.timeLimit(.minutes(2)))
    func aSingleTenantDataDirectoryMovesIntoTheDefaultTenant() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-legacy"); defer { dir.remove() }
        let data = dir.file("data")
        // A block (from an import) and a WAL, both at the top of the data directory.
        try "# TYPE old counter\nold_total{s=\"0\"} 5 1700000000\nold_total{s=\"0\"} 6 1700000060\n# EOF\n"
            .write(toFile: dir.file("in.om"), atomically: true, encoding: .utf8)
        let imported = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", dir.file("in.om"), data])
        #expect(imported.status == 0, "\(imported.stderr)")
        try? FileManager.default.removeItem(atPath: data + "/lock")
        let wal = try WAL(dir: data + "/wal")
        let head = Head(wal: wal)
        let app = head.appender()
        app.append(Labels([("__name__", "recent"), ("s", "0")]), [Sample(t: 1_700_000_120_000, v: 7)])
        try app.commit()
        try wal.close()
        let blocks = BlocksEndToEndTests.blockDirs(data)
        #expect(blocks.count == 1)

        let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("1.log"), extra: ["--no-shipper"])
        defer { proc.stop() }
        #expect(proc.log.contains("moved the data directory's single-tenant layout"), "\(proc.log)")
        #expect(BlocksEndToEndTests.blockDirs(data).isEmpty && BlocksEndToEndTests.blockDirs(data + "/default-tenant") == blocks)
        #expect(FileManager.default.fileExists(atPath: data + "/default-tenant/wal") && !FileManager.default.fileExists(atPath: data + "/wal"))
        #expect(try await Self.query(port, "old_total", time: 1_700_000_060) == [#"{__name__="old_total", s="0", tenant_id="default-tenant"}"#: 6])
        #expect(try await Self.query(port, "recent", time: 1_700_000_120) == [#"{__name__="recent", s="0", tenant_id="default-tenant"}"#: 7])
    }

    /// `--receive.split-tenant-label-name`: a series' own label names its tenant and is removed;
    /// series without it stay with the request's tenant; a label naming no valid tenant refuses
    /// that series (409) and stores the others.
    @Test func aSeriesLabelCanNameItsTenant() async throws {
        var config = ServerConfig()
        config.splitTenantLabel = "team"
        config.shipping = false
        try await withStrata(config) { port in
            let t = Self.base
            var b = WriteRequestBuilder()
            b.add([("__name__", "m"), ("team", "a")], [(t, 1)])
            b.add([("__name__", "m"), ("team", "b")], [(t, 2)])
            b.add([("__name__", "m"), ("team", "a"), ("x", "y")], [(t, 4)])
            b.add([("__name__", "m")], [(t, 3)])
            #expect(try await Self.write(port, tenant: "hdr", b.snappyBody()).0 == 200)
            #expect(try await Self.query(port, "m", time: Double(t) / 1000) == [
                #"{__name__="m", tenant_id="a"}"#: 1, #"{__name__="m", tenant_id="b"}"#: 2,
                #"{__name__="m", tenant_id="a", x="y"}"#: 4, #"{__name__="m", tenant_id="hdr"}"#: 3,
            ])
            var bad = WriteRequestBuilder()
            bad.add([("__name__", "n"), ("team", "../x")], [(t, 1)])
            bad.add([("__name__", "n"), ("team", "a")], [(t, 5)])
            let (status, body) = try await Self.write(port, tenant: nil, bad.snappyBody())
            #expect(status == 409 && body.contains("does not name a valid tenant"), "\(status) \(body)")
            #expect(try await Self.query(port, "n", time: Double(t) / 1000) == [#"{__name__="n", tenant_id="a"}"#: 5])
        }
    }

    /// A tenant without writes for `--tsdb.tenant-idle-timeout` is flushed into blocks and closed
    /// (no WAL, head freed); its data stays queryable and its next write opens it again.
    @Test(.timeLimit(.minutes(2)))
    func anIdleTenantIsFlushedClosedAndOpenedAgainByAWrite() async throws {
        var config = ServerConfig()
        config.tenantIdleTimeout = 300
        config.compactionInterval = 50
        config.shipping = false
        let dir = try TempDir("strata-idle"); defer { dir.remove() }
        let data = dir.file("data")
        config.tsdbPath = data
        try await withStrata(config) { port in
            let t = Self.base
            var b = WriteRequestBuilder()
            b.add([("__name__", "m"), ("s", "0")], (0 ..< 10).map { (t + Int64($0) * 1000, Double($0)) })
            #expect(try await Self.write(port, tenant: "sleepy", b.snappyBody()).0 == 200)
            let deadline = Date().addingTimeInterval(20)
            while FileManager.default.fileExists(atPath: data + "/sleepy/wal") && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!FileManager.default.fileExists(atPath: data + "/sleepy/wal"), "the idle tenant was not closed")
            #expect(BlocksEndToEndTests.blockDirs(data + "/sleepy").count == 1)
            let metrics = try await Tools.runAsync("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout
            #expect(metrics.contains(#"strata_tenants{state="closed"} 1"#), "\(metrics)")
            // Its samples now come from the flushed block.
            #expect(try await Self.query(port, "count_over_time(m[1m])", time: Double(t + 9000) / 1000) == [#"{s="0", tenant_id="sleepy"}"#: 10])
            // A later write opens it again, right after the flushed block's end.
            var more = WriteRequestBuilder()
            more.add([("__name__", "m"), ("s", "0")], [(t + 10_000, 10)])
            #expect(try await Self.write(port, tenant: "sleepy", more.snappyBody()).0 == 200)
            #expect(FileManager.default.fileExists(atPath: data + "/sleepy/wal"))
            #expect(try await Self.query(port, "count_over_time(m[1m])", time: Double(t + 10_000) / 1000) == [#"{s="0", tenant_id="sleepy"}"#: 11])
        }
    }

    /// `head_series_limit` counts the series in the writing tenant's own head.
    @Test func theHeadSeriesLimitCountsEachTenantsOwnHead() async throws {
        var config = ServerConfig()
        config.shipping = false
        config.limitsConfig = "write:\n  default:\n    head_series_limit: 1\n"
        try await withStrata(config) { port in
            func body(_ s: String) -> [UInt8] {
                var b = WriteRequestBuilder()
                b.add([("__name__", "m"), ("s", s)], [(Self.base, 1)])
                return b.snappyBody()
            }
            #expect(try await Self.write(port, tenant: "a", body("0")).0 == 200)
            #expect(try await Self.write(port, tenant: "b", body("0")).0 == 200, "a's series count against b")
            let (status, message) = try await Self.write(port, tenant: "a", body("1"))
            #expect(status == 429 && message.contains("head_series_limit 1"), "\(status) \(message)")
        }
    }

    /// A WAL at the top of the data directory and one in the default tenant's directory: the
    /// start is refused with the two paths, and neither is moved or opened.
    @Test func aDataDirectoryWithBothLayoutsIsRefusedNotMerged() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-both-layouts"); defer { dir.remove() }
        let data = dir.file("data")
        for wal in [data + "/wal", data + "/default-tenant/wal"] {
            try FileManager.default.createDirectory(atPath: wal, withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: wal + "/00000000"))
        }
        let r = try await Tools.runAsync(binary, ["serve", "--tsdb.path", data, "--http-address", "127.0.0.1:0", "--no-shipper"], timeout: 60)
        #expect(r.status != 0 && r.stderr.contains("\(data)/wal and \(data)/default-tenant/wal both exist"), "\(r.stderr)")
        for wal in [data + "/wal", data + "/default-tenant/wal"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: wal + "/00000000")) == Data([1, 2, 3]), "\(wal) was touched")
        }
    }
}
