import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataTestSupport
import Testing

// Helpers for tests that run `strata` as a separate process and talk to it over HTTP.

/// An external tool's path. Missing locally: the test skips; under CI (bootstrap installs it): a failure.
func requiredTool(_ name: String) -> String? {
    if let p = Tools.which(name) { return p }
    if Tools.isCI { Issue.record("\(name) is not installed (scripts/bootstrap.sh installs it)") }
    return nil
}

/// The `strata` executable built next to the test bundle (recorded as a failure when absent).
func strataBinary() -> String? {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    for candidate in [dir + "/strata", dir + "/../strata", FileManager.default.currentDirectoryPath + "/.build/debug/strata"]
    where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    Issue.record("strata binary not found next to the tests (swift build --build-tests builds it)")
    return nil
}

/// Starts `strata serve` on port 0 and waits until it is ready. The port is read from the log
/// line the server writes once bound: picking a free port first and passing it races with the
/// other tests' listeners and clients, which run in parallel.
func startStrata(_ binary: String, dataDir: String, log: String, extra: [String] = []) async throws -> (ChildProcess, Int) {
    let p = try ChildProcess(binary, ["serve", "--http-address", "127.0.0.1:0", "--tsdb.path", dataDir] + extra, logPath: log)
    // The log is read once more after the deadline: on a machine the suite keeps busy, this task
    // may wake only after it (the server had been listening for a minute when one such run gave up).
    let deadline = Date().addingTimeInterval(60)
    while true {
        if let port = boundPort(inLog: p.log) {
            try await waitUntilReady(p, port: port, name: "strata")
            return (p, port)
        }
        if !p.process.isRunning || Date() >= deadline { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    p.stop()
    throw StrataTestError("strata did not start listening:\n\(p.log)")
}

/// The port in the HTTP server's "listening on 127.0.0.1:PORT" log line.
private func boundPort(inLog log: String) -> Int? {
    let marker = "listening on 127.0.0.1:"
    guard let r = log.range(of: marker) else { return nil }
    let rest = log[r.upperBound...]
    let digits = rest.prefix(while: \.isNumber)
    // Only a whole line counts: the log may be read while the line is half written (in logfmt
    // the quoted message ends the address; the line ends later).
    let after = rest.dropFirst(digits.count)
    guard after.first == "\"" ? after.contains(where: \.isNewline) : after.first?.isNewline == true else { return nil }
    return Int(digits)
}

/// Starts a real Prometheus with `config` (prometheus.yml text, given the port it will listen on)
/// and its TSDB in `dir/prom`, on a free port, and (unless `waitReady` is false) waits until it is
/// ready. A Prometheus that scrapes itself counts those `/-/ready` calls in new series.
func startPrometheus(_ binary: String, dir: TempDir, extra: [String] = [], waitReady: Bool = true,
                     config: (_ port: Int) -> String) async throws -> (ChildProcess, Int) {
    let port = try Tools.freePort()
    try config(port).write(toFile: dir.file("prometheus.yml"), atomically: true, encoding: .utf8)
    let p = try ChildProcess(binary, [
        "--config.file=\(dir.file("prometheus.yml"))", "--storage.tsdb.path=\(dir.file("prom"))",
        "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
    ] + extra, logPath: dir.file("prometheus.log"))
    if waitReady { try await waitUntilReady(p, port: port, name: "prometheus") }
    return (p, port)
}

/// Polls `/-/ready` for up to a minute; stops the process and throws with its log if it never is.
func waitUntilReady(_ p: ChildProcess, port: Int, name: String) async throws {
    if try await pollReady(port: port, while: { p.process.isRunning }) { return }
    p.stop()
    throw StrataTestError("\(name) did not become ready:\n\(p.log)")
}

/// Polls `/-/ready` of an in-process server for up to a minute, with `authorization` if given.
func waitUntilReady(port: Int, authorization: String? = nil) async throws {
    if try await pollReady(port: port, authorization: authorization, while: { true }) { return }
    throw StrataTestError("the server on port \(port) did not become ready")
}

/// True once `/-/ready` answers 200; false after a minute (asked once more after it, for a task
/// that woke late) or when `alive` turns false.
private func pollReady(port: Int, authorization: String? = nil, while alive: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(60)
    while true {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/-/ready")
        req.method = .GET
        if let authorization { req.headers.add(name: "Authorization", value: authorization) }
        if let r = try? await HTTPClient.shared.execute(req, timeout: .seconds(2)), r.status == .ok { return true }
        if !alive() || Date() >= deadline { return false }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// GETs a path on a server on loopback: the status and the body as text (30 s: an in-process
/// server on a machine the whole suite keeps busy answers late).
func httpGet(port: Int, _ pathAndQuery: String) async throws -> (Int, String) {
    var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(pathAndQuery)")
    req.method = .GET
    let res = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
    return (Int(res.status.code), String(buffer: try await res.body.collect(upTo: 8 << 20)))
}

/// POSTs a remote-write body; nil when the request failed before a response (server killed).
func postWrite(port: Int, _ body: [UInt8]) async -> HTTPResponseStatus? {
    var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/write")
    req.method = .POST
    req.headers.add(name: "Content-Type", value: "application/x-protobuf")
    req.headers.add(name: "Content-Encoding", value: "snappy")
    req.body = .bytes(ByteBuffer(bytes: body))
    return try? await HTTPClient.shared.execute(req, timeout: .seconds(5)).status
}

/// The samples of `metric` in `promtool tsdb dump` output, whose series carry one label `s` (the
/// series number the crash tests write): lines like `{__name__="m", s="3"} 123 1700000001000`.
/// A line of that metric that does not parse is recorded as a test failure.
func dumpedSamples(_ dump: String, metric: String) -> [(line: Substring, s: Int, v: Double, t: Int64)] {
    var out: [(line: Substring, s: Int, v: Double, t: Int64)] = []
    for line in dump.split(separator: "\n") where line.hasPrefix("{__name__=\"\(metric)\"") {
        let parts = line.split(separator: " "), quoted = line.split(separator: "\"")
        guard parts.count >= 3, quoted.count > 3, let t = Int64(parts[parts.count - 1]),
              let v = Double(parts[parts.count - 2]), let s = Int(quoted[3]) else {
            Issue.record("unexpected dump line: \(line)"); continue
        }
        out.append((line, s, v, t))
    }
    return out
}

struct StrataTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// promtool's output for a query against Strata without the default tenant's label, which
/// Strata attaches to every series at query time (Thanos Receive's `tenant_id`) and Prometheus
/// does not have: what is left compares line for line with Prometheus' answer.
func withoutTenantLabel(_ promtoolOutput: String) -> String {
    promtoolOutput.replacingOccurrences(of: ", tenant_id=\"default-tenant\"", with: "")
        .replacingOccurrences(of: "{tenant_id=\"default-tenant\", ", with: "{")
        .replacingOccurrences(of: "{tenant_id=\"default-tenant\"}", with: "{}")
}
