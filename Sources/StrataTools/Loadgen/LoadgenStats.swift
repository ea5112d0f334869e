import Synchronization

/// Request latencies in log-linear buckets (32 per power of two of microseconds, so a quantile is
/// within about 2% of the true value) plus the exact maximum: constant memory for any run length.
public struct LatencyHistogram: Sendable {
    private static let subBuckets = 32
    private var counts = [UInt64](repeating: 0, count: 40 * 32)
    public private(set) var total: UInt64 = 0
    public private(set) var maxMicros: UInt64 = 0

    public init() {}

    public mutating func record(micros: UInt64) {
        counts[Self.index(micros)] += 1
        total += 1
        maxMicros = max(maxMicros, micros)
    }

    static func index(_ v: UInt64) -> Int {
        if v < UInt64(subBuckets) { return Int(v) }
        let exp = 63 - v.leadingZeroBitCount          // v in [2^exp, 2^(exp+1))
        let shift = exp - 5                             // 32 = 2^5 sub-buckets
        let sub = Int((v >> UInt64(shift)) & 31)
        return min((shift + 1) * subBuckets + sub, 40 * subBuckets - 1)
    }

    /// The upper bound of bucket `i` (its values are below it).
    static func upperBound(_ i: Int) -> UInt64 {
        if i < subBuckets { return UInt64(i) + 1 }
        let shift = i / subBuckets - 1
        let sub = UInt64(i % subBuckets)
        return (UInt64(subBuckets) + sub + 1) << UInt64(shift)
    }

    /// The `q` quantile (0…1) in microseconds, as its bucket's upper bound capped at the maximum.
    public func quantile(_ q: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = UInt64((q * Double(total)).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= max(rank, 1) { return min(Self.upperBound(i), maxMicros) }
        }
        return maxMicros
    }
}

/// What a run has done so far, shared by the shards (each records once per request, so a lock is
/// cheap next to a network round trip) and read by the progress line, the ramp and the report.
public struct LoadgenCounters: Sendable {
    public var requests: UInt64 = 0
    /// Responses by status code (every attempt, retries included); `transport` counts requests
    /// that got no response.
    public var responses: [Int: UInt64] = [:]
    public var transportErrors: UInt64 = 0
    public var retries: UInt64 = 0
    public var samplesSent: UInt64 = 0            // in first attempts
    public var samplesAccepted: UInt64 = 0
    /// Samples whose batch was refused for good, by the final status.
    public var samplesRefused: [Int: UInt64] = [:]
    /// Samples of batches still failing when the run's retry deadline passed.
    public var samplesAbandoned: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var latency = LatencyHistogram()
    public var firstErrors: [String] = []

    /// Responses other than 2xx plus requests without a response.
    public var failedRequests: UInt64 { responses.filter { $0.key / 100 != 2 }.values.reduce(0, +) + transportErrors }
}

final class LoadgenStats: Sendable {
    private struct State {
        var total = LoadgenCounters()
        /// Since the last `takeStep()`: the ramp judges one step at a time.
        var step = LoadgenCounters()
        /// Accepted samples per second of the run (index: whole seconds since the start).
        var timeline: [UInt64] = []
    }

    private let state = Mutex(State())
    private let start: ContinuousClock.Instant

    init(start: ContinuousClock.Instant) { self.start = start }

    /// One HTTP attempt: `retry` when it repeats an earlier attempt of the same batch.
    func attempt(samples: Int, bytes: Int, response: WriteResponse, retry: Bool) {
        state.withLock { s in
            func apply(_ c: inout LoadgenCounters) {
                c.requests += 1
                c.bytesSent += UInt64(bytes)
                if retry { c.retries += 1 } else { c.samplesSent += UInt64(samples) }
                if let status = response.status { c.responses[status, default: 0] += 1 } else { c.transportErrors += 1 }
                c.latency.record(micros: response.latencyNanos / 1000)
                if response.status.map({ $0 / 100 != 2 }) ?? true, c.firstErrors.count < 5 {
                    let what = response.status.map { "HTTP \($0)" } ?? "no response"
                    c.firstErrors.append("\(what): \(response.message.prefix(300))")
                }
            }
            apply(&s.total)
            apply(&s.step)
        }
    }

    /// The final outcome of a batch.
    func settled(samples: Int, decision: RetryPolicy.Decision, status: Int?) {
        let second = Int((ContinuousClock.now - start).seconds)
        state.withLock { s in
            func apply(_ c: inout LoadgenCounters) {
                switch decision {
                case .accepted: c.samplesAccepted += UInt64(samples)
                case .refused: c.samplesRefused[status ?? 0, default: 0] += UInt64(samples)
                case .retry: c.samplesAbandoned += UInt64(samples)
                }
            }
            apply(&s.total)
            apply(&s.step)
            if decision == .accepted {
                if s.timeline.count <= second { s.timeline += Array(repeating: 0, count: second + 1 - s.timeline.count) }
                s.timeline[second] += UInt64(samples)
            }
        }
    }

    var total: LoadgenCounters { state.withLock { $0.total } }
    var timeline: [UInt64] { state.withLock { $0.timeline } }

    /// The counters since the previous call, and a fresh start for the next step.
    func takeStep() -> LoadgenCounters {
        state.withLock { s in
            defer { s.step = LoadgenCounters() }
            return s.step
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
