import StrataModel
import StrataStorage
import StrataPromQLParser

/// Raw samples of one series for range functions, plus how windows are cut from them.
struct RangeSeries {
    var labels: Labels
    var points: [Sample]
    var dropName: Bool
}

struct RangeSource {
    var series: [RangeSeries]
    var range: Int64
    var offset: Int64
    /// `@` timestamp: every step reads the same window.
    var at: Int64?
}

extension Evaluator {
    /// Fetches the series a selector matches with their samples in `[mint, maxt]`.
    func select(_ vs: VectorSelector, mint: Int64, maxt: Int64,
                _ body: (_ labels: Labels, _ samples: [Sample]) throws -> Void) throws {
        let series: [any StorageSeries]
        do {
            series = try ctx.querier.select(vs.matchers, hints: SelectHints(mint: mint, maxt: maxt))
        } catch let e as QueryError {
            throw e
        } catch {
            throw QueryError(.storage, "expanding series: \(error)")
        }
        var buf: [Sample] = []
        for s in series {
            try ctx.checkDeadline()
            buf.removeAll(keepingCapacity: true)
            do { try s.samples(mint: mint, maxt: maxt, into: &buf) } catch {
                throw QueryError(.storage, "expanding series: \(error)")
            }
            try body(s.labels, buf)
        }
    }

    /// An instant vector selector at every step: the newest sample in the lookback window
    /// `(ref - lookback, ref]`, unless it is a staleness marker.
    func evalVectorSelector(_ vs: VectorSelector) throws -> Matrix {
        let lookback = ctx.options.lookbackDelta
        let firstRef = (vs.timestamp ?? start) - vs.originalOffset
        let lastRef = (vs.timestamp ?? end) - vs.originalOffset
        var out: Matrix = []
        try select(vs, mint: firstRef - lookback + 1, maxt: lastRef) { labels, samples in
            var points: [Sample] = []
            var next = 0 // first sample newer than the current ref
            var ts = start
            while ts <= end {
                let ref = (vs.timestamp ?? ts) - vs.originalOffset
                while next < samples.count, samples[next].t <= ref { next += 1 }
                if next > 0 {
                    let s = samples[next - 1]
                    if s.t > ref - lookback, !StaleNaN.isStale(s.v) {
                        if points.isEmpty { points.reserveCapacity(numSteps) }
                        points.append(Sample(t: ts, v: s.v))
                    }
                }
                ts += interval
            }
            if !points.isEmpty {
                try ctx.addSamples(points.count)
                out.append(Series(labels: labels, points: points))
            }
        }
        return out
    }

    /// `timestamp(selector)`: the selected sample's own timestamp, not the step's.
    func evalTimestampOfSelector(_ vs: VectorSelector) throws -> Matrix {
        let lookback = ctx.options.lookbackDelta
        let firstRef = (vs.timestamp ?? start) - vs.originalOffset
        let lastRef = (vs.timestamp ?? end) - vs.originalOffset
        var out: Matrix = []
        try select(vs, mint: firstRef - lookback + 1, maxt: lastRef) { labels, samples in
            var points: [Sample] = []
            var next = 0
            var ts = start
            while ts <= end {
                let ref = (vs.timestamp ?? ts) - vs.originalOffset
                while next < samples.count, samples[next].t <= ref { next += 1 }
                if next > 0 {
                    let s = samples[next - 1]
                    if s.t > ref - lookback, !StaleNaN.isStale(s.v) {
                        points.append(Sample(t: ts, v: Double(s.t) / 1000))
                    }
                }
                ts += interval
            }
            if !points.isEmpty {
                try ctx.addSamples(points.count)
                out.append(Series(labels: labels, points: points, dropName: true))
            }
        }
        return out
    }

    /// The raw samples of a range selector's series over every window the steps will read,
    /// staleness markers removed.
    func rangeSource(_ ms: MatrixSelector) throws -> RangeSource {
        let vs = ms.vectorSelector
        let firstRef = (vs.timestamp ?? start) - vs.originalOffset
        let lastRef = (vs.timestamp ?? end) - vs.originalOffset
        var series: [RangeSeries] = []
        try select(vs, mint: firstRef - ms.range + 1, maxt: lastRef) { labels, samples in
            var pts = samples
            pts.removeAll { StaleNaN.isStale($0.v) }
            if !pts.isEmpty {
                try ctx.addSamples(pts.count)
                series.append(RangeSeries(labels: labels, points: pts, dropName: false))
            }
        }
        return RangeSource(series: series, range: ms.range, offset: vs.originalOffset, at: vs.timestamp)
    }

    /// A subquery's inner expression evaluated at its own steps, as a range source.
    func rangeSource(_ sq: SubqueryExpr) throws -> RangeSource {
        let m = try evalSubqueryRaw(sq)
        try ctx.addSamples(m.reduce(0) { $0 + $1.points.count })
        return RangeSource(series: m.map { RangeSeries(labels: $0.labels, points: $0.points, dropName: $0.dropName) },
                           range: sq.range, offset: sq.originalOffset, at: sq.timestamp)
    }

    /// `x[5m]` in an instant query: the samples in `(ref - range, ref]` with their own timestamps.
    func evalMatrixSelectorRaw(_ ms: MatrixSelector) throws -> Matrix {
        let src = try rangeSource(ms)
        let ref = (src.at ?? start) - src.offset
        return src.series.compactMap { s in
            let pts = s.points.filter { $0.t > ref - src.range && $0.t <= ref }
            return pts.isEmpty ? nil : Series(labels: s.labels, points: pts)
        }
    }

    /// Runs the subquery's expression in a child evaluator whose steps are aligned to multiples
    /// of the subquery step and cover every window the parent's steps will read.
    func evalSubqueryRaw(_ sq: SubqueryExpr) throws -> Matrix {
        let step = sq.step != 0 ? sq.step : ctx.options.defaultSubqueryStep
        let alignedEnd = start + ((end - start) / interval) * interval
        let parentStart = sq.timestamp ?? start
        let parentEnd = sq.timestamp ?? alignedEnd
        let lowest = parentStart - sq.originalOffset - sq.range
        var childStart = step * (lowest / step)
        if childStart <= lowest { childStart += step }
        let childEnd = parentEnd - sq.originalOffset
        let child = Evaluator(start: childStart, end: childEnd, interval: step, ctx: ctx)
        if childEnd < childStart { return [] }
        return try child.eval(sq.expr).matrix
    }

    /// Calls `body` for every step with the window `(ref - range, ref]` of each series of `src`;
    /// `body` returns the output value or nil. Returns the non-empty output series.
    func forEachWindow(_ src: RangeSource, dropName: Bool,
                       _ body: (_ window: RangeWindow, _ step: Int, _ series: RangeSeries) throws -> Double?) throws -> Matrix {
        var out: Matrix = []
        for s in src.series {
            try ctx.checkDeadline()
            var points: [Sample] = []
            var lo = 0, hi = 0
            var ts = start, step = 0
            let n = s.points.count
            while ts <= end {
                let ref = (src.at ?? ts) - src.offset
                let mint = ref - src.range
                while hi < n, s.points[hi].t <= ref { hi += 1 }
                while lo < hi, s.points[lo].t <= mint { lo += 1 }
                if lo < hi {
                    let w = RangeWindow(samples: s.points[lo ..< hi], rangeStart: mint, rangeEnd: ref)
                    if let v = try body(w, step, s) { points.append(Sample(t: ts, v: v)) }
                }
                ts += interval; step += 1
            }
            if !points.isEmpty {
                out.append(Series(labels: s.labels, points: points, dropName: dropName || s.dropName))
            }
        }
        return out
    }
}
