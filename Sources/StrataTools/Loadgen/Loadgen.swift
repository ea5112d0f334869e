import AsyncHTTPClient
import Foundation
import NIOCore
import StrataEncoding
import StrataModel
import Synchronization

/// Everything a load-generator run needs; `strata loadgen` fills it from flags.
public struct LoadgenOptions: Sendable {
    public enum Pacing: Sendable {
        /// A fixed rate, samples per second.
        case rate(Double)
        /// Closed loop: every shard sends its next batch as soon as the previous one is answered.
        case asFastAsPossible
        /// Raise the rate step by step until a step is not held; see `RampOptions`.
        case ramp(RampOptions)
    }

    public enum Timestamps: Sendable {
        /// Each scrape round stamped with the wall-clock time it is (scheduled to be) sent.
        case realTime
        /// Rounds stamped `startMs + round × interval`, however fast they are sent.
        case backfill(startMs: Int64)
    }

    public struct RampOptions: Sendable {
        public var startRate: Double
        public var stepRate: Double
        public var stepDurationMs: Int64 = 10_000
        /// A step is held when the receiver accepted at least `minAcceptedRatio` of the target rate
        /// (less what the shards' batches hold back at the step's two ends), failed requests are
        /// at most `maxErrorRatio` of all and the p99 latency is at most `maxP99Ms`.
        public var minAcceptedRatio = 0.95
        public var maxErrorRatio = 0.01
        public var maxP99Ms: Double = 1_000
        /// Bisection steps between the last held and the first failed rate.
        public var refinements = 3
        public var maxRate: Double = .infinity
        public init(startRate: Double, stepRate: Double) { self.startRate = startRate; self.stepRate = stepRate }
    }

    public var target: RemoteWriteTarget
    public var workload: Workload
    public var shards = 4
    public var maxSamplesPerSend = 2000
    /// A paced shard sends at least this often, as Prometheus' `batch_send_deadline`.
    public var batchSendDeadlineMs: Int64 = 5_000
    public var pacing: Pacing = .asFastAsPossible
    public var timestamps: Timestamps = .realTime
    /// Stop after this long (nil: only `rounds` stops the run).
    public var durationMs: Int64?
    /// Stop after this many samples per series (scrape rounds).
    public var rounds: Int64?
    public var retry = RetryPolicy()
    /// Send the metric families' metadata once before the samples.
    public var sendMetadata = false
    /// How long a failing batch is still retried after the run's end before it counts as abandoned.
    public var retryGraceMs: Int64 = 10_000
    /// Encode and compress every request before sending (a backfill of `rounds` without churn:
    /// acknowledgements count against the series' last generation): the timed phase then costs
    /// the generator only the HTTP exchanges, as a replay of bytes does.
    public var preEncode = false

    public init(target: RemoteWriteTarget, workload: Workload) {
        self.target = target
        self.workload = workload
    }
}

/// What a run did: the report's numbers. Encoded as `--json`.
public struct LoadgenResult: Codable, Sendable {
    public struct RampStep: Codable, Sendable {
        public var targetRate: Double
        public var acceptedRate: Double
        /// How far the furthest shard was behind its schedule at the step's end, seconds.
        public var lagSeconds: Double
        public var errorRatio: Double
        public var p99Ms: Double
        public var held: Bool
    }

    public var url: String
    public var series: Int
    public var seriesSent: Int
    public var shards: Int
    public var wallSeconds: Double
    public var requests: UInt64
    public var responsesByStatus: [String: UInt64]
    public var transportErrors: UInt64
    public var retries: UInt64
    public var samplesSent: UInt64
    public var samplesAccepted: UInt64
    public var samplesRefusedByStatus: [String: UInt64]
    public var samplesAbandoned: UInt64
    public var acceptedPerSecond: Double
    public var wireBytes: UInt64
    public var latencyMs: [String: Double]
    /// Accepted samples in each second of the run.
    public var timeline: [UInt64]
    /// The sending phase's CPU (the encoding included, unless it was done before: `preEncode*`).
    public var generatorCPUSeconds: Double
    public var generatorCPUSecondsPerMillionSamples: Double
    public var preEncodeSeconds: Double?
    public var preEncodeCPUSeconds: Double?
    public var firstTimestampMs: Int64
    public var lastTimestampMs: Int64
    public var metadataStatus: Int?
    public var ramp: [RampStep]?
    /// The highest target rate a ramp step held.
    public var capacity: Double?
    public var firstErrors: [String]
    public var verify: LoadgenVerifier.Result?
}

/// Drives remote-write load at a receiver: series pinned to shards, each shard one request in
/// flight at a time, batches of up to `maxSamplesPerSend` samples in timestamp order, retried as
/// Prometheus retries. `run` returns when the run ends; `onStart` is called when sending starts
/// (series prepared, metadata sent), `progress` about once per `progressIntervalMs` with the
/// counters so far.
public enum Loadgen {
    public static func run(_ o: LoadgenOptions, progressIntervalMs: Int64 = 1000, onStart: @Sendable () -> Void = {},
                           progress: @escaping @Sendable (LoadgenCounters, Double, Double?) -> Void = { _, _, _ in })
        async throws -> (result: LoadgenResult, shards: [ShardOutcome]) {
        precondition(o.shards >= 1 && o.maxSamplesPerSend >= 1)
        let shards = o.workload.makeShards(o.shards).filter { $0.count > 0 }
        let http = try o.target.makeClient(for: o.target.url, connections: o.shards)
        do {
            let out = try await run(o, shards: shards, http: http, progressIntervalMs: progressIntervalMs, onStart: onStart,
                                    progress: progress)
            try? await http.shutdown()
            return out
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private static func run(_ o: LoadgenOptions, shards: [ShardSeries], http: HTTPClient, progressIntervalMs: Int64,
                            onStart: @Sendable () -> Void, progress: @escaping @Sendable (LoadgenCounters, Double, Double?) -> Void)
        async throws -> (result: LoadgenResult, shards: [ShardOutcome]) {
        let w = o.workload
        let client = RemoteWriteClient(http: http, target: o.target)

        var metadataStatus: Int?
        if o.sendMetadata {
            let body = metadataRequest(w).withUnsafeBytes { compress($0) }
            metadataStatus = await client.post(body).status ?? 0
        }

        let firstTs: Int64
        switch o.timestamps {
        case .realTime: firstTs = nowMs()
        case let .backfill(s): firstTs = s
        }
        var prepared: [PreparedBatches?] = shards.map { _ in nil }
        var preEncode: (seconds: Double, cpu: Double)?
        if o.preEncode {
            let (cpu0, t0) = (processCPUSeconds(), ContinuousClock.now)
            prepared = shards.map { PreparedBatches(shard: $0, options: o, firstTs: firstTs) }
            preEncode = ((ContinuousClock.now - t0).seconds, processCPUSeconds() - cpu0)
        }

        onStart()
        let cpu0 = processCPUSeconds()
        let start = ContinuousClock.now
        let stats = LoadgenStats(start: start)
        let initialRate: Double?
        switch o.pacing {
        case let .rate(r): initialRate = r
        case .asFastAsPossible: initialRate = nil
        case let .ramp(r): initialRate = r.startRate
        }
        let control = Control(rate: initialRate)

        var rampSteps: [LoadgenResult.RampStep]?
        var capacity: Double?
        let outcomes = try await withThrowingTaskGroup(of: Side.self) { g -> [ShardOutcome] in
            for (i, shard) in shards.enumerated() {
                let batches = prepared[i]
                g.addTask(executorPreference: EventLoopExecutor(http.eventLoopGroup.next())) {
                    let sender = ShardSender(index: i, shard: shard, prepared: batches, options: o, client: client, stats: stats,
                                             control: control, firstTs: firstTs,
                                             seriesShare: Double(shard.count) / Double(max(w.count, 1)))
                    return .shard(await sender.run())
                }
            }
            g.addTask {
                // The run's clock: the duration, progress lines, and the end of the ramp.
                let deadline = o.durationMs.map { start + .milliseconds($0) }
                var next = start + .milliseconds(progressIntervalMs)
                while !control.stopped {
                    try? await Task.sleep(until: min(next, deadline ?? next), clock: .continuous)
                    if let deadline, ContinuousClock.now >= deadline { control.stop(graceMs: o.retryGraceMs); break }
                    if ContinuousClock.now >= next {
                        let eta = deadline.map { max(0, ($0 - ContinuousClock.now).seconds) }
                        progress(stats.total, (ContinuousClock.now - start).seconds, eta)
                        next = next + .milliseconds(progressIntervalMs)
                    }
                }
                return .clock
            }
            if case let .ramp(r) = o.pacing {
                g.addTask {
                    .ramp(await rampController(r, shards: shards.count, maxSamplesPerSend: o.maxSamplesPerSend,
                                               batchSendDeadlineMs: o.batchSendDeadlineMs, control: control, stats: stats,
                                               graceMs: o.retryGraceMs))
                }
            }
            var out: [ShardOutcome] = []
            var running = shards.count
            for try await side in g {
                switch side {
                case let .shard(s):
                    out.append(s)
                    running -= 1
                    // Every shard done (its rounds sent): the run is over.
                    if running == 0 {
                        control.stop(graceMs: 0)
                        g.cancelAll()   // wakes the clock and the ramp from their sleeps
                    }
                case let .ramp(r):
                    rampSteps = r.steps
                    capacity = r.capacity
                case .clock: break
                }
            }
            return out
        }
        let wall = (ContinuousClock.now - start).seconds
        let cpu = processCPUSeconds() - cpu0
        let t = stats.total
        let p = { (q: Double) in Double(t.latency.quantile(q)) / 1000 }
        let result = LoadgenResult(
            url: o.target.url, series: w.count,
            seriesSent: outcomes.reduce(0) { $0 + $1.accepted.filter { $0.accepted > 0 }.count },
            shards: o.shards, wallSeconds: wall, requests: t.requests,
            responsesByStatus: Dictionary(uniqueKeysWithValues: t.responses.map { (String($0.key), $0.value) }),
            transportErrors: t.transportErrors, retries: t.retries, samplesSent: t.samplesSent,
            samplesAccepted: t.samplesAccepted,
            samplesRefusedByStatus: Dictionary(uniqueKeysWithValues: t.samplesRefused.map { (String($0.key), $0.value) }),
            samplesAbandoned: t.samplesAbandoned,
            acceptedPerSecond: wall > 0 ? Double(t.samplesAccepted) / wall : 0, wireBytes: t.bytesSent,
            latencyMs: ["p50": p(0.5), "p90": p(0.9), "p99": p(0.99), "max": Double(t.latency.maxMicros) / 1000],
            timeline: stats.timeline, generatorCPUSeconds: cpu,
            generatorCPUSecondsPerMillionSamples: t.samplesSent > 0 ? cpu / (Double(t.samplesSent) / 1e6) : 0,
            preEncodeSeconds: preEncode?.seconds, preEncodeCPUSeconds: preEncode?.cpu,
            firstTimestampMs: outcomes.map(\.firstTimestamp).min() ?? firstTs,
            lastTimestampMs: outcomes.map(\.lastTimestamp).max() ?? firstTs,
            metadataStatus: metadataStatus, ramp: rampSteps, capacity: capacity, firstErrors: t.firstErrors, verify: nil)
        return (result, outcomes)
    }

    private enum Side: Sendable {
        case shard(ShardOutcome)
        case ramp(RampOutcome)
        case clock
    }

    struct RampOutcome: Sendable {
        var steps: [LoadgenResult.RampStep]
        var capacity: Double?
    }

    /// Runs steps of `stepDurationMs`: up by `stepRate` while steps are held, then bisects between
    /// the highest held and the lowest failed rate `refinements` times.
    private static func rampController(_ r: LoadgenOptions.RampOptions, shards: Int, maxSamplesPerSend: Int,
                                       batchSendDeadlineMs: Int64, control: Control, stats: LoadgenStats,
                                       graceMs: Int64) async -> RampOutcome {
        var rate = r.startRate
        var held: Double?, failed: Double?
        var refinements = 0
        var steps: [LoadgenResult.RampStep] = []
        while !control.stopped {
            control.setRate(rate)
            _ = stats.takeStep()
            let stepStart = ContinuousClock.now
            try? await Task.sleep(for: .milliseconds(r.stepDurationMs))
            if control.stopped { break }
            let c = stats.takeStep()
            let seconds = (ContinuousClock.now - stepStart).seconds
            let accepted = Double(c.samplesAccepted) / seconds
            let errors = c.requests > 0 ? Double(c.failedRequests) / Double(c.requests) : 0
            let p99 = Double(c.latency.quantile(0.99)) / 1000
            let lag = control.maxLagSeconds
            // Batches not yet full when the step ends, and requests in flight when it began,
            // move up to one batch per shard each across the step's edges.
            let inBatches = 2 * min(Double(shards * maxSamplesPerSend), rate * Double(batchSendDeadlineMs) / 1000)
            let ok = Double(c.samplesAccepted) >= r.minAcceptedRatio * rate * seconds - inBatches
                && errors <= r.maxErrorRatio && p99 <= r.maxP99Ms
            steps.append(.init(targetRate: rate, acceptedRate: accepted, lagSeconds: lag, errorRatio: errors, p99Ms: p99, held: ok))
            if ok { held = max(held ?? 0, rate) } else { failed = min(failed ?? .infinity, rate) }
            if let failed {
                if refinements >= r.refinements { break }
                refinements += 1
                rate = ((held ?? 0) + failed) / 2
            } else {
                rate += r.stepRate
                if rate > r.maxRate { break }
            }
        }
        control.stop(graceMs: graceMs)
        return RampOutcome(steps: steps, capacity: held)
    }

    /// `WriteRequest { repeated MetricMetadata metadata = 3; }` for every family of the workload.
    static func metadataRequest(_ w: Workload) -> [UInt8] {
        var out: [UInt8] = []
        for m in w.metadata {
            let type: UInt64
            switch m.type {
            case .counter: type = 1
            case .gauge, .constant: type = 2
            case .histogram: type = 3
            }
            var md = ProtoBytes.varintField(1, type) + ProtoBytes.field(2, Array(m.name.utf8))
            if !m.help.isEmpty { md += ProtoBytes.field(4, Array(m.help.utf8)) }
            if !m.unit.isEmpty { md += ProtoBytes.field(5, Array(m.unit.utf8)) }
            out += ProtoBytes.field(3, md)
        }
        return out
    }
}

/// What one shard did, for the report and `--verify`.
public struct ShardOutcome: Sendable {
    public var accepted: [(series: Int, generation: UInt32, accepted: UInt32)]
    public var firstTimestamp: Int64
    public var lastTimestamp: Int64
}

/// The run's shared switches: the target rate (changed by the ramp) and the stop.
final class Control: Sendable {
    private struct State {
        var rate: Double?
        var rateVersion = 0
        var stopped = false
        var abandonAt: ContinuousClock.Instant?
        /// Per shard: how far behind its schedule it was at its latest send.
        var lag: [Int: Double] = [:]
    }
    private let state: Mutex<State>

    init(rate: Double?) { state = Mutex(State(rate: rate)) }

    var stopped: Bool { state.withLock { $0.stopped } }
    var rate: (Double?, Int) { state.withLock { ($0.rate, $0.rateVersion) } }

    /// Whether a failing batch should give up now.
    var abandon: Bool { state.withLock { s in s.abandonAt.map { ContinuousClock.now >= $0 } ?? false } }

    /// A new rate restarts every shard's schedule, so lags start again from nothing.
    func setRate(_ r: Double) { state.withLock { $0.rate = r; $0.rateVersion += 1; $0.lag = [:] } }

    func reportLag(shard: Int, seconds: Double) { state.withLock { $0.lag[shard] = seconds } }

    var maxLagSeconds: Double { state.withLock { $0.lag.values.max() ?? 0 } }

    func stop(graceMs: Int64) {
        state.withLock { s in
            guard !s.stopped else { return }
            s.stopped = true
            s.abandonAt = ContinuousClock.now + .milliseconds(graceMs)
        }
    }
}

/// One shard's loop: encode a batch, wait for its time (paced runs), send it until it is accepted,
/// refused or abandoned, count it.
struct ShardSender {
    let index: Int
    let shard: ShardSeries
    /// With `preEncode`: the shard's requests, sent in order instead of encoding.
    let prepared: PreparedBatches?
    let options: LoadgenOptions
    let client: RemoteWriteClient
    let stats: LoadgenStats
    let control: Control
    let firstTs: Int64
    /// This shard's part of the run's rate: its series over all series.
    let seriesShare: Double

    func run() async -> ShardOutcome {
        let writer = ProtoWriter(capacity: options.maxSamplesPerSend * 160)
        let w = options.workload
        let intervalMs = w.intervalMs
        let roundLimit = options.rounds ?? .max
        var lastTs = Int64.min
        var firstSent: Int64?
        // The pacing schedule, restarted whenever the ramp changes the rate.
        var scheduleStart = ContinuousClock.now
        var scheduleWallMs = nowMs()
        var scheduleBase: Int64 = 0
        var rateVersion = -1
        var shardRate: Double?
        let churnMs = w.churnIntervalMs
        let epochOf: (Int64) -> Int64 = { ts in churnMs > 0 ? max(0, (ts - firstTs) / churnMs) : 0 }

        // A paced shard sends what is due: a full batch as soon as one is due, else what is due
        // once the oldest due sample has waited the batch deadline, and what is due at the end.
        // Prepared batches are sent whole, once all their samples are due.
        var endedAt: ContinuousClock.Instant?
        while true {
            if let prepared, prepared.isEmpty { break }
            let cursor = prepared?.position ?? shard.position
            if endedAt == nil && control.stopped { endedAt = ContinuousClock.now }
            let (rate, version) = control.rate
            if version != rateVersion && endedAt == nil {
                rateVersion = version
                shardRate = rate.map { $0 * seriesShare }
                scheduleStart = ContinuousClock.now
                scheduleWallMs = nowMs()
                scheduleBase = cursor
            }
            var limit = prepared?.count ?? options.maxSamplesPerSend
            if let r = shardRate, r > 0 {
                let now = endedAt ?? ContinuousClock.now
                let due = scheduleBase + Int64((now - scheduleStart).seconds * r)
                let ready = due - cursor
                if endedAt == nil && ready < Int64(limit) {
                    let at = { (position: Int64) in scheduleStart + .nanoseconds(Int64(Double(position - scheduleBase) / r * 1e9)) }
                    var sendAt = at(cursor + Int64(limit))
                    if prepared == nil { sendAt = min(sendAt, at(cursor + 1) + .milliseconds(options.batchSendDeadlineMs)) }
                    if now < sendAt {
                        try? await Task.sleep(until: min(sendAt, now + .milliseconds(100)), clock: .continuous)
                        continue
                    }
                }
                if ready < (prepared == nil ? 1 : Int64(limit)) { if endedAt != nil { break } else { continue } }
                // Behind schedule by what is due beyond this batch: the ramp's measure of keeping up.
                control.reportLag(shard: index, seconds: Double(max(0, ready - Int64(limit))) / r)
                if prepared == nil { limit = Int(min(ready, Int64(limit))) }
            } else if endedAt != nil {
                break
            }
            let p0: Int64, n: Int, body: ByteBuffer
            if let prepared {
                (p0, n, body) = prepared.take()
            } else {
                let n64 = Int64(shard.count)
                let timestamp: (Int64) -> Int64 = { round in
                    var ts: Int64
                    switch options.timestamps {
                    case let .backfill(s): ts = s + round * intervalMs
                    case .realTime:
                        if let r = shardRate, r > 0 {
                            ts = scheduleWallMs + Int64(Double(round * n64 - scheduleBase) / r * 1000)
                        } else {
                            ts = nowMs()
                        }
                    }
                    ts = max(ts, lastTs &+ 1)
                    lastTs = ts
                    if firstSent == nil { firstSent = ts }
                    return ts
                }
                p0 = shard.position
                writer.reset()
                n = shard.encode(into: writer, limit: limit, roundLimit: roundLimit, timestamp: timestamp, epochOf: epochOf)
                if n == 0 { break }
                body = compress(writer.bytes)
            }
            let decision = await send(body, samples: n)
            if decision == .accepted { shard.acknowledge(from: p0, count: n) }
        }
        if let prepared { (firstSent, lastTs) = (prepared.firstTimestamp, prepared.lastTimestamp) }
        return ShardOutcome(accepted: shard.acceptedBySeries, firstTimestamp: firstSent ?? firstTs,
                            lastTimestamp: lastTs == .min ? firstTs : lastTs)
    }

    /// Sends one batch with Prometheus' retries; returns how it ended.
    private func send(_ body: ByteBuffer, samples: Int) async -> RetryPolicy.Decision {
        var backoff = options.retry.minBackoffMs
        var attempt = 0
        while true {
            let response = await client.post(body)
            stats.attempt(samples: samples, bytes: body.readableBytes, response: response, retry: attempt > 0)
            let decision = options.retry.decide(status: response.status, retryAfter: response.retryAfter)
            switch decision {
            case .accepted, .refused:
                stats.settled(samples: samples, decision: decision, status: response.status)
                return decision
            case let .retry(afterMs):
                let sleep = afterMs ?? backoff
                if control.abandon {
                    stats.settled(samples: samples, decision: decision, status: response.status)
                    return decision
                }
                try? await Task.sleep(for: .milliseconds(sleep))
                backoff = min(sleep * 2, options.retry.maxBackoffMs)
                attempt += 1
            }
        }
    }
}

/// A request body: `raw` snappy-compressed straight into the buffer that is sent.
func compress(_ raw: UnsafeRawBufferPointer) -> ByteBuffer {
    var body = ByteBuffer()
    body.writeWithUnsafeMutableBytes(minimumWritableBytes: Snappy.maxCompressedLength(raw.count)) { dst in
        Snappy.compress(raw, into: dst)
    }
    return body
}

/// A shard's requests encoded before the run (`LoadgenOptions.preEncode`, a backfill of a known
/// number of rounds), taken in order by its one sender.
final class PreparedBatches: @unchecked Sendable {
    private var batches: [(position: Int64, count: Int, body: ByteBuffer)] = []
    private var next = 0
    private(set) var firstTimestamp: Int64?
    private(set) var lastTimestamp = Int64.min

    init(shard: ShardSeries, options o: LoadgenOptions, firstTs: Int64) {
        guard case let .backfill(start) = o.timestamps, let rounds = o.rounds else {
            preconditionFailure("pre-encoding needs backfill timestamps and a number of rounds")
        }
        let writer = ProtoWriter(capacity: o.maxSamplesPerSend * 160)
        let interval = o.workload.intervalMs, churnMs = o.workload.churnIntervalMs
        while true {
            let p0 = shard.position
            writer.reset()
            let n = shard.encode(into: writer, limit: o.maxSamplesPerSend, roundLimit: rounds,
                                 timestamp: { round in
                                     let ts = start + round * interval
                                     if self.firstTimestamp == nil { self.firstTimestamp = ts }
                                     self.lastTimestamp = ts
                                     return ts
                                 },
                                 epochOf: { ts in churnMs > 0 ? max(0, (ts - firstTs) / churnMs) : 0 })
            if n == 0 { break }
            batches.append((p0, n, compress(writer.bytes)))
        }
    }

    var isEmpty: Bool { next == batches.count }
    /// The next batch's first position and sample count.
    var position: Int64 { batches[next].position }
    var count: Int { batches[next].count }

    func take() -> (Int64, Int, ByteBuffer) {
        defer { next += 1 }
        return batches[next]
    }
}

@inline(__always)
func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// User plus system CPU of this process (all threads), seconds.
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}
