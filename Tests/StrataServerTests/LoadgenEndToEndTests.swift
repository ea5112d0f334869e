import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StrataEncoding
import StrataModel
import StrataRemote
import StrataTestSupport
import StrataTools
import Synchronization
import Testing

/// What a test receiver saw: every request with its answer, and the samples of the answered-2xx
/// ones (a receiver that stored them would hold exactly these).
final class ReceiverLog: Sendable {
    struct Request: Sendable {
        var at: ContinuousClock.Instant
        var samples: Int
        var status: Int
        var bodyHash: UInt64
    }
    private let state = Mutex<(requests: [Request], stored: [Labels: [Int64]])>(([], [:]))
    private let counter = Atomic<Int>(0)

    /// The next request's number, from 0.
    func nextIndex() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue }

    var requests: [Request] { state.withLock { $0.requests } }
    var stored: [Labels: [Int64]] { state.withLock { $0.stored } }

    func record(_ r: Request, stored samples: [(Labels, [Sample])]) {
        state.withLock { s in
            s.requests.append(r)
            for (l, ss) in samples { s.stored[l, default: []] += ss.map(\.t) }
        }
    }
}

/// A remote-write receiver on 127.0.0.1:0 that decodes each request as Strata does and answers
/// `answer(requestIndex, samples)`: status and headers, after an optional delay.
func withTestReceiver(_ answer: @escaping @Sendable (Int, Int) async -> (HTTPResponse.Status, HTTPFields),
                      _ body: @Sendable @escaping (Int, ReceiverLog) async throws -> Void) async throws {
    let log = ReceiverLog()
    let router = Router()
    router.post("/api/v1/write") { request, _ -> Response in
        let bytes = try await request.body.collect(upTo: 64 << 20)
        let storage = MemoryStorage()
        let appender = storage.appender()
        let summary = try bytes.withUnsafeReadableBytes { raw in
            try WriteRequestDecoder().decode(snappyBody: raw, maxDecodedBytes: 64 << 20, into: appender)
        }
        try appender.commit()
        let index = log.nextIndex()
        let (status, headers) = await answer(index, summary.samplesAccepted)
        let hash = bytes.withUnsafeReadableBytes { XXH64.hash($0) }
        log.record(.init(at: .now, samples: summary.samplesAccepted, status: status.code, bodyHash: hash),
                   stored: status.kind == .successful ? storage.allSeries : [])
        return Response(status: status, headers: headers)
    }
    let (ports, cont) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test-receiver")
    logger.logLevel = .warning
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { ch in cont.yield(ch.localAddress?.port ?? 0); cont.finish() }, logger: logger)
    let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { g in
        g.addTask { try await group.run() }
        var it = ports.makeAsyncIterator()
        let port = try #require(await it.next())
        do { try await body(port, log) } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await g.waitForAll()
    }
}

/// Options for a backfill of `series` flat-profile series, `rounds` samples each, 15 s apart.
private func backfill(_ url: String, series: Int, rounds: Int64, profile: WorkloadProfile = .flat(metrics: 10),
                      startMs: Int64 = alignedStart(minutesAgo: 10)) -> LoadgenOptions {
    var o = LoadgenOptions(target: RemoteWriteTarget(url: url),
                           workload: Workload(profile: profile, series: series, intervalMs: 15_000))
    o.timestamps = .backfill(startMs: startMs)
    o.rounds = rounds
    o.pacing = .asFastAsPossible
    return o
}

/// A start `minutesAgo` minutes back, on a 15 s boundary (receivers take recent samples only).
private func alignedStart(minutesAgo: Int64) -> Int64 {
    let ms = Int64(Date().timeIntervalSince1970 * 1000) - minutesAgo * 60_000
    return ms - ms % 15_000
}

/// One at a time: each runs a generator and a receiver flat out (some as child processes), and
/// together they would starve the other suites' in-process servers on a 2-core machine.
@Suite(.serialized) struct LoadgenEndToEndTests {
    /// A scripted receiver answers 500, 429 with Retry-After, 400, 413 and 503 among 204s: the
    /// retryable ones are retried with the same bytes (after the backoff, or Retry-After), the
    /// others refuse their batch for good, and every count agrees with what the receiver stored.
    @Test(.timeLimit(.minutes(2)))
    func retriesExactlyTheRetryableStatusesAndCountsEachSampleOnce() async throws {
        let script: [Int: (HTTPResponse.Status, HTTPFields)] = [
            0: (.internalServerError, [:]),
            1: (.tooManyRequests, [.retryAfter: "1"]),
            3: (.badRequest, [:]),
            4: (.contentTooLarge, [:]),
            6: (.serviceUnavailable, [:]),
        ]
        try await withTestReceiver({ i, _ in script[i] ?? (.noContent, [:]) }) { port, log in
            var o = backfill("http://127.0.0.1:\(port)/api/v1/write", series: 100, rounds: 4)
            o.shards = 1
            o.maxSamplesPerSend = 50
            let (r, _) = try await Loadgen.run(o)
            let reqs = log.requests
            // 8 batches of 50; the 1st sent three times (500, 429, 204), the 5th twice (503, 204).
            #expect(reqs.map(\.status) == [500, 429, 204, 400, 413, 204, 503, 204, 204, 204, 204])
            #expect(r.requests == 11 && r.retries == 3)
            #expect(r.responsesByStatus == ["204": 6, "400": 1, "413": 1, "429": 1, "500": 1, "503": 1])
            #expect(r.samplesSent == 400)
            #expect(r.samplesAccepted == 300)
            #expect(r.samplesRefusedByStatus == ["400": 50, "413": 50])
            #expect(r.samplesAbandoned == 0)
            #expect(Set(reqs[0 ... 2].map(\.bodyHash)).count == 1, "a retry resends the same batch")
            #expect(reqs[6].bodyHash == reqs[7].bodyHash)
            #expect(Set(reqs.map(\.bodyHash)).count == 8)
            #expect(reqs[1].at - reqs[0].at >= .milliseconds(30), "min backoff")
            #expect(reqs[2].at - reqs[1].at >= .milliseconds(1000), "Retry-After: 1")
            // What the receiver stored is what the report counts as accepted, each sample once.
            let stored = log.stored
            #expect(stored.values.reduce(0) { $0 + $1.count } == 300)
            #expect(stored.values.allSatisfy { Set($0).count == $0.count })
        }
        // With retry_on_http_429 off, 429 refuses like any 4xx.
        try await withTestReceiver({ i, _ in i == 0 ? (.tooManyRequests, [.retryAfter: "1"]) : (.noContent, [:]) }) { port, log in
            var o = backfill("http://127.0.0.1:\(port)/api/v1/write", series: 100, rounds: 1)
            o.shards = 1
            o.maxSamplesPerSend = 50
            o.retry.retryOnRateLimit = false
            let (r, _) = try await Loadgen.run(o)
            #expect(log.requests.count == 2)
            #expect(r.samplesRefusedByStatus == ["429": 50] && r.samplesAccepted == 50 && r.retries == 0)
        }
    }

    /// A receiver that takes at most R samples/s (it holds each request until the rate allows it)
    /// stops the ramp within 10% of R. Both run as processes of their own (the CLI and
    /// `Tests/Fixtures/throttled_receiver.py`), so the parallel tests' work on this process'
    /// threads cannot pass for the receiver's limit.
    @Test(.timeLimit(.minutes(2)))
    func rampFindsTheRateAThrottledReceiverHolds() async throws {
        guard let strata = strataBinary(), let python = PythonServer.interpreter(importing: ["snappy"]) else {
            if Tools.isCI { Issue.record("python-snappy is missing (scripts/bootstrap.sh installs it)") }
            return
        }
        let capacity = 4000.0
        let port = try Tools.freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/throttled_receiver.py").path
        let receiver = try PythonServer(python: python, .script(script), arguments: [String(port), String(capacity)], name: "throttled")
        defer { receiver.stop() }
        #expect(receiver.wait { PythonServer.answers("http://127.0.0.1:\(port)/") }, "\(receiver.output)")
        let dir = try TempDir("loadgen-ramp"); defer { dir.remove() }
        let run = try await Tools.runAsync(strata, [
            "loadgen", "--url", "http://127.0.0.1:\(port)/api/v1/write", "--profile", "flat", "--series", "1000",
            "--scrape-interval", "1s", "--shards", "2", "--max-samples-per-send", "40", "--ramp", "--ramp-start-rate", "1000",
            "--ramp-step-duration", "3s", "--ramp-refinements", "3", "--json", dir.file("r.json"),
        ])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let r = try JSONDecoder().decode(LoadgenResult.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("r.json"))))
        let steps = (r.ramp ?? []).map { "\(Int($0.targetRate)): \(Int($0.acceptedRate)) \($0.held)" }
        let found = try #require(r.capacity, "\(steps)")
        #expect(abs(found - capacity) <= 0.1 * capacity, "capacity \(found); steps \(steps)")
        #expect(r.ramp?.contains { !$0.held } == true)
        #expect(run.stdout.contains("capacity"), "\(run.stdout)")
    }

    /// Over TLS with a client certificate and basic auth (Strata's web config), the CLI's TLS and
    /// credential flags reach the server for the writes and for `--verify`; without credentials
    /// every batch is refused 401 for good, not retried.
    @Test(.timeLimit(.minutes(2)))
    func tlsClientCertificateAndBasicAuth() async throws {
        guard let strata = strataBinary() else { return }
        try await WebTLSTests.withTLSStrata(clientCertificates: true) { port, pki, _ in
            try "alice-pw\n".write(toFile: pki.dir.file("password"), atomically: true, encoding: .utf8)
            let tls = ["--tls-ca-file", pki.dir.file("ca.crt"), "--tls-cert-file", pki.dir.file("client.crt"),
                       "--tls-key-file", pki.dir.file("client.key")]
            let common = ["loadgen", "--url", "https://localhost:\(port)/api/v1/write", "--series", "220",
                          "--samples-per-series", "3", "--start", "now-2m"] + tls
            let ok = try await Tools.runAsync(strata, common + [
                "--basic-auth-username", "alice", "--basic-auth-password-file", pki.dir.file("password"),
                "--verify", "https://localhost:\(port)", "--json", pki.dir.file("ok.json"),
            ])
            #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
            let accepted = try JSONDecoder().decode(LoadgenResult.self, from: Data(contentsOf: URL(fileURLWithPath: pki.dir.file("ok.json"))))
            #expect(accepted.samplesAccepted == 660 && accepted.verify?.samplesHeld == 660 && accepted.verify?.samplesLost == 0)
            let refused = try await Tools.runAsync(strata, common + ["--json", pki.dir.file("refused.json")])
            #expect(refused.status == 0, "\(refused.stdout)\(refused.stderr)")
            let r = try JSONDecoder().decode(LoadgenResult.self, from: Data(contentsOf: URL(fileURLWithPath: pki.dir.file("refused.json"))))
            #expect(r.samplesRefusedByStatus == ["401": 660] && r.retries == 0 && r.samplesAccepted == 0)
        }
    }

    /// Churn replaces half the targets every 30 s of sample time: Strata then holds exactly the
    /// distinct series the run made, and `--verify` finds every accepted sample.
    @Test(.timeLimit(.minutes(2)))
    func churnedSeriesAreAllHeldAndCounted() async throws {
        try await withStrata { port in
            var o = backfill("http://127.0.0.1:\(port)/api/v1/write", series: 200, rounds: 10)
            o.workload = Workload(profile: .flat(metrics: 10), series: 200, intervalMs: 15_000,
                                  churnIntervalMs: 30_000, churnFraction: 0.5)
            let (r, outcomes) = try await Loadgen.run(o)
            // 20 targets of 10 series; epochs 1…4 each replace 10 targets: 200 + 4 × 100 series.
            #expect(r.seriesSent == 600)
            #expect(r.samplesAccepted == 2000)
            #expect(try await seriesSet(port, job: "loadgen").count == 600)
            let v = await LoadgenVerifier.verify(url: "http://127.0.0.1:\(port)", target: o.target, workload: o.workload,
                                                 outcomes: outcomes, firstTimestampMs: r.firstTimestampMs,
                                                 lastTimestampMs: r.lastTimestampMs, timeoutMs: 5000)
            #expect(v.error == nil && v.samplesLost == 0 && v.series == 600 && v.samplesHeld == 2000)
        }
    }

    /// The node profile at a fixed rate into Strata, and `../shared/bench/rwload.py` with the same
    /// size into a second Strata: both hold the same series with the same sample counts, and each
    /// generator's accepted count is what its server holds.
    @Test(.timeLimit(.minutes(3)))
    func fixedRateRunMatchesRwloadOnStrata() async throws {
        guard let rwload = await requiredRwload() else { return }
        let start = alignedStart(minutesAgo: 10)
        try await withStrata { a in
            try await withStrata { b in
                var o = backfill("http://127.0.0.1:\(a)/api/v1/write", series: 2200, rounds: 20, profile: .node, startMs: start)
                o.pacing = .rate(20_000)
                let (r, outcomes) = try await Loadgen.run(o)
                #expect(r.samplesAccepted == 44_000)
                #expect(r.acceptedPerSecond <= 20_000 * 1.1, "the rate is a ceiling: \(r.acceptedPerSecond)")
                let v = await LoadgenVerifier.verify(url: "http://127.0.0.1:\(a)", target: o.target, workload: o.workload,
                                                     outcomes: outcomes, firstTimestampMs: r.firstTimestampMs,
                                                     lastTimestampMs: r.lastTimestampMs, timeoutMs: 5000)
                #expect(v.error == nil && v.samplesLost == 0 && v.samplesHeld == 44_000 && v.series == 2200)

                let dir = try TempDir("rwload"); defer { dir.remove() }
                let run = try await Tools.runAsync("/usr/bin/env", [
                    "python3", rwload, "--url", "http://127.0.0.1:\(b)/api/v1/write", "--series", "2200", "--samples", "20",
                    "--start-ms", String(start), "--json", dir.file("r.json"),
                ], timeout: 120)
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("r.json")))) as? [String: Any])
                #expect((json["send"] as? [String: Any])?["samples_2xx"] as? Int == 44_000)

                // Server B holds, series by series, what loadgen's run left in server A.
                let vb = await LoadgenVerifier.verify(url: "http://127.0.0.1:\(b)", target: o.target, workload: o.workload,
                                                      outcomes: outcomes, firstTimestampMs: r.firstTimestampMs,
                                                      lastTimestampMs: r.lastTimestampMs, timeoutMs: 5000)
                #expect(vb.error == nil && vb.samplesLost == 0 && vb.samplesExtra == 0 && vb.samplesHeld == 44_000)
                let setA = try await seriesSet(a, job: "node"), setB = try await seriesSet(b, job: "node")
                #expect(setA.count == 2200)
                #expect(setA == setB, "the node profile makes rwload.py's series")
            }
        }
    }

    /// The CLI against a real Prometheus 2.42 (remote-write receiver on): the report's accepted
    /// count equals what Prometheus holds (`--verify`), with metadata sent first and the requests
    /// encoded before a paced sending (`--pre-encode`); verifying against
    /// a server that holds nothing exits 1; bad flags exit 64 with the reason.
    @Test(.timeLimit(.minutes(3)))
    func cliAgainstPrometheusVerifiesWhatItHolds() async throws {
        guard let strata = strataBinary(), let prometheus = requiredTool("prometheus") else { return }
        let dir = try TempDir("loadgen-prometheus"); defer { dir.remove() }
        let (prom, promPort) = try await startPrometheus(prometheus, dir: dir, extra: ["--web.enable-remote-write-receiver"]) { _ in
            "global:\n  scrape_interval: 1h\n"
        }
        let start = alignedStart(minutesAgo: 5)
        let run = try await Tools.runAsync(strata, [
            "loadgen", "--url", "http://127.0.0.1:\(promPort)/api/v1/write", "--series", "1100", "--samples-per-series", "12",
            "--start", String(Double(start) / 1000), "--rate", "10000", "--metadata", "--pre-encode",
            "--verify", "http://127.0.0.1:\(promPort)", "--json", dir.file("r.json"),
        ])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("lost 0 (0 series, 0 missing)"), "\(run.stdout)")
        let report = try JSONDecoder().decode(LoadgenResult.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("r.json"))))
        #expect(report.samplesAccepted == 13_200)
        #expect(report.metadataStatus.map { $0 / 100 == 2 } == true)
        #expect(report.verify?.samplesHeld == 13_200 && report.verify?.series == 1100)
        #expect(report.firstTimestampMs == start && report.lastTimestampMs == start + 11 * 15_000)
        #expect(report.preEncodeSeconds != nil && report.samplesSent == 13_200)

        // Verified against a server that holds none of it: exit status 1, the loss reported.
        try await withStrata { empty in
            let lost = try await Tools.runAsync(strata, [
                "loadgen", "--url", "http://127.0.0.1:\(promPort)/api/v1/write", "--series", "110", "--samples-per-series", "2",
                "--start", "now-1m", "--verify", "http://127.0.0.1:\(empty)", "--verify-timeout", "0s",
            ])
            #expect(lost.status == 1, "\(lost.stdout)\(lost.stderr)")
            #expect(lost.stdout.contains("lost 220 (110 series, 110 missing)"), "\(lost.stdout)")
        }
        await prom.stopAsync()

        for (args, message) in [
            (["--rate", "fast"], "--rate: want samples per second or 'max', not fast"),
            (["--duration", "5"], #"--duration: time: missing unit in duration "5""#),
            (["--ramp", "--rate", "5"], "--ramp sets the rate itself"),
            (["--profile", "/nonexistent.yml"], "--profile: want node, flat or a readable profile file"),
            (["--churn-fraction", "2"], "--churn-fraction must be in (0, 1]"),
            (["--pre-encode", "--duration", "5s"], "--pre-encode needs --start and --samples-per-series"),
        ] {
            let bad = try await Tools.runAsync(strata, ["loadgen", "--url", "http://127.0.0.1:1/api/v1/write"] + args)
            #expect(bad.status == 64, "\(args): \(bad.stderr)")
            #expect(bad.stderr.contains(message), "\(args): \(bad.stderr)")
        }
    }
}

extension LoadgenEndToEndTests {
    /// `--native-histograms` against Prometheus 2.42 with native histograms on: every histogram is
    /// accepted (so Prometheus' validation of spans and counts passes) and held (`--verify`), and
    /// Prometheus' own histogram functions read what the profile describes: the mean observation is
    /// the middle bound, the median that of the exponential distribution, the count the rate's.
    /// Strata, which does not store native histograms, refuses them with 400 and the reason.
    @Test(.timeLimit(.minutes(3)))
    func nativeHistogramsAreHeldByPrometheusAndReadAsTheProfileSays() async throws {
        guard let strata = strataBinary(), let prometheus = requiredTool("prometheus") else { return }
        let dir = try TempDir("loadgen-native"); defer { dir.remove() }
        try """
            job: api
            metrics:
              - name: rpc_duration_seconds
                type: histogram
                rate: 100
                buckets: [0.01, 0.05, 0.25, 1, 5]
                labels: {handler: 3}
              - name: rpc_total
                type: counter
            """.write(toFile: dir.file("p.yml"), atomically: true, encoding: .utf8)
        let (prom, promPort) = try await startPrometheus(
            prometheus, dir: dir, extra: ["--web.enable-remote-write-receiver", "--enable-feature=native-histograms"]) { _ in
            "global:\n  scrape_interval: 1h\n"
        }
        let start = alignedStart(minutesAgo: 8)
        let run = try await Tools.runAsync(strata, [
            "loadgen", "--url", "http://127.0.0.1:\(promPort)/api/v1/write", "--profile", dir.file("p.yml"), "--series", "40",
            "--native-histograms", "--samples-per-series", "20", "--start", String(Double(start) / 1000), "--max-samples-per-send", "50",
            "--verify", "http://127.0.0.1:\(promPort)", "--json", dir.file("r.json"),
        ])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let report = try JSONDecoder().decode(LoadgenResult.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("r.json"))))
        #expect(report.samplesAccepted == 800 && report.verify?.samplesHeld == 800 && report.verify?.series == 40)

        let at = String(Double(report.lastTimestampMs) / 1000)
        func values(_ q: String) async throws -> [Double] {
            let (status, body) = try await httpGet(port: promPort, "/api/v1/query?query=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&time=\(at)")
            #expect(status == 200, "\(body)")
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let rows = (json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            return rows.compactMap { (($0["value"] as? [Any])?[1] as? String).flatMap(Double.init) }
        }
        let means = try await values("histogram_sum(rpc_duration_seconds) / histogram_count(rpc_duration_seconds)")
        #expect(means.count == 30 && means.allSatisfy { abs($0 - 0.25) < 1e-9 }, "\(means)")
        // 100 observations/s, 19 scrape intervals of 15 s since the first (empty) histogram; ±30% noise per scrape.
        let counts = try await values("histogram_count(rpc_duration_seconds)")
        #expect(counts.count == 30 && counts.allSatisfy { abs($0 / 28_500 - 1) < 0.25 }, "\(counts)")
        // The median of an exponential distribution with mean 0.25 is 0.25 ln 2 ≈ 0.173; buckets
        // of schema 3 are 9% wide.
        let medians = try await values("histogram_quantile(0.5, rate(rpc_duration_seconds[5m]))")
        #expect(medians.count == 30 && medians.allSatisfy { abs($0 / (0.25 * log(2.0)) - 1) < 0.12 }, "\(medians)")
        await prom.stopAsync()

        try await withStrata { port in
            let refused = try await Tools.runAsync(strata, [
                "loadgen", "--url", "http://127.0.0.1:\(port)/api/v1/write", "--profile", dir.file("p.yml"), "--series", "40",
                "--native-histograms", "--samples-per-series", "2", "--start", "now-1m", "--json", dir.file("s.json"),
            ])
            #expect(refused.status == 0, "\(refused.stderr)")
            let r = try JSONDecoder().decode(LoadgenResult.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("s.json"))))
            #expect(r.samplesAccepted == 0 && r.samplesRefusedByStatus == ["400": 80], "\(r.samplesRefusedByStatus)")
            #expect(r.firstErrors.first?.contains("native histograms are not supported yet") == true, "\(r.firstErrors)")
        }
    }
}

/// The label sets `/api/v1/series` lists for `{job="…"}` (uncompressed: the shared client refuses
/// gzip that shrinks as well as these repetitive lists do).
private func seriesSet(_ port: Int, job: String) async throws -> Set<Labels> {
    var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/series?match%5B%5D=%7Bjob%3D%22\(job)%22%7D&start=0")
    req.headers.add(name: "Accept-Encoding", value: "identity")
    let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
    let body = try await resp.body.collect(upTo: 64 << 20)
    let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
    return Set(((json?["data"] as? [[String: String]]) ?? []).map { Labels($0) })
}

/// `../shared/bench/rwload.py` and the Python modules it needs; a failure under CI when missing.
func requiredRwload() async -> String? {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [ProcessInfo.processInfo.environment["STRATA_RWLOAD"],
                      repo.deletingLastPathComponent().appendingPathComponent("shared/bench/rwload.py").path,
                      "/work/shared/bench/rwload.py"].compactMap { $0 }
    guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        if Tools.isCI { Issue.record("../shared/bench/rwload.py not found (set STRATA_RWLOAD)") }
        return nil
    }
    guard let check = try? await Tools.runAsync("/usr/bin/env", ["python3", "-c", "import numpy, snappy"]), check.status == 0 else {
        if Tools.isCI { Issue.record("rwload.py needs numpy and python-snappy (scripts/bootstrap.sh installs them)") }
        return nil
    }
    return path
}
