import ArgumentParser
import Foundation
import StrataModel
import StrataTools

/// `strata loadgen`: remote-write load at any receiver, and a report of what it took.
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Drive remote-write load at any receiver (Strata, Prometheus, Thanos Receive, VictoriaMetrics, Mimir) and report what it took.",
        discussion: """
            Series are pinned to shards; each shard sends batches of up to --max-samples-per-send samples in \
            timestamp order, one request in flight, and retries 5xx, 429 and network errors as Prometheus' \
            queue manager does. Without --rate, real-time runs send one sample per series every \
            --scrape-interval and backfills (--start) go as fast as the receiver answers. docs/loadgen.md has \
            examples and explains the report.
            """
    )

    @Option(help: "Remote-write endpoint, e.g. http://127.0.0.1:9090/api/v1/write.")
    var url: String

    // Workload
    @Option(help: "Series to send (targets × the profile's series per target, the last target cut short).")
    var series = 10_000

    @Option(help: "Workload: node (node_exporter-like targets), flat (--metrics gauge families, avalanche-like) or a profile YAML file.")
    var profile = "node"

    @Option(help: "Metric families of the flat profile.")
    var metrics = 10

    @Option(name: .customLong("scrape-interval"), help: "Time between a series' samples (Prometheus duration). Default: the profile's, else 15s.")
    var scrapeInterval: String?

    @Option(name: .customLong("churn-interval"), help: "Replace --churn-fraction of the targets (new series) every this much sample time (Go duration). Default: no churn.")
    var churnInterval: String?

    @Option(name: .customLong("churn-fraction"), help: "Share of targets replaced each --churn-interval.")
    var churnFraction = 0.1

    @Option(help: "Backfill: timestamp of the first round (RFC 3339, Unix seconds, or now-<duration>); rounds are --scrape-interval apart whatever the rate. Default: real-time timestamps.")
    var start: String?

    // Pacing
    @Option(help: "Samples per second, or 'max' to send as fast as the receiver answers. Default: series / scrape interval in real time, max for a backfill.")
    var rate: String?

    @Option(help: "Stop after this long (Go duration, e.g. 15s, 2m30s).")
    var duration: String?

    @Option(name: .customLong("samples-per-series"), help: "Stop after this many samples per series.")
    var samplesPerSeries: Int64?

    @Flag(name: .customLong("pre-encode"), help: "Encode every request before sending (a backfill: needs --start and --samples-per-series; no churn; about 20 bytes of memory per sample), so sending costs the generator only HTTP, as a replay of ../shared/bench/rwload.py's bodies does.")
    var preEncode = false

    @Flag(help: "Raise the rate step by step until a step is not held, and report the highest held (the receiver's capacity).")
    var ramp = false

    @Option(name: .customLong("ramp-start-rate"), help: "First step's rate (samples/s).")
    var rampStartRate = 10_000.0

    @Option(name: .customLong("ramp-step-rate"), help: "Added to the rate after each held step. Default: the start rate.")
    var rampStepRate: Double?

    @Option(name: .customLong("ramp-step-duration"), help: "Length of a step (Go duration).")
    var rampStepDuration = "10s"

    @Option(name: .customLong("ramp-min-accepted-ratio"), help: "A step in which the receiver accepted less than this share of the target rate is not held.")
    var rampMinAcceptedRatio = 0.95

    @Option(name: .customLong("ramp-max-error-ratio"), help: "A step with more failed requests than this share is not held.")
    var rampMaxErrorRatio = 0.01

    @Option(name: .customLong("ramp-max-p99"), help: "A step whose p99 request latency is above this (Go duration) is not held.")
    var rampMaxP99 = "1s"

    @Option(name: .customLong("ramp-refinements"), help: "Bisection steps between the highest held and the lowest failed rate.")
    var rampRefinements = 3

    @Option(name: .customLong("ramp-max-rate"), help: "Stop raising at this rate.")
    var rampMaxRate: Double?

    // Protocol
    @Option(help: "Parallel shards (connections), each with one request in flight.")
    var shards = 4

    @Option(name: .customLong("max-samples-per-send"), help: "Samples per request at most (Prometheus' max_samples_per_send).")
    var maxSamplesPerSend = 2000

    @Option(name: .customLong("batch-send-deadline"), help: "A paced shard sends at least this often (Go duration; Prometheus' batch_send_deadline).")
    var batchSendDeadline = "5s"

    @Option(name: .customLong("min-backoff"), help: "First retry delay (Go duration); doubles up to --max-backoff.")
    var minBackoff = "30ms"

    @Option(name: .customLong("max-backoff"), help: "Longest retry delay (Go duration).")
    var maxBackoff = "5s"

    @Flag(name: .customLong("no-retry-on-http-429"), help: "Count 429 as a refusal instead of retrying it (Prometheus' retry_on_http_429: false).")
    var noRetryOn429 = false

    @Option(name: .customLong("remote-timeout"), help: "Timeout of one request (Go duration).")
    var remoteTimeout = "30s"

    @Flag(name: .customLong("native-histograms"), help: "Send the profile's histograms as native histograms (remote write 1.0's histograms field; the receiver must take them, e.g. Prometheus with --enable-feature=native-histograms), one series each instead of _bucket, _sum and _count.")
    var nativeHistograms = false

    @Flag(help: "Send the metric families' metadata (type, help, unit) once before the samples.")
    var metadata = false

    @Option(name: .customLong("header"), help: "Extra request header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "Tenant, sent as the THANOS-TENANT header.")
    var tenant: String?

    @Option(name: .customLong("basic-auth-username"), help: "Basic auth user.")
    var basicAuthUsername: String?

    @Option(name: .customLong("basic-auth-password-file"), help: "File holding the basic auth password.")
    var basicAuthPasswordFile: String?

    @Option(name: .customLong("bearer-token-file"), help: "File holding a bearer token.")
    var bearerTokenFile: String?

    @Option(name: .customLong("tls-ca-file"), help: "CA certificates to verify an https:// receiver.")
    var tlsCAFile = ""

    @Option(name: .customLong("tls-cert-file"), help: "Client certificate (with --tls-key-file).")
    var tlsCertFile = ""

    @Option(name: .customLong("tls-key-file"), help: "Client key.")
    var tlsKeyFile = ""

    @Flag(name: .customLong("tls-insecure-skip-verify"), help: "Do not verify the receiver's certificate.")
    var tlsInsecureSkipVerify = false

    // Report
    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    @Option(help: "After the run, read every series' sample count back through this Prometheus API base URL (count_over_time) and exit 1 if any accepted sample is missing.")
    var verify: String?

    @Option(name: .customLong("verify-timeout"), help: "Keep asking until nothing is missing or this passes (Go duration).")
    var verifyTimeout = "30s"

    @Option(name: .customLong("progress-interval"), help: "Time between progress lines (Go duration). Default: 1s on a terminal, 10s otherwise.")
    var progressInterval: String?

    @Flag(name: .customLong("timed-markers"), help: "Print '##TIMED_START <unix time>' and '##TIMED_END <unix time>' lines around the sending (the markers ../shared/bench/rwload.py prints for benchmark drivers).")
    var timedMarkers = false

    func validate() throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("--url must be an http:// or https:// URL") }
        guard series >= 1 else { throw ValidationError("--series must be at least 1") }
        guard shards >= 1 && shards <= 1000 else { throw ValidationError("--shards must be between 1 and 1000") }
        guard maxSamplesPerSend >= 1 else { throw ValidationError("--max-samples-per-send must be at least 1") }
        guard metrics >= 1 else { throw ValidationError("--metrics must be at least 1") }
        guard churnFraction > 0 && churnFraction <= 1 else { throw ValidationError("--churn-fraction must be in (0, 1]") }
        if ramp && rate != nil { throw ValidationError("--ramp sets the rate itself; use --ramp-start-rate instead of --rate") }
        if ramp && rampStartRate <= 0 { throw ValidationError("--ramp-start-rate must be positive") }
        if preEncode && (start == nil || samplesPerSeries == nil || churnInterval != nil) {
            throw ValidationError("--pre-encode needs --start and --samples-per-series, and no --churn-interval")
        }
        if (basicAuthUsername == nil) != (basicAuthPasswordFile == nil) {
            throw ValidationError("--basic-auth-username and --basic-auth-password-file go together")
        }
        if tlsCertFile.isEmpty != tlsKeyFile.isEmpty { throw ValidationError("--tls-cert-file and --tls-key-file go together") }
    }

    func run() async throws {
        let options = try makeOptions()
        let verifyTimeoutMs = try goDuration(verifyTimeout, "--verify-timeout")
        let isTTY = isatty(STDERR_FILENO) == 1
        let progressMs = try progressInterval.map { try goDuration($0, "--progress-interval") } ?? (isTTY ? 1000 : 10_000)
        let last = LastLine()
        let markers = timedMarkers
        let (result, outcomes) = try await Loadgen.run(options, progressIntervalMs: max(progressMs, 100),
                                                       onStart: { if markers { Self.mark("START") } }) { counters, elapsed, eta in
            let line = LoadgenReport.progressLine(counters, elapsed: elapsed, eta: eta, previous: last.swap(counters.samplesAccepted, elapsed))
            FileHandle.standardError.write(Data((isTTY ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
        if markers { Self.mark("END") }
        if isTTY { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        var report = result
        if let verify {
            report.verify = await LoadgenVerifier.verify(url: verify, target: options.target, workload: options.workload,
                                                         outcomes: outcomes, firstTimestampMs: result.firstTimestampMs,
                                                         lastTimestampMs: result.lastTimestampMs,
                                                         timeoutMs: verifyTimeoutMs)
        }
        print(LoadgenReport.table(report), terminator: "")
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            do { try enc.encode(report).write(to: URL(fileURLWithPath: json)) } catch {
                throw ValidationError("cannot write --json \(json): \(error)")
            }
        }
        if report.verify?.lostAnything == true { throw ExitCode(1) }
    }

    private func makeOptions() throws -> LoadgenOptions {
        let prof: WorkloadProfile
        switch profile {
        case "node": prof = .node
        case "flat": prof = .flat(metrics: metrics)
        default:
            guard let text = try? String(contentsOfFile: profile, encoding: .utf8) else {
                throw ValidationError("--profile: want node, flat or a readable profile file, not \(profile)")
            }
            do { prof = try WorkloadProfile.parse(yaml: text, file: profile) } catch { throw ValidationError("\(error)") }
        }
        var intervalMs = prof.intervalMs ?? 15_000
        if let scrapeInterval {
            do { intervalMs = try parsePrometheusDuration(scrapeInterval) } catch { throw ValidationError("--scrape-interval: \(error)") }
            guard intervalMs > 0 else { throw ValidationError("--scrape-interval must be positive") }
        }
        let churnMs = try churnInterval.map { try goDuration($0, "--churn-interval") } ?? 0
        let workload = Workload(profile: prof, series: series, intervalMs: intervalMs, churnIntervalMs: churnMs,
                                churnFraction: churnInterval == nil ? 0 : churnFraction, nativeHistograms: nativeHistograms)

        var target = RemoteWriteTarget(url: url)
        for h in headers {
            guard let colon = h.firstIndex(of: ":") else { throw ValidationError("--header wants 'Name: value', not \(h)") }
            target.headers.append((String(h[..<colon]).trimmingCharacters(in: .whitespaces),
                                   String(h[h.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        if let tenant { target.headers.append(("THANOS-TENANT", tenant)) }
        if let user = basicAuthUsername, let file = basicAuthPasswordFile {
            target.basicAuth = (user, try secret(file, "--basic-auth-password-file"))
        }
        if let bearerTokenFile { target.bearerToken = try secret(bearerTokenFile, "--bearer-token-file") }
        target.tls.caFile = tlsCAFile
        target.tls.certFile = tlsCertFile
        target.tls.keyFile = tlsKeyFile
        target.tls.insecureSkipVerify = tlsInsecureSkipVerify
        target.timeoutMs = try goDuration(remoteTimeout, "--remote-timeout")

        var o = LoadgenOptions(target: target, workload: workload)
        o.shards = shards
        o.maxSamplesPerSend = maxSamplesPerSend
        o.batchSendDeadlineMs = max(1, try goDuration(batchSendDeadline, "--batch-send-deadline"))
        o.retry.minBackoffMs = try goDuration(minBackoff, "--min-backoff")
        o.retry.maxBackoffMs = try goDuration(maxBackoff, "--max-backoff")
        o.retry.retryOnRateLimit = !noRetryOn429
        o.sendMetadata = metadata
        o.preEncode = preEncode
        o.durationMs = try duration.map { try goDuration($0, "--duration") }
        o.rounds = samplesPerSeries
        if let start { o.timestamps = .backfill(startMs: try Self.parseStart(start)) }
        if ramp {
            var r = LoadgenOptions.RampOptions(startRate: rampStartRate, stepRate: rampStepRate ?? rampStartRate)
            r.stepDurationMs = try goDuration(rampStepDuration, "--ramp-step-duration")
            r.minAcceptedRatio = rampMinAcceptedRatio
            r.maxErrorRatio = rampMaxErrorRatio
            r.maxP99Ms = Double(try goDuration(rampMaxP99, "--ramp-max-p99"))
            r.refinements = rampRefinements
            r.maxRate = rampMaxRate ?? .infinity
            o.pacing = .ramp(r)
        } else if let rate {
            if rate == "max" {
                o.pacing = .asFastAsPossible
            } else {
                guard let r = Double(rate), r > 0, r.isFinite else { throw ValidationError("--rate: want samples per second or 'max', not \(rate)") }
                o.pacing = .rate(r)
            }
        } else if start == nil {
            o.pacing = .rate(Double(series) * 1000 / Double(intervalMs))
        } else {
            o.pacing = .asFastAsPossible
        }
        if o.durationMs == nil && o.rounds == nil {
            if case .ramp = o.pacing {} else { o.durationMs = 60_000 }
        }
        return o
    }

    /// A benchmark driver's marker line, written at once (standard output may be a pipe).
    private static func mark(_ what: String) {
        FileHandle.standardOutput.write(Data(("##TIMED_" + what + String(format: " %.6f\n", Date().timeIntervalSince1970)).utf8))
    }

    private func goDuration(_ s: String, _ flag: String) throws -> Int64 {
        let ns: Int64
        do { ns = try parseGoDuration(s) } catch { throw ValidationError("\(flag): \(error)") }
        guard ns >= 0 else { throw ValidationError("\(flag) must not be negative") }
        return ns / 1_000_000
    }

    private func secret(_ file: String, _ flag: String) throws -> String {
        guard let s = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(flag) \(file)") }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `--start`: RFC 3339, Unix seconds, `now` or `now-<Prometheus duration>`, in milliseconds.
    static func parseStart(_ s: String) throws -> Int64 {
        if s == "now" { return Int64(Date().timeIntervalSince1970 * 1000) }
        if s.hasPrefix("now-") {
            do { return Int64(Date().timeIntervalSince1970 * 1000) - (try parsePrometheusDuration(String(s.dropFirst(4)))) } catch {
                throw ValidationError("--start: \(error)")
            }
        }
        if let secs = Double(s), secs.isFinite { return Int64((secs * 1000).rounded()) }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        throw ValidationError("--start: want RFC 3339, Unix seconds, now or now-<duration>, not \(s)")
    }
}

/// The previous progress line's totals, for the rate since then.
private final class LastLine: @unchecked Sendable {
    private let lock = NSLock()
    private var accepted: UInt64 = 0
    private var elapsed = 0.0

    func swap(_ a: UInt64, _ e: Double) -> (accepted: UInt64, elapsed: Double) {
        lock.lock(); defer { lock.unlock() }
        let old = (accepted, elapsed)
        accepted = a
        elapsed = e
        return old
    }
}
