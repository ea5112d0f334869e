import StrataModel
import StrataStorage

/// Evaluates an instant vector selector at one time or over a range of steps, with the lookback
/// window `(t - lookback, t]` (Prometheus 3 semantics) and staleness markers.
public struct SelectorEvaluator: Sendable {
    public var lookbackDelta: Int64 = 5 * 60 * 1000

    public init(lookbackDelta: Int64 = 5 * 60 * 1000) { self.lookbackDelta = lookbackDelta }

    public struct InstantSample: Sendable {
        public let labels: Labels
        public let t: Int64
        public let v: Double
    }

    public struct RangeSeries: Sendable {
        public let labels: Labels
        public let points: [Sample]
    }

    public func instant(_ matchers: [LabelMatcher], at t: Int64, storage: any Queryable) throws -> [InstantSample] {
        let mint = t - lookbackDelta + 1
        let q = try storage.querier(mint: mint, maxt: t)
        var out: [InstantSample] = []
        var buf: [Sample] = []
        for s in try q.select(matchers, hints: SelectHints(mint: mint, maxt: t)) {
            buf.removeAll(keepingCapacity: true)
            try s.samples(mint: mint, maxt: t, into: &buf)
            guard let last = buf.last, !StaleNaN.isStale(last.v) else { continue }
            out.append(InstantSample(labels: s.labels, t: t, v: last.v))
        }
        return out
    }

    public func range(_ matchers: [LabelMatcher], start: Int64, end: Int64, step: Int64,
                      storage: any Queryable) throws -> [RangeSeries] {
        let mint = start - lookbackDelta + 1
        let q = try storage.querier(mint: mint, maxt: end)
        var out: [RangeSeries] = []
        var buf: [Sample] = []
        for s in try q.select(matchers, hints: SelectHints(mint: mint, maxt: end)) {
            buf.removeAll(keepingCapacity: true)
            try s.samples(mint: mint, maxt: end, into: &buf)
            var points: [Sample] = []
            var i = 0
            var ts = start
            while ts <= end {
                // Advance to the newest sample at or before ts.
                while i < buf.count && buf[i].t <= ts { i += 1 }
                if i > 0 {
                    let last = buf[i - 1]
                    if last.t > ts - lookbackDelta && !StaleNaN.isStale(last.v) {
                        points.append(Sample(t: ts, v: last.v))
                    }
                }
                ts += step
            }
            if !points.isEmpty { out.append(RangeSeries(labels: s.labels, points: points)) }
        }
        return out
    }
}
