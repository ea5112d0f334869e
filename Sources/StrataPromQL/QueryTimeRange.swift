import StrataPromQLParser

/// The earliest and latest sample time a query can read (Prometheus' `FindMinMaxTime`), so the
/// storage querier can skip blocks outside it.
struct QueryTimeRange {
    var mint: Int64
    var maxt: Int64

    static func of(_ expr: Expr, start: Int64, end: Int64, lookbackDelta: Int64, defaultSubqueryStep: Int64) -> QueryTimeRange {
        var mint = Int64.max, maxt = Int64.min
        func add(_ vs: VectorSelector, range: Int64, start: Int64, end: Int64) {
            var s = vs.timestamp ?? start, t = vs.timestamp ?? end
            s -= (range == 0 ? lookbackDelta : range) - 1
            s -= vs.originalOffset; t -= vs.originalOffset
            mint = Swift.min(mint, s); maxt = Swift.max(maxt, t)
        }
        // The context is the evaluation range, which a subquery moves for what is below it.
        expr.walk(with: (start: start, end: end)) { node, range in
            switch node {
            case .vectorSelector(let vs): add(vs, range: 0, start: range.start, end: range.end)
            case .matrixSelector(let ms): add(ms.vectorSelector, range: ms.range, start: range.start, end: range.end)
            case .subquery(let sq):
                return ((sq.timestamp ?? range.start) - sq.originalOffset - sq.range, (sq.timestamp ?? range.end) - sq.originalOffset)
            default: break
            }
            return range
        }
        if maxt == Int64.min { return QueryTimeRange(mint: 0, maxt: 0) }
        return QueryTimeRange(mint: mint, maxt: maxt)
    }
}
