import StrataModel
import StrataStorage
import StrataPromQLParser

/// Raw samples of one series for range functions.
struct RangeSeries {
    var labels: Labels
    var points: [Sample]
    var dropName: Bool
}

/// How the windows of a range argument are cut: `(ref - range, ref]` with
/// `ref = (at ?? step time) - offset`.
struct RangeWindows {
    var range: Int64
    var offset: Int64
    /// `@` timestamp: every step reads the same window.
    var at: Int64?
}

extension Evaluator {
    /// Fetches the series a selector matches with their samples in `[mint, maxt]`.
    func select(_ vs: VectorSelector, mint: Int64, maxt: Int64, range: Int64 = 0, sortSeries: Bool = true,
                _ body: (_ labels: Labels, _ samples: [Sample]) throws -> Void) throws {
        let series = try selectSeries(vs, mint: mint, maxt: maxt, range: range, sortSeries: sortSeries)
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

    /// The series a selector matches in `[mint, maxt]`, their samples not read yet; sorted by
    /// labels unless `sortSeries` says the order does not matter.
    func selectSeries(_ vs: VectorSelector, mint: Int64, maxt: Int64, range: Int64, sortSeries: Bool = true) throws -> [any StorageSeries] {
        do {
            var hints = SelectHints(mint: mint, maxt: maxt, interrupt: ctx.storageInterrupt, function: ctx.selectFunction ?? "", range: range)
            hints.sortSeries = sortSeries
            return try ctx.querier.select(vs.matchers, hints: hints)
        } catch let e as QueryError {
            throw e
        } catch {
            throw QueryError(.storage, "expanding series: \(error)")
        }
    }

    /// An instant vector selector at every step: the newest sample in the lookback window
    /// `(ref - lookback, ref]`, unless it is a staleness marker.
    func evalVectorSelector(_ vs: VectorSelector) throws -> Matrix {
        try selectAtSteps(vs, dropName: false) { $0.v }
    }

    /// `timestamp(selector)`: the selected sample's own timestamp, not the step's.
    func evalTimestampOfSelector(_ vs: VectorSelector) throws -> Matrix {
        try selectAtSteps(vs, dropName: true) { Double($0.t) / 1000 }
    }

    /// For every series and step, `value` of the sample an instant selector picks at that step.
    private func selectAtSteps(_ vs: VectorSelector, dropName: Bool, _ value: (Sample) -> Double) throws -> Matrix {
        let lookback = ctx.options.lookbackDelta
        let firstRef = (vs.timestamp ?? start) - vs.originalOffset
        let lastRef = (vs.timestamp ?? end) - vs.originalOffset
        var out: Matrix = []
        try select(vs, mint: firstRef - lookback + 1, maxt: lastRef) { labels, samples in
            var points: [Sample] = []
            var counted = 0 // points already charged against --query.max-samples
            var next = 0 // first sample newer than the current ref
            var ts = start
            while ts <= end {
                // A subquery can ask for billions of steps (`m[1y:1ms]`): check the deadline
                // as the steps go, and jump over stretches where the series has no sample.
                try ctx.checkDeadline()
                let ref = (vs.timestamp ?? ts) - vs.originalOffset
                while next < samples.count, samples[next].t <= ref { next += 1 }
                if next > 0, samples[next - 1].t > ref - lookback {
                    let s = samples[next - 1]
                    if !StaleNaN.isStale(s.v) {
                        if points.isEmpty { points.reserveCapacity(Swift.min(numSteps, 5000)) }
                        points.append(Sample(t: ts, v: value(s)))
                        if points.count - counted >= 4096 { try ctx.addSamples(points.count - counted); counted = points.count }
                    }
                } else if vs.timestamp == nil {
                    // Nothing in the lookback window: no point until the step that reaches the next sample.
                    guard next < samples.count else { break }
                    let due = samples[next].t + vs.originalOffset
                    if due > ts + interval {
                        let skip = (due - ts) / interval
                        let (jumped, overflow) = ts.addingReportingOverflow(skip * interval)
                        if overflow || jumped > end { break }
                        ts = jumped
                        continue
                    }
                }
                ts += interval
            }
            if !points.isEmpty {
                try ctx.addSamples(points.count - counted)
                out.append(Series(labels: labels, points: points, dropName: dropName))
            } else if counted > 0 {
                ctx.releaseSamples(counted)
            }
        }
        return out
    }

    /// Streams the series of a range argument (a range selector or a subquery) to `body`, one at
    /// a time with its raw samples over every window the steps will read (staleness markers
    /// removed), so only one series' samples are held at once, as in Prometheus.
    @discardableResult
    func forEachRangeSeries(_ arg: Expr, sortSeries: Bool = true, _ body: (RangeSeries) throws -> Void) throws -> RangeWindows {
        switch arg {
        case .matrixSelector(let ms):
            let vs = ms.vectorSelector
            let firstRef = (vs.timestamp ?? start) - vs.originalOffset
            let lastRef = (vs.timestamp ?? end) - vs.originalOffset
            try select(vs, mint: firstRef - ms.range + 1, maxt: lastRef, range: ms.range, sortSeries: sortSeries) { labels, samples in
                var pts = samples
                pts.removeAll { StaleNaN.isStale($0.v) }
                guard !pts.isEmpty else { return }
                try ctx.addSamples(pts.count)
                defer { ctx.releaseSamples(pts.count) }
                try body(RangeSeries(labels: labels, points: pts, dropName: false))
            }
            return RangeWindows(range: ms.range, offset: vs.originalOffset, at: vs.timestamp)
        case .subquery(let sq):
            let m = try evalSubqueryRaw(sq)
            defer { ctx.releaseSamples(m.reduce(0) { $0 + $1.points.count }) }
            for s in m { try body(RangeSeries(labels: s.labels, points: s.points, dropName: s.dropName)) }
            return RangeWindows(range: sq.range, offset: sq.originalOffset, at: sq.timestamp)
        default:
            throw QueryError(.execution, "expected a range vector, got \(arg.type.rawValue)")
        }
    }

    /// `x[5m]` in an instant query: the samples in `(ref - range, ref]` with their own timestamps.
    func evalMatrixSelectorRaw(_ ms: MatrixSelector) throws -> Matrix {
        var out: Matrix = []
        let w = RangeWindows(range: ms.range, offset: ms.vectorSelector.originalOffset, at: ms.vectorSelector.timestamp)
        let ref = (w.at ?? start) - w.offset
        try forEachRangeSeries(.matrixSelector(ms)) { s in
            let pts = s.points.filter { $0.t > ref - w.range && $0.t <= ref }
            if !pts.isEmpty {
                try ctx.addSamples(pts.count)
                out.append(Series(labels: s.labels, points: pts))
            }
        }
        return out
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

    /// Calls `value` for every step with the window `(ref - range, ref]` of one series and
    /// returns the series of the results (nil: no point at that step). A window pinned by `@` is
    /// the same at every step, so when `value` does not depend on the step either
    /// (`stepInvariant`) it is computed once.
    func windowsOf(_ s: RangeSeries, _ w: RangeWindows, dropName: Bool, stepInvariant: Bool,
                   _ value: (_ window: RangeWindow, _ step: Int) throws -> Double?) throws -> Series? {
        let points = try Self.windowPoints(s.points, w, start: start, end: end, interval: interval, stepInvariant: stepInvariant,
                                           check: ctx.checkDeadline, value)
        guard !points.isEmpty else { return nil }
        try ctx.addSamples(points.count)
        return Series(labels: s.labels, points: points, dropName: dropName || s.dropName)
    }

    /// The points of `windowsOf` for the steps `start…end`, without touching the query context:
    /// `check` is called every step (the deadline), so worker threads can run it too.
    static func windowPoints(_ samples: [Sample], _ w: RangeWindows, start: Int64, end: Int64, interval: Int64, stepInvariant: Bool,
                             check: () throws -> Void, _ value: (_ window: RangeWindow, _ step: Int) throws -> Double?) throws -> [Sample] {
        var points: [Sample] = []
        var lo = 0, hi = 0
        let n = samples.count
        var pinned: Double?? = nil // the value of an @-pinned window, once computed
        var ts = start, step = 0
        while ts <= end {
            try check()
            if w.at != nil, stepInvariant, let v = pinned {
                if let v { points.append(Sample(t: ts, v: v)) }
            } else {
                let ref = (w.at ?? ts) - w.offset
                let mint = ref - w.range
                while hi < n, samples[hi].t <= ref { hi += 1 }
                while lo < hi, samples[lo].t <= mint { lo += 1 }
                var v: Double? = nil
                if lo < hi {
                    v = try value(RangeWindow(samples: samples[lo ..< hi], rangeStart: mint, rangeEnd: ref), step)
                    if let v { points.append(Sample(t: ts, v: v)) }
                }
                if w.at != nil { pinned = .some(v) }
            }
            ts += interval; step += 1
        }
        return points
    }
}
