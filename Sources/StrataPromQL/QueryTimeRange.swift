import StrataPromQLParser

/// The earliest and latest sample time a query can read (Prometheus' `FindMinMaxTime`), so the
/// storage querier can skip blocks outside it.
struct QueryTimeRange {
    var mint: Int64
    var maxt: Int64

    static func of(_ expr: Expr, start: Int64, end: Int64, lookbackDelta: Int64, defaultSubqueryStep: Int64) -> QueryTimeRange {
        var mint = Int64.max, maxt = Int64.min
        func visit(_ e: Expr, start: Int64, end: Int64) {
            switch e {
            case .vectorSelector(let vs):
                add(vs, range: 0, start: start, end: end)
            case .matrixSelector(let ms):
                add(ms.vectorSelector, range: ms.range, start: start, end: end)
            case .subquery(let sq):
                let s = (sq.timestamp ?? start) - sq.originalOffset - sq.range
                let t = (sq.timestamp ?? end) - sq.originalOffset
                visit(sq.expr, start: s, end: t)
            case .call(let c): c.args.forEach { visit($0, start: start, end: end) }
            case .aggregate(let a):
                visit(a.expr, start: start, end: end)
                if let p = a.param { visit(p, start: start, end: end) }
            case .binary(let b):
                visit(b.lhs, start: start, end: end); visit(b.rhs, start: start, end: end)
            case .unary(let u): visit(u.expr, start: start, end: end)
            case .paren(let p): visit(p.expr, start: start, end: end)
            case .number, .string: break
            }
        }
        func add(_ vs: VectorSelector, range: Int64, start: Int64, end: Int64) {
            var s = vs.timestamp ?? start, t = vs.timestamp ?? end
            s -= (range == 0 ? lookbackDelta : range) - 1
            s -= vs.originalOffset; t -= vs.originalOffset
            mint = Swift.min(mint, s); maxt = Swift.max(maxt, t)
        }
        visit(expr, start: start, end: end)
        if maxt == Int64.min { return QueryTimeRange(mint: 0, maxt: 0) }
        return QueryTimeRange(mint: mint, maxt: maxt)
    }
}
