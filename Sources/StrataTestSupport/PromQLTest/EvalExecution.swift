import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage

extension PromQLTestRunner {
    /// Runs one eval; returns nil when it passes, else why not, and the parsed query if any.
    func evaluate(_ ev: EvalCommand, on storage: any PromQLTestStorage) -> (failure: String?, expr: Expr?) {
        let expr: Expr
        do {
            expr = try PromQLParser.parse(ev.query, options: options.parserOptions)
        } catch {
            // Prometheus' runner parses every query while reading the file, so the corpus holds
            // only queries that parse: a parse error is ours, even where a failure is expected.
            return ("parse error: \(error.description)", nil)
        }
        return (run(ev, expr, on: storage), expr)
    }

    private func run(_ ev: EvalCommand, _ expr: Expr, on storage: any PromQLTestStorage) -> String? {
        let result: QueryResult
        do {
            switch ev.mode {
            case .instant:
                result = try engine.instantQuery(storage, expr, at: ev.instantTime!)
            case .range(let start, let end, let step):
                result = try rangeQuery(storage, expr, start: start, end: end, step: step)
            }
        } catch {
            if let expected = ev.expectedFailure { return checkFailure(expected, error.message) }
            return "query failed: \(error.message)"
        }
        if ev.expectedFailure != nil { return "expected an error, got none" }
        if let r = AnnotationCheck.check(result.annotations, for: ev) { return r }
        if let r = ResultComparison.compare(result.value, with: ev, window: window(of: ev)) { return r }
        if options.checkRangeMode, rangeModeApplies(to: ev) {
            return checkRangeMode(ev, expr, instantResult: result.value, on: storage).map { "range mode: " + $0 }
        }
        return nil
    }

    private func rangeQuery(_ storage: any Queryable, _ expr: Expr, start: Int64, end: Int64, step: Int64) throws(QueryError) -> QueryResult {
        if let run = options.rangeQuery { return try run(engine, storage, expr, start, end, step) }
        return try engine.rangeQuery(storage, expr, start: start, end: end, step: step)
    }

    private func checkFailure(_ expected: TextExpectation, _ message: String) -> String? {
        expected.matches(message) ? nil : "expected an error matching \(expected), got \"\(message)\""
    }

    /// Where the values of expected series lines sit in time.
    private func window(of ev: EvalCommand) -> ResultComparison.Window {
        switch ev.mode {
        case .range(let start, let end, let step):
            return .init(start: start, end: end, step: step)
        case .instant(let at):
            if let r = ev.expectedRange { return .init(start: r.start, end: r.end, step: r.step) }
            return .init(start: at, end: at, step: 0)
        }
    }

    /// The reference runner skips expected failures, ordered results, strings, range vectors,
    /// and queries whose value depends on the query range (`start()`, `end()`, `range()`, `step()`).
    private func rangeModeApplies(to ev: EvalCommand) -> Bool {
        guard ev.isInstant, ev.expectedFailure == nil, !ev.ordered, ev.expectedString == nil, ev.expectedRange == nil
        else { return false }
        return !["start()", "end()", "range()", "step()"].contains { ev.query.contains($0) }
    }

    /// Runs the query over t-1m..t+1m step 1m and compares the points at t with the expectation.
    private func checkRangeMode(_ ev: EvalCommand, _ expr: Expr, instantResult: QueryValue, on storage: any PromQLTestStorage) -> String? {
        let t = ev.instantTime!
        let result: QueryResult
        do {
            result = try rangeQuery(storage, expr, start: t - 60_000, end: t + 60_000, step: 60_000)
        } catch {
            return "query failed: \(error.message)"
        }
        guard case .matrix(let series) = result.value else { return "expected a matrix from a range query" }
        if let r = ResultComparison.checkSorted(series) { return r }
        let atT = series.compactMap { s in
            s.points.first { $0.t == t }.map { VectorElement(labels: s.labels, t: t, v: $0.v) }
        }
        if case .scalar = instantResult {
            guard let v = atT.first?.v else { return "no point at t=\(t)" }
            return ResultComparison.compare(.scalar(t: t, v: v), with: ev, window: window(of: ev))
        }
        return ResultComparison.compareVector(atT, ev.expectedSeries, ordered: false)
    }
}
