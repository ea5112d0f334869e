import Foundation
import StrataServer
import StrataTestSupport
import Testing

@Suite struct CommandLineTests {
    @Test func httpAddressParsing() throws {
        var c = ServerConfig()
        try c.setHTTPAddress("0.0.0.0:9090")
        #expect(c.httpHost == "0.0.0.0" && c.httpPort == 9090)
        try c.setHTTPAddress("[::1]:10902")
        #expect(c.httpHost == "::1" && c.httpPort == 10902)
        try c.setHTTPAddress(":8080")
        #expect(c.httpHost == "0.0.0.0" && c.httpPort == 8080)
        for bad in ["localhost", "host:port", "h:70000", ""] {
            #expect(throws: ConfigError.self, "\(bad)") { try c.setHTTPAddress(bad) }
        }
    }

    /// Bad flag values stop `strata serve` before it touches the data dir, with a message naming the flag.
    @Test(arguments: [
        (["--tsdb.wal-fsync", "sometimes"], "--tsdb.wal-fsync"),
        (["--tsdb.wal-fsync-interval", "soon"], "--tsdb.wal-fsync-interval"),
        (["--tsdb.head-snapshot-interval", "-1m"], "--tsdb.head-snapshot-interval"),
        (["--query.lookback-delta", "0s"], "--query.lookback-delta"),
        (["--query.timeout", "forever"], "--query.timeout"),
        (["--query.max-samples", "0"], "--query.max-samples"),
        (["--enable-feature", "time-travel"], "--enable-feature"),
        (["--query.max-concurrency", "0"], "--query.max-concurrency"),
        (["--tsdb.block-duration", "10s"], "--tsdb.block-duration"),
        (["--tsdb.retention.time", "a while"], "--tsdb.retention.time"),
        (["--tsdb.too-far-in-future.time-window", "tomorrow"], "--tsdb.too-far-in-future.time-window"),
        (["--tsdb.retention.size", "10 parsecs"], "--tsdb.retention.size"),
        (["--tsdb.compaction-interval", "0s"], "--tsdb.compaction-interval"),
        (["--storage.remote.read-sample-limit", "-1"], "--storage.remote.read-sample-limit"),
        (["--storage.remote.read-max-bytes-in-frame", "0"], "--storage.remote.read-max-bytes-in-frame"),
        (["--http-address", "nowhere"], "--http-address"),
        (["--log.level", "loud"], "--log.level"),
        (["--log.format", "xml"], "--log.format"),
        (["--shipper.interval", "0s"], "--shipper.interval"),
        (["--receive.tenant-label-name", "bad-name"], "--receive.tenant-label-name"),
        (["--receive.split-tenant-label-name", "1team"], "--receive.split-tenant-label-name"),
        (["--receive.tenant-certificate-field", "serialNumber"], "--receive.tenant-certificate-field"),
        (["--receive.tenant-certificate-field", "organization"], "--receive.tenant-certificate-field organization needs client certificates"),
        (["--label", "tenant_id=\"x\""], "clashes with the tenant label"),
        (["--tsdb.tenant-idle-timeout", "-1s"], "--tsdb.tenant-idle-timeout"),
        (["--query.log-slow", "slowly"], "--query.log-slow"),
        (["--query.tenant-header", "a b"], "--query.tenant-header"),
        (["--query.tenant-label-name", "1x"], "--query.tenant-label-name"),
        (["--receive.tenant-header", ""], "--receive.tenant-header"),
        (["--receive.default-tenant-id", "bucket"], "--receive.default-tenant-id"),
        (["--query.default-tenant-id", "../x"], "--query.default-tenant-id"),
        (["--store.cache-size", "lots"], "--store.cache-size"),
        (["--store.sync-interval", "often"], "--store.sync-interval"),
        (["--store.ignore-deletion-marks-delay", "-1h"], "--store.ignore-deletion-marks-delay"),
        (["--query.replica-label", "replica-1"], "--query.replica-label"),
        (["--compact", "--no-shipper"], "--compact"),
        (["--compact.wait-interval", "0s"], "--compact.wait-interval"),
        (["--delete-delay", "two days"], "--delete-delay"),
        (["--consistency-delay", "soon"], "--consistency-delay"),
        (["--retention.resolution-raw", "-1d"], "--retention.resolution-raw"),
        (["--retention.resolution-1h", "1 year"], "--retention.resolution-1h"),
        (["--retention.resolution-raw", "1d"], "--retention.resolution-raw 1d is shorter than 40h"),
        (["--retention.resolution-5m", "7d"], "--retention.resolution-5m 7d is shorter than 10d"),
        (["--receive.default-tenant-id", "../x"], "--receive.default-tenant-id"),
        (["--receive.tenant-header", "Bad Header"], "--receive.tenant-header"),
        (["--receive.limits-config", "write: {default: {head_series_limit: lots}}"], "--receive.limits-config"),
        (["--receive.limits-config-file", "/nonexistent/limits.yml"], "--receive.limits-config-file /nonexistent/limits.yml"),
        (["--receive.limits-config", "{}", "--receive.limits-config-file", "x"], "cannot both be given"),
    ])
    func invalidFlagsAreRejected(args: [String], flag: String) async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-flags"); defer { dir.remove() }
        let r = try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data")] + args, timeout: 30)
        #expect(r.status != 0)
        #expect(r.stderr.contains(flag), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("data")), "a rejected start must not create the data dir")
    }

    @Test(.timeLimit(.minutes(2)))
    func walInspectPrintsWhatWasWritten() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-inspect"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("log"))
        var b = WriteRequestBuilder()
        for i in 0 ..< 3 { b.add([("__name__", "m"), ("i", String(i))], [(1000, 1), (5000, 2)]) }
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        proc.stop()
        let r = try await Tools.runAsync(binary, ["tsdb", "wal-inspect", dir.file("data/default-tenant")])
        #expect(r.status == 0, "\(r.stderr)")
        let total = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("total") })
        #expect(total.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            .suffix(4) == ["3", "6", "1000", "5000"], "\(total)")
        // The server's data directory itself has tenants, not a WAL: the tools say which to pass.
        for tool in [["wal-inspect"], ["list"], ["dump"], ["analyze"]] {
            let top = try await Tools.runAsync(binary, ["tsdb"] + tool + [dir.file("data")])
            #expect(top.status != 0 && top.stderr.contains("data directory with tenants (default-tenant)"), "\(tool): \(top.stderr)")
        }
        let missing = try await Tools.runAsync(binary, ["tsdb", "wal-inspect", dir.file("nope")])
        #expect(missing.status != 0 && missing.stderr.contains("No such file or directory"))
    }

    /// `strata tsdb import openmetrics`, then `list`, `analyze` and `dump` on what it wrote; and
    /// each of them refusing bad input with a message and a non-zero exit, writing nothing.
    @Test(.timeLimit(.minutes(2)))
    func tsdbCommandsWorkAndRefuseBadInput() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-tsdb-cli"); defer { dir.remove() }
        try "# TYPE m gauge\nm{a=\"x\"} 1 1700000000\nm{a=\"x\"} 2 1700000015\nm{a=\"y\"} 3 1700007300\n# EOF\n"
            .write(toFile: dir.file("good.om"), atomically: true, encoding: .utf8)
        let imported = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", dir.file("good.om"), dir.file("data")])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("wrote 2 blocks with 3 samples"))

        let list = try await Tools.runAsync(binary, ["tsdb", "list", dir.file("data")])
        #expect(list.status == 0 && list.stdout.split(separator: "\n").count == 3, "\(list.stdout)\(list.stderr)")
        let analyze = try await Tools.runAsync(binary, ["tsdb", "analyze", "--limit", "5", dir.file("data")])
        #expect(analyze.status == 0 && analyze.stdout.contains("Series: 1"), "\(analyze.stdout)\(analyze.stderr)")
        let dump = try await Tools.runAsync(binary, ["tsdb", "dump", "--match", "m{a=\"x\"}", dir.file("data")])
        #expect(dump.stdout == "{__name__=\"m\", a=\"x\"} 1 1700000000000\n{__name__=\"m\", a=\"x\"} 2 1700000015000\n", "\(dump.stdout)\(dump.stderr)")

        for (args, message) in [
            (["list", dir.file("nope")], "nope"),
            (["analyze", dir.file("data"), "01HQ00000000000000000000ZZ"], "block 01HQ00000000000000000000ZZ not found"),
            (["analyze", "--limit", "0", dir.file("data")], "--limit must be positive"),
            (["dump", "--match", "m{", dir.file("data")], "invalid --match"),
            (["import", "openmetrics", "--block-duration", "soon", dir.file("good.om"), dir.file("out")], "--block-duration"),
        ] {
            let r = try await Tools.runAsync(binary, ["tsdb"] + args)
            #expect(r.status != 0 && r.stderr.contains(message), "tsdb \(args): \(r.stderr)")
        }
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        let none = try await Tools.runAsync(binary, ["tsdb", "analyze", dir.file("empty")])
        #expect(none.status != 0 && none.stderr.contains("no blocks found"))
        // A bad file names its line, exits non-zero and writes no block.
        try "m 1 1700000000\nm 0 1699999999\n# EOF\n".write(toFile: dir.file("bad.om"), atomically: true, encoding: .utf8)
        let bad = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", dir.file("bad.om"), dir.file("out")])
        #expect(bad.status != 0 && bad.stderr.contains("line 2") && bad.stderr.contains("out of order"), "\(bad.stderr)")
        // (The directory holds the import's lock file, nothing else.)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir.file("out"))) ?? []).allSatisfy { $0 == "lock" })
    }
}
