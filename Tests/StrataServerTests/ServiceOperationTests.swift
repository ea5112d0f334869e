#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataModel
import StrataServer
import StrataTestSupport
import Testing

/// Running `strata serve` as a service: one server per data directory, signals, start-up errors
/// that come first and in one line, status values from the flags.
@Suite struct ServiceOperationTests {
    static func get(_ port: Int, _ path: String) async throws -> (UInt, String) {
        let r = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(30))
        return (r.status.code, String(buffer: try await r.body.collect(upTo: 1 << 20)))
    }

    static func writeSample(_ port: Int, value: Double) async -> HTTPResponseStatus? {
        var b = WriteRequestBuilder([], metadata: [MetricMetadata(metricFamilyName: "ops_probe", type: .gauge, help: "A probe.", unit: "")])
        b.add([("__name__", "ops_probe")], [(Int64(Date().timeIntervalSince1970 * 1000), value)])
        return await postWrite(port: port, b.snappyBody())
    }

    /// A second server on a data directory in use stops at once with the path and the holder's
    /// PID, before it replays anything; so does an import into it. The first goes on unharmed.
    @Test(.timeLimit(.minutes(2)))
    func oneServerPerDataDirectory() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("ops-lock"); defer { dir.remove() }
        let data = dir.file("data")
        let (first, port) = try await startStrata(binary, dataDir: data, log: dir.file("first.log"))
        defer { first.stop() }
        #expect(await Self.writeSample(port, value: 7) == .noContent)

        let second = try await Tools.runAsync(binary, ["serve", "--http-address", "127.0.0.1:0", "--tsdb.path", data], timeout: 30)
        #expect(second.status != 0)
        let lines = second.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(second.stderr)")
        #expect(second.stderr.contains("data directory \(data) is in use by process \(first.process.processIdentifier)"), "\(second.stderr)")
        #expect(!second.stderr.contains("replaying WAL"))

        try "# TYPE m gauge\nm 1 1700000000\n# EOF\n".write(toFile: dir.file("in.om"), atomically: true, encoding: .utf8)
        let imported = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", dir.file("in.om"), data])
        #expect(imported.status != 0 && imported.stderr.contains("in use by process \(first.process.processIdentifier)"), "\(imported.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: data).allSatisfy { $0.count != 26 }, "the refused import wrote a block")

        let (status, body) = try await Self.get(port, "/api/v1/query?query=ops_probe")
        #expect(status == 200 && body.contains("\"7\""), "\(body)")
    }

    /// SIGHUP leaves the server serving, with a log line; SIGTERM logs each stage of the
    /// shutdown in order, and the next start has the data (from the head snapshot).
    @Test(.timeLimit(.minutes(2)))
    func signalsAreHandledAndLogged() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("ops-signals"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("1.log"))
        defer { proc.stop() }
        #expect(await Self.writeSample(port, value: 3) == .noContent)
        kill(proc.process.processIdentifier, SIGHUP)
        var deadline = Date().addingTimeInterval(10)
        while !proc.log.contains("SIGHUP received"), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(proc.log.contains("SIGHUP received"))
        #expect(proc.process.isRunning)
        #expect(try await Self.get(port, "/-/ready").0 == 200)

        kill(proc.process.processIdentifier, SIGTERM)
        deadline = Date().addingTimeInterval(60)
        while proc.process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!proc.process.isRunning)
        #expect(proc.process.terminationStatus == 0)
        let log = proc.log
        var at = log.startIndex
        for stage in ["SIGTERM received: shutting down", "WAL closed", "head snapshot written", "Strata stopped"] {
            guard let r = log.range(of: stage, range: at ..< log.endIndex) else {
                Issue.record("no \"\(stage)\" after the previous stage in:\n\(log)")
                break
            }
            at = r.upperBound
        }

        let (again, port2) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("2.log"))
        defer { again.stop() }
        let (status, body) = try await Self.get(port2, "/api/v1/query?query=ops_probe")
        #expect(status == 200 && body.contains("\"3\""), "\(body)")
        // Metric metadata came back too (from the head snapshot).
        let (_, metadata) = try await Self.get(port2, "/api/v1/metadata")
        #expect(metadata.contains(#""ops_probe":[{"type":"gauge","help":"A probe.","unit":""}]"#), "\(metadata)")
    }

    /// A taken port and a path that cannot be a directory are each one line, said before the data
    /// directory is touched (no WAL replay, no directory created).
    @Test(.timeLimit(.minutes(2)))
    func startUpErrorsComeFirstInOneLine() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("ops-start"); defer { dir.remove() }
        let (first, port) = try await startStrata(binary, dataDir: dir.file("first"), log: dir.file("first.log"))
        defer { first.stop() }
        let taken = try await Tools.runAsync(binary, ["serve", "--http-address", "127.0.0.1:\(port)", "--tsdb.path", dir.file("second")], timeout: 30)
        #expect(taken.status != 0)
        #expect(taken.stderr.split(separator: "\n").count == 1, "\(taken.stderr)")
        #expect(taken.stderr.contains("cannot listen on 127.0.0.1:\(port) (--http-address): Address already in use"), "\(taken.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("second")), "the refused start created its data directory")

        try "not a directory".write(toFile: dir.file("file"), atomically: true, encoding: .utf8)
        let bad = try await Tools.runAsync(binary, ["serve", "--http-address", "127.0.0.1:0", "--tsdb.path", dir.file("file/data")], timeout: 30)
        #expect(bad.status != 0)
        #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("cannot use the data directory \(dir.file("file/data")) (--tsdb.path): \(dir.file("file")) exists and is not a directory"), "\(bad.stderr)")
    }

    /// `/api/v1/status/runtimeinfo` shows the retention the flags set, as Prometheus formats it.
    @Test(arguments: [(Int64(90) * 86_400_000, 0, "90d"), (0, 1536 << 20, "1GiB512MiB"),
                      (Int64(14) * 86_400_000, 512 << 20, "2w or 512MiB"), (0, 0, "")])
    func runtimeInfoShowsTheRetentionInForce(time: Int64, size: Int, expected: String) async throws {
        var config = ServerConfig()
        config.retentionTime = time
        config.retentionSize = size
        try await withStrata(config) { port in
            let (_, body) = try await Self.get(port, "/api/v1/status/runtimeinfo")
            #expect(body.contains("\"storageRetention\":\"\(expected)\""), "\(body)")
        }
    }

    /// Prometheus' and Thanos Receive's names for the common flags work, each with a notice
    /// naming Strata's flag.
    @Test(.timeLimit(.minutes(2)))
    func prometheusFlagNamesAreAccepted() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("ops-aliases"); defer { dir.remove() }
        let p = try ChildProcess(binary, ["serve", "--storage.tsdb.path=\(dir.file("data"))", "--web.listen-address", "127.0.0.1:0",
                                          "--storage.tsdb.retention.time", "3d", "--storage.tsdb.retention.size=1GiB"],
                                 logPath: dir.file("log"))
        defer { p.stop() }
        let deadline = Date().addingTimeInterval(30)
        var port: Int?
        while port == nil, Date() < deadline, p.process.isRunning {
            if let r = p.log.range(of: "listening on 127.0.0.1:") {
                let digits = p.log[r.upperBound...].prefix(while: \.isNumber)
                if p.log[r.upperBound...].dropFirst(digits.count).contains(where: \.isNewline) { port = Int(digits) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let bound = try #require(port, "\(p.log)")
        for (alias, flag) in [("--storage.tsdb.path", "--tsdb.path"), ("--web.listen-address", "--http-address"),
                              ("--storage.tsdb.retention.time", "--tsdb.retention.time"), ("--storage.tsdb.retention.size", "--tsdb.retention.size")] {
            #expect(p.log.contains("notice: \(alias) is Prometheus' name; Strata's is \(flag) (accepted)"), "\(p.log)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.file("data/lock")))
        try await waitUntilReady(p, port: bound, name: "strata")
        let (_, body) = try await Self.get(bound, "/api/v1/status/runtimeinfo")
        #expect(body.contains("\"storageRetention\":\"3d or 1GiB\""), "\(body)")
    }

    /// dist/strata.service passes `systemd-analyze verify`, with ExecStart pointing at the binary.
    @Test func theSystemdUnitVerifies() async throws {
        guard let binary = strataBinary(), let analyze = requiredTool("systemd-analyze") else { return }
        let dir = try TempDir("ops-unit"); defer { dir.remove() }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../dist/strata.service").path
        let unit = try String(contentsOfFile: source, encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/strata serve"))
        try unit.replacingOccurrences(of: "/usr/local/bin/strata", with: binary).write(toFile: dir.file("strata.service"), atomically: true, encoding: .utf8)
        let r = try await Tools.runAsync(analyze, ["verify", dir.file("strata.service")])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")
    }

    /// `--log.format=logfmt` (the default) and `json`: every line of a real server's log parses
    /// with an independent parser (Python's logfmt package; Foundation's JSON), with the fields
    /// Prometheus' logs have.
    @Test(.timeLimit(.minutes(2)), arguments: ["logfmt", "json"])
    func logLinesParse(format: String) async throws {
        guard let binary = strataBinary(), let python = requiredTool("python3") else { return }
        let dir = try TempDir("ops-log"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("log"),
                                                 extra: ["--log.format", format, "--receive.limits-config", "write: {default: {request: {series_limit: 1}}}"])
        // A refused write logs a message with quotes, spaces and `=` in its fields.
        var b = WriteRequestBuilder()
        for s in 0 ..< 2 { b.add([("__name__", "m"), ("s", "a \"quoted\" = \(s)")], [(Int64(Date().timeIntervalSince1970 * 1000), 1)]) }
        #expect(await postWrite(port: port, b.snappyBody()) == .payloadTooLarge)
        proc.stop()
        let lines = proc.log.split(separator: "\n").map(String.init)
        #expect(lines.count >= 5, "\(proc.log)")
        var records: [[String: String]] = []
        if format == "json" {
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
                #expect(object != nil, "not a JSON object of strings: \(line)")
                records.append(object ?? [:])
            }
        } else {
            let script = "import json, logfmt, sys\nfor r in logfmt.parse(sys.stdin.read().splitlines()): print(json.dumps(r))"
            let r = try await Tools.runAsync("/bin/sh", ["-c", "\(python) -c '\(script)' < \(dir.file("log"))"])
            guard r.status == 0 else {
                Issue.record("python3 logfmt (scripts/bootstrap.sh installs it): \(r.stderr)")
                return
            }
            records = r.stdout.split(separator: "\n").map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String] ?? [:] }
            #expect(records.count == lines.count)
        }
        for r in records {
            #expect(r["ts"]?.hasSuffix("Z") == true && r["level"] != nil && r["msg"] != nil, "\(r)")
        }
        let refused = records.first { $0["msg"] == "remote write refused" }
        #expect(refused?["level"] == "warning" && refused?["tenant"] == "default-tenant", "\(records)")
        #expect(refused?["err"]?.contains("too many timeseries") == true)
        #expect(records.contains { $0["msg"] == "Strata stopped" })
    }
}
