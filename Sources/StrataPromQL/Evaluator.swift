import StrataModel
import StrataStorage
import StrataPromQLParser

/// One series flowing between evaluation nodes: at most one point per evaluation step (or the raw
/// samples of a range selector).
struct Series {
    var labels: Labels
    var points: [Sample]
    /// Delayed `__name__` removal (Prometheus' `DropName`): the name stays available to later
    /// nodes (`label_replace`, grouping) and is removed when the result leaves the engine.
    var dropName: Bool = false
}

typealias Matrix = [Series]

/// All points of a matrix in one array, series after series, so that per-step loops read them
/// without retaining each series' array at every step.
struct FlatMatrix {
    var points: [Sample] = []
    /// Index of each series' first point; `ends[i]` is one past its last.
    var starts: [Int] = []
    var ends: [Int] = []

    init(_ m: Matrix) {
        points.reserveCapacity(m.reduce(0) { $0 + $1.points.count })
        starts.reserveCapacity(m.count); ends.reserveCapacity(m.count)
        for s in m {
            starts.append(points.count)
            points.append(contentsOf: s.points)
            ends.append(points.count)
        }
    }
}

/// One element of an instant vector at one step.
struct Element {
    var labels: Labels
    var v: Double
    var t: Int64 = 0
    var dropName: Bool = false
    /// Index of the input series this element came from (binary operators cache per pair).
    var source: Int32 = -1
}

enum EvalValue {
    case matrix(Matrix)
    case string(String)

    var matrix: Matrix {
        if case .matrix(let m) = self { return m }
        return []
    }
}

/// What all evaluators of one query share: storage, limits, deadline and annotations.
final class QueryContext {
    let querier: any Querier
    let options: EngineOptions
    let deadline: ContinuousClock.Instant
    /// The query's own start and end, for `@ start()` / `@ end()`.
    let queryStart: Int64
    let queryEnd: Int64
    /// Samples currently held by the query (Prometheus' `currentSamples`), and the peak.
    private(set) var currentSamples = 0
    private(set) var peakSamples = 0
    private(set) var annotations: [Annotation] = []
    private var seen = Set<Annotation>()
    /// The function or aggregation the node being evaluated feeds, innermost last (Prometheus'
    /// `extractFuncFromPath`: a binary operator in between makes it "").
    private var functions: [String] = []
    var selectFunction: String? { functions.last }

    func withSelectFunction<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        functions.append(name)
        defer { functions.removeLast() }
        return try body()
    }
    private var checks = 0

    init(querier: any Querier, options: EngineOptions, queryStart: Int64, queryEnd: Int64) {
        self.querier = querier
        self.options = options
        self.queryStart = queryStart
        self.queryEnd = queryEnd
        self.deadline = ContinuousClock.now + options.timeout
    }

    func annotate(_ a: Annotation) {
        if seen.insert(a).inserted { annotations.append(a) }
    }

    /// Counts samples the query now holds and enforces `--query.max-samples`.
    func addSamples(_ n: Int) throws {
        currentSamples += n
        peakSamples = Swift.max(peakSamples, currentSamples)
        if currentSamples > options.maxSamples {
            throw QueryError(.tooManySamples, "query processing would load too many samples into memory in query execution")
        }
    }

    /// Samples a node has finished with (its inputs, a range window it streamed through).
    func releaseSamples(_ n: Int) { currentSamples -= n }

    /// For storage: stops a long index scan (a regex over many label values) of this query once
    /// it timed out or was cancelled.
    var storageInterrupt: @Sendable () throws -> Void {
        let deadline = self.deadline, cancellation = options.cancellation
        return {
            if cancellation?.isCancelled == true { throw QueryError(.canceled, "query was canceled in expression evaluation") }
            if ContinuousClock.now > deadline { throw QueryError(.timeout, "query timed out in expression evaluation") }
        }
    }

    /// Enforces `--query.timeout` and stops a cancelled query; cheap enough to call per series
    /// and per step.
    func checkDeadline() throws {
        checks &+= 1
        guard checks & 63 == 0 else { return }
        if options.cancellation?.isCancelled == true {
            throw QueryError(.canceled, "query was canceled in expression evaluation")
        }
        if ContinuousClock.now > deadline {
            throw QueryError(.timeout, "query timed out in expression evaluation")
        }
    }
}

/// Evaluates expressions at the steps `start, start+interval, … end` (one step for instant
/// queries), producing a matrix with one point per step per series, as Prometheus' evaluator.
final class Evaluator {
    let start: Int64
    let end: Int64
    let interval: Int64
    let ctx: QueryContext
    /// Set by an aggregation for the range function it evaluates next: that function's series
    /// may be read in any order (`SelectHints.sortSeries`). The function clears it.
    var rangeSelectionUnsorted = false

    init(start: Int64, end: Int64, interval: Int64, ctx: QueryContext) {
        self.start = start; self.end = end; self.interval = interval; self.ctx = ctx
    }

    var numSteps: Int { Int((end - start) / interval) + 1 }
    var isInstant: Bool { start == end }

    func stepIndex(_ ts: Int64) -> Int { Int((ts - start) / interval) }

    func eval(_ expr: Expr) throws -> EvalValue {
        let value = try evalNode(expr)
        // Without delayed name removal the name goes as soon as a node drops it, and series that
        // become equal must not collide (Prometheus checks right there).
        guard !ctx.options.delayedNameRemoval, case .matrix(let m) = value, m.contains(where: { $0.dropName }) else {
            return value
        }
        return .matrix(try stripNamesAndMerge(m))
    }

    /// The metric name taken off the series that drop it; series that became equal are merged,
    /// or an error when they overlap.
    func stripNamesAndMerge(_ m: Matrix) throws -> Matrix {
        var m = m
        for i in m.indices where m[i].dropName {
            m[i].labels = m[i].labels.withoutMetricName
            m[i].dropName = false
        }
        return try mergeSameLabelsets(m)
    }

    /// `eval` without the name removal (see there).
    func evalNode(_ expr: Expr) throws -> EvalValue {
        try ctx.checkDeadline()
        switch expr {
        case .number(let n):
            try ctx.addSamples(numSteps)
            var points: [Sample] = []
            points.reserveCapacity(numSteps)
            var ts = start
            while ts <= end { points.append(Sample(t: ts, v: n.value)); ts += interval }
            return .matrix([Series(labels: .empty, points: points)])
        case .string(let s):
            return .string(s.value)
        case .paren(let p):
            return try eval(p.expr)
        case .unary(let u):
            var m = try eval(u.expr).matrix
            if u.op == .sub {
                for i in m.indices {
                    m[i].dropName = true
                    for j in m[i].points.indices { m[i].points[j].v = -m[i].points[j].v }
                }
            }
            return .matrix(m)
        case .vectorSelector(let vs):
            return .matrix(try evalVectorSelector(vs))
        case .matrixSelector(let ms):
            guard isInstant else {
                throw QueryError(.execution, "cannot do range evaluation of matrix selector")
            }
            return .matrix(try evalMatrixSelectorRaw(ms))
        case .subquery(let sq):
            return .matrix(try evalSubqueryRaw(sq))
        case .call(let c):
            return .matrix(try ctx.withSelectFunction(c.function.name) { try evalCall(c) })
        case .aggregate(let a):
            return .matrix(try ctx.withSelectFunction(a.op.rawValue) { try evalAggregate(a) })
        case .binary(let b):
            return .matrix(try ctx.withSelectFunction("") { try evalBinary(b) })
        }
    }

    // MARK: - Step-wise evaluation

    /// Evaluates `exprs` (string arguments are skipped) and calls `body` once per step with the
    /// input vectors at that step; assembles the output vectors into series. With `matching`,
    /// also passes each input element's join-signature ordinal (see `signatureOrdinals`).
    func rangeEval(_ exprs: [Expr], matching: VectorMatching? = nil,
                   _ body: (_ vectors: [[Element]], _ ordinals: [[Int]], _ ts: Int64) throws -> [Element]) throws -> Matrix {
        var inputs: [Matrix] = []
        inputs.reserveCapacity(exprs.count)
        for e in exprs {
            if e.type == .string { inputs.append([]); continue }
            inputs.append(try eval(e).matrix)
        }
        return try rangeEval(inputs: inputs, matching: matching, body)
    }

    func rangeEval(inputs: [Matrix], matching: VectorMatching?,
                   _ body: (_ vectors: [[Element]], _ ordinals: [[Int]], _ ts: Int64) throws -> [Element]) throws -> Matrix {
        try rangeEval(inputs: inputs, ordinals: matching.map { signatureOrdinals(inputs, $0).ordinals }, body)
    }

    /// `rangeEval` with join-signature ordinals already computed (`signatureOrdinals`).
    func rangeEval(inputs: [Matrix], ordinals seriesOrdinals: [[Int]]?,
                   _ body: (_ vectors: [[Element]], _ ordinals: [[Int]], _ ts: Int64) throws -> [Element]) throws -> Matrix {
        let flats = inputs.map(FlatMatrix.init)
        var cursors = flats.map(\.starts)
        var vectors = inputs.map { _ in [Element]() }
        var ordinals = inputs.map { _ in [Int]() }

        var output: Matrix = []
        var outputIndex: [Labels: Int] = [:]
        var lastStepOf: [Int64] = []

        var ts = start
        while ts <= end {
            try ctx.checkDeadline()
            for i in inputs.indices {
                vectors[i].removeAll(keepingCapacity: true)
                ordinals[i].removeAll(keepingCapacity: true)
                flats[i].points.withUnsafeBufferPointer { pts in
                    let ends = flats[i].ends
                    for s in 0 ..< ends.count {
                        let c = cursors[i][s]
                        guard c < ends[s], pts[c].t == ts else { continue }
                        vectors[i].append(Element(labels: inputs[i][s].labels, v: pts[c].v, t: ts,
                                                  dropName: inputs[i][s].dropName, source: Int32(truncatingIfNeeded: s)))
                        if let so = seriesOrdinals { ordinals[i].append(so[i][s]) }
                        cursors[i][s] = c + 1
                    }
                }
            }
            let result = try body(vectors, ordinals, ts)
            try ctx.addSamples(result.count)
            if isInstant {
                ctx.releaseSamples(inputs.reduce(0) { $0 + $1.reduce(0) { $0 + $1.points.count } })
                return result.map { Series(labels: $0.labels, points: [Sample(t: ts, v: $0.v)], dropName: $0.dropName) }
            }
            for el in result {
                if let idx = outputIndex[el.labels] {
                    if lastStepOf[idx] == ts {
                        throw QueryError(.execution, "vector cannot contain metrics with the same labelset")
                    }
                    lastStepOf[idx] = ts
                    output[idx].points.append(Sample(t: ts, v: el.v))
                } else {
                    outputIndex[el.labels] = output.count
                    lastStepOf.append(ts)
                    // No room reserved for every step: a series may get one point only
                    // (count_values makes one per distinct value).
                    var s = Series(labels: el.labels, points: [], dropName: el.dropName)
                    s.points.append(Sample(t: ts, v: el.v))
                    output.append(s)
                }
            }
            ts += interval
        }
        ctx.releaseSamples(inputs.reduce(0) { $0 + $1.reduce(0) { $0 + $1.points.count } })
        return output
    }

    /// Assigns every input series the ordinal of its join signature (the labels binary matching
    /// compares), so that steps can match elements by integer instead of by labels.
    func signatureOrdinals(_ inputs: [Matrix], _ matching: VectorMatching) -> (ordinals: [[Int]], count: Int) {
        let names = LabelNameSet(matching.matchingLabels)
        var ordinalOf: [Labels: Int] = [:]
        let ordinals = inputs.map { m in
            m.map { s in
                let sig = matching.on ? s.labels.keeping(names) : s.labels.removingWithName(names)
                if let o = ordinalOf[sig] { return o }
                let o = ordinalOf.count
                ordinalOf[sig] = o
                return o
            }
        }
        return (ordinals, ordinalOf.count)
    }

    /// The scalar value of a number-typed argument at each step.
    func scalarValues(_ expr: Expr) throws -> [Double] {
        let m = try eval(expr).matrix
        var out = [Double](repeating: .nan, count: numSteps)
        if let s = m.first {
            for p in s.points { out[stepIndex(p.t)] = p.v }
        }
        return out
    }
}

/// Removes parentheses around an expression (Prometheus unwraps function and aggregation
/// arguments before evaluation).
func unwrapParens(_ e: Expr) -> Expr {
    var e = e
    while case .paren(let p) = e { e = p.expr }
    return e
}
