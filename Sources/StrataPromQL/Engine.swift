import StrataModel
import StrataStorage
import StrataPromQLParser

/// Evaluates parsed PromQL over any `Queryable`, with Prometheus 3.x semantics: left-open range
/// and lookback windows, delayed `__name__` removal, `@` and negative offsets.
public final class Engine: Sendable {
    public let options: EngineOptions

    public init(options: EngineOptions = .init()) { self.options = options }

    /// Evaluates `expr` at `time` (ms since the epoch).
    public func instantQuery(_ queryable: any Queryable, _ expr: Expr, at time: Int64) throws(QueryError) -> QueryResult {
        try run(queryable, expr, start: time, end: time, interval: 1, instant: true)
    }

    /// Evaluates `expr` at `start`, `start+step`, … up to `end` (all ms); always returns a matrix.
    public func rangeQuery(_ queryable: any Queryable, _ expr: Expr, start: Int64, end: Int64, step: Int64) throws(QueryError) -> QueryResult {
        guard expr.type == .vector || expr.type == .scalar else {
            throw QueryError(.badData, "invalid expression type \"\(expr.type.rawValue)\" for range query, must be Scalar or instant Vector")
        }
        guard step > 0 else {
            throw QueryError(.badData, "zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        guard end >= start else { throw QueryError(.badData, "end timestamp must not be before start time") }
        try checkTimeRange(start, "start"); try checkTimeRange(end, "end"); try checkTimeRange(step, "step")
        if (end - start) / step > Int64(options.maxPointsPerSeries) {
            throw QueryError(.badData, "exceeded maximum resolution of \(options.maxPointsPerSeries.formatted(groupingSeparator: ",")) points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        return try run(queryable, expr, start: start, end: end, interval: step, instant: false)
    }

    /// The stored data a range query of `expr` over `[start, end]` reads (selectors' ranges,
    /// lookback, offsets and `@` times applied): what a cached answer depends on.
    public func dataRange(_ expr: Expr, start: Int64, end: Int64) -> ClosedRange<Int64> {
        let r = QueryTimeRange.of(resolveAtModifiers(expr, start: start, end: end), start: start, end: end,
                                  lookbackDelta: options.lookbackDelta, defaultSubqueryStep: options.defaultSubqueryStep)
        return r.mint ... Swift.max(r.mint, r.maxt)
    }

    /// Whether a step's value depends on the query's own range (`@ start()`, `@ end()`, the
    /// experimental `start()`, `end()`, `step()`, `range()`): then a range query cannot be
    /// answered in pieces.
    public static func dependsOnQueryRange(_ expr: Expr) -> Bool {
        var depends = false
        expr.walk { node in
            switch node {
            case .vectorSelector(let vs): if vs.startOrEnd != nil { depends = true }
            case .matrixSelector(let ms): if ms.vectorSelector.startOrEnd != nil { depends = true }
            case .subquery(let sq): if sq.startOrEnd != nil { depends = true }
            case .call(let c): if ["start", "end", "step", "range"].contains(c.function.name) { depends = true }
            default: break
            }
        }
        return depends
    }

    /// Times and durations beyond ±2^56 ms (2.2 million years) are refused, so that the sums of
    /// offsets, ranges and lookback deltas the evaluator forms cannot overflow.
    static let timeLimit: Int64 = 1 << 56

    private func checkTimeRange(_ v: Int64, _ what: String) throws(QueryError) {
        guard v > -Self.timeLimit && v < Self.timeLimit else {
            throw QueryError(.badData, "\(what) is out of the supported time range")
        }
    }

    /// Checks every timestamp and duration written in the query against `timeLimit`.
    private func checkTimes(_ e: Expr) throws(QueryError) {
        try e.walk { (node) throws(QueryError) in
            switch node {
            case .vectorSelector(let vs): try checkTimes(vs)
            case .matrixSelector(let ms):
                try checkTimes(ms.vectorSelector)
                try checkTimeRange(ms.range, "range")
            case .subquery(let sq):
                try checkTimeRange(sq.originalOffset, "offset")
                try checkTimeRange(sq.range, "range")
                try checkTimeRange(sq.step, "subquery step")
                if let t = sq.timestamp { try checkTimeRange(t, "@ timestamp") }
            default: break
            }
        }
    }

    private func checkTimes(_ vs: VectorSelector) throws(QueryError) {
        try checkTimeRange(vs.originalOffset, "offset")
        if let t = vs.timestamp { try checkTimeRange(t, "@ timestamp") }
    }

    private func run(_ queryable: any Queryable, _ parsed: Expr, start: Int64, end: Int64, interval: Int64,
                     instant: Bool) throws(QueryError) -> QueryResult {
        try checkTimeRange(start, "time")
        try checkTimeRange(options.lookbackDelta, "lookback delta")
        try checkTimes(parsed)
        do {
            let expr = resolveAtModifiers(parsed, start: start, end: end)
            let range = QueryTimeRange.of(expr, start: start, end: end, lookbackDelta: options.lookbackDelta,
                                          defaultSubqueryStep: options.defaultSubqueryStep)
            let querier: any Querier
            do { querier = try queryable.querier(mint: range.mint, maxt: range.maxt) } catch {
                throw QueryError(.storage, "\(error)")
            }
            let ctx = QueryContext(querier: querier, options: options, queryStart: start, queryEnd: end)
            let ev = Evaluator(start: start, end: end, interval: interval, ctx: ctx)
            let value = try ev.eval(expr)
            guard case .matrix(var mat) = value else {
                if case .string(let s) = value { return QueryResult(value: .string(t: start, s: s), annotations: ctx.annotations) }
                return QueryResult(value: .matrix([]), annotations: ctx.annotations)
            }
            // Delayed name removal: the name goes now; series that become equal must not overlap.
            for i in mat.indices where mat[i].dropName { mat[i].labels = mat[i].labels.withoutMetricName }
            mat = try mergeSameLabelsets(mat)

            let result: QueryValue
            if instant {
                switch expr.type {
                case .vector:
                    result = .vector(mat.map { VectorElement(labels: $0.labels, t: start, v: $0.points[0].v) })
                case .scalar:
                    result = .scalar(t: start, v: mat.first?.points.first?.v ?? .nan)
                default:
                    mat.sortByLabels(\.labels)
                    result = .matrix(mat.map { SeriesPoints(labels: $0.labels, points: $0.points) })
                }
            } else {
                mat.sortByLabels(\.labels)
                result = .matrix(mat.map { SeriesPoints(labels: $0.labels, points: $0.points) })
            }
            return QueryResult(value: result, annotations: ctx.annotations)
        } catch let e as QueryError {
            throw e
        } catch {
            throw QueryError(.execution, "\(error)")
        }
    }
}

/// Merges series whose label sets became equal (after the name was dropped or labels were
/// rewritten); their points must not share a timestamp.
func mergeSameLabelsets(_ mat: Matrix) throws -> Matrix {
    if mat.count <= 1 { return mat }
    var index: [Labels: Int] = [:]
    index.reserveCapacity(mat.count)
    var merged: Matrix = []
    var needsSort = Set<Int>()
    for s in mat {
        if let i = index[s.labels] {
            merged[i].points += s.points
            needsSort.insert(i)
        } else {
            index[s.labels] = merged.count
            merged.append(s)
        }
    }
    for i in needsSort {
        merged[i].points.sort { $0.t < $1.t }
        for j in 1 ..< merged[i].points.count where merged[i].points[j].t == merged[i].points[j - 1].t {
            throw QueryError(.execution, "vector cannot contain metrics with the same labelset")
        }
    }
    return merged
}

/// Replaces `@ start()` / `@ end()` with the query's start or end. (Recursive: the engine runs
/// on threads whose stack is sized for the parser's depth limit.)
func resolveAtModifiers(_ e: Expr, start: Int64, end: Int64) -> Expr {
    func at(_ p: AtModifierPreprocessor?, _ ts: Int64?) -> Int64? {
        switch p {
        case .start: return start
        case .end: return end
        case nil: return ts
        }
    }
    switch e {
    case .vectorSelector(var vs):
        vs.timestamp = at(vs.startOrEnd, vs.timestamp)
        return .vectorSelector(vs)
    case .matrixSelector(var ms):
        ms.vectorSelector.timestamp = at(ms.vectorSelector.startOrEnd, ms.vectorSelector.timestamp)
        return .matrixSelector(ms)
    case .subquery(var sq):
        sq.timestamp = at(sq.startOrEnd, sq.timestamp)
        return Expr.subquery(sq).mapChildren { resolveAtModifiers($0, start: start, end: end) }
    default:
        return e.mapChildren { resolveAtModifiers($0, start: start, end: end) }
    }
}

extension Int {
    /// `11000` → `11,000`.
    func formatted(groupingSeparator: String) -> String {
        let digits = String(self)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += groupingSeparator }
            out.append(c)
        }
        return out
    }
}
