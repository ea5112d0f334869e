import StrataModel
import StrataPromQLParser

/// Running state of one aggregation group at one step.
/// One (group, step) cell of an aggregation. The flags come last, so a cell is 40 bytes, not 48:
/// `sum by (instance)` over 9,091 groups and 15 steps holds 136k of them (growing by doubling).
struct GroupState {
    var value = 0.0
    var kahan = 0.0
    var mean = 0.0
    var count = 0.0
    var seen = false
    var incrementalMean = false
    var dropName = false
}

extension Evaluator {
    func evalAggregate(_ a: AggregateExpr) throws -> Matrix {
        let grouping = a.grouping.sorted()
        let expr = unwrapParens(a.expr)
        if a.op == .countValues {
            return try evalCountValues(a, grouping: grouping, expr: expr)
        }
        var params: [Double] = []
        if let p = a.param { params = try scalarValues(unwrapParens(p)) }
        let input: Matrix
        switch a.op {
        case .topk, .bottomk, .limitk, .limitRatio: input = try eval(expr).matrix   // they return their input's labels
        case .quantile: input = try aggregateInput(expr, grouping: grouping, without: a.without)
        default:
            if let folded = try foldedAggregate(a, grouping: grouping, expr: expr) { return folded }
            input = try aggregateInput(expr, grouping: grouping, without: a.without)
        }

        switch a.op {
        case .topk, .bottomk, .limitk, .limitRatio:
            return try evalTopK(a, grouping: grouping, input: input, params: params)
        case .quantile:
            warnInvalidQuantiles(params, position: a.param!.positionRange)
        default:
            break
        }

        // Map every input series to its group once; groups keep first-seen order.
        let names = LabelNameSet(grouping)
        var groupOf: [Labels: Int] = [:]
        var groupLabels: [Labels] = []
        var seriesGroup = [Int](repeating: 0, count: input.count)
        if !a.without && grouping.isEmpty {
            if !input.isEmpty { groupLabels = [.empty] }   // one group: no key to hash per series
        } else {
            for (i, s) in input.enumerated() {
                let key = a.without ? s.labels.removingWithName(names) : s.labels.keeping(names)
                if let g = groupOf[key] { seriesGroup[i] = g } else {
                    seriesGroup[i] = groupLabels.count
                    groupOf[key] = groupLabels.count
                    groupLabels.append(key)
                }
            }
        }

        var output = groupLabels.map { Series(labels: $0, points: []) }
        // Series by series when a state per (group, step) fits a bounded table: each state still
        // takes its values in series order, as the step-by-step walk below does, without first
        // copying every point into one array.
        if a.op != .quantile, interval > 0, groupLabels.count * numSteps <= ctx.options.aggregationTableStates {
            var table = [GroupState](repeating: GroupState(), count: groupLabels.count * numSteps)
            for (si, s) in input.enumerated() {
                if si & 1023 == 0 { try ctx.checkDeadline() }
                fold(a.op, s, into: &table, group: seriesGroup[si])
            }
            fillOutput(&output, a.op, from: table)
            return try finishAggregate(input: input, output: output)
        }
        var states = [GroupState](repeating: GroupState(), count: groupLabels.count)
        // quantile's values per group (kept apart so GroupState stays a plain value).
        var values = [[Double]](repeating: [], count: a.op == .quantile ? groupLabels.count : 0)
        let flat = FlatMatrix(input)
        var cursors = flat.starts
        let dropNames = input.map(\.dropName)
        try flat.points.withUnsafeBufferPointer { pts in
            var ts = start, step = 0
            while ts <= end {
                try ctx.checkDeadline()
                for g in states.indices { states[g].seen = false }
                for g in values.indices { values[g].removeAll(keepingCapacity: true) }
                for si in 0 ..< cursors.count {
                    let c = cursors[si]
                    guard c < flat.ends[si], pts[c].t == ts else { continue }
                    cursors[si] = c + 1
                    let g = seriesGroup[si]
                    accumulate(a.op, &states[g], pts[c].v, dropName: dropNames[si])
                    if a.op == .quantile { values[g].append(pts[c].v) }
                }
                for g in states.indices where states[g].seen {
                    let v: Double
                    if a.op == .quantile {
                        v = HistogramQuantile.quantile(params[step], &values[g])
                    } else {
                        v = finish(a.op, states[g])
                    }
                    output[g].points.append(Sample(t: ts, v: v))
                    output[g].dropName = states[g].dropName
                }
                ts += interval; step += 1
            }
        }
        return try finishAggregate(input: input, output: output)
    }

    /// Folds one series' points into its group's row of a (group, step) table.
    private func fold(_ op: AggregateOp, _ s: Series, into table: inout [GroupState], group: Int) {
        let steps = numSteps, base = group * steps
        for p in s.points {
            let offset = p.t - start
            let (step, off) = offset.quotientAndRemainder(dividingBy: interval)
            guard offset >= 0, off == 0, step < steps else { continue }
            accumulate(op, &table[base + Int(step)], p.v, dropName: s.dropName)
        }
    }

    /// Each group's points from its row of the table.
    private func fillOutput(_ output: inout Matrix, _ op: AggregateOp, from table: [GroupState]) {
        let steps = numSteps
        for g in output.indices {
            for step in 0 ..< steps where table[g * steps + step].seen {
                output[g].points.append(Sample(t: start + Int64(step) * interval, v: finish(op, table[g * steps + step])))
                output[g].dropName = table[g * steps + step].dropName
            }
        }
    }

    /// `sum(rate(x[5m]))` and the like, folded into the (group, step) table as the range function
    /// hands over its series, so the function's whole output never exists at once: at a million
    /// series that output, not the table, was most of the query's memory. Only where the answer
    /// is the materialised path's, in the same order: the input `aggregateInput` would read with
    /// the names left on, an aggregation the table serves, a function other than
    /// `absent_over_time`. nil when it does not apply; also when a series turns out to carry
    /// `__type__` or `__unit__` (two could collide once the name is off, an error only the whole
    /// input shows) or the groups outgrow the table: the general path then starts over.
    private func foldedAggregate(_ a: AggregateExpr, grouping: [String], expr: Expr) throws -> Matrix? {
        guard a.op != .quantile, interval > 0, numSteps <= ctx.options.aggregationTableStates,
              namesCanStayOn(expr, grouping: grouping, without: a.without),
              case .call(let call) = expr, call.function.name != "absent_over_time", !call.function.nativeHistogramOnly
        else { return nil }
        let args = call.args.map(unwrapParens)
        guard let matrixIndex = args.firstIndex(where: { $0.type == .matrix }) else { return nil }

        struct StartOver: Error {}
        let steps = numSteps, bound = ctx.options.aggregationTableStates
        let names = LabelNameSet(grouping)
        var groupOf: [Labels: Int] = [:]
        var groupLabels: [Labels] = []
        var table: [GroupState] = []
        rangeSelectionUnsorted = !isInstant || grouping.isEmpty
        defer { rangeSelectionUnsorted = false }
        do {
            try ctx.withSelectFunction(call.function.name) {
                try ctx.checkDeadline()
                try streamRangeFunction(call, args: args, matrixIndex: matrixIndex) { s in
                    defer { ctx.releaseSamples(s.points.count) }
                    if s.dropName && s.labels.hasTypeOrUnit { throw StartOver() }
                    var g = 0
                    if grouping.isEmpty {
                        if groupLabels.isEmpty { groupLabels = [.empty]; table = Array(repeating: GroupState(), count: steps) }
                    } else {
                        let key = s.labels.keeping(names)
                        if let known = groupOf[key] { g = known } else {
                            g = groupLabels.count
                            guard (g + 1) * steps <= bound else { throw StartOver() }
                            groupOf[key] = g
                            groupLabels.append(key)
                            table.append(contentsOf: repeatElement(GroupState(), count: steps))
                        }
                    }
                    var s = s
                    s.dropName = false   // as aggregateInput leaves them
                    fold(a.op, s, into: &table, group: g)
                }
            }
        } catch is StartOver {
            return nil
        }
        var output = groupLabels.map { Series(labels: $0, points: []) }
        fillOutput(&output, a.op, from: table)
        return try finishAggregate(input: [], output: output)
    }

    /// The input of an aggregation that returns group labels only. Without delayed name removal,
    /// `eval` takes the metric name (and `__type__`, `__unit__`) off every series a function such
    /// as `rate` returns, a new label set each, then checks that no two became equal. Neither is
    /// needed when the function reads a selector of one metric name and its series carry no
    /// `__type__` or `__unit__` (so none can collide) and the grouping keeps none of those labels
    /// (so the groups are the same): at a million series that is a fifth of `sum(rate(...))`.
    /// The function's series are then also read in any order (as Prometheus reads them) where
    /// order cannot show: in a range query, whose result is sorted at the end, or into a single
    /// group; sorting a million label sets was a tenth of the query.
    private func aggregateInput(_ expr: Expr, grouping: [String], without: Bool) throws -> Matrix {
        guard namesCanStayOn(expr, grouping: grouping, without: without) else { return try eval(expr).matrix }
        rangeSelectionUnsorted = !isInstant || grouping.isEmpty
        defer { rangeSelectionUnsorted = false }
        var m = try evalNode(expr).matrix
        if m.contains(where: { $0.dropName && $0.labels.hasTypeOrUnit }) { return try stripNamesAndMerge(m) }
        for i in m.indices { m[i].dropName = false }
        return m
    }

    /// Whether an aggregation's input may keep its metric names (`aggregateInput`): a function of
    /// a range selector of one metric name, grouped by labels other than the name's.
    private func namesCanStayOn(_ expr: Expr, grouping: [String], without: Bool) -> Bool {
        func oneMetricName(_ e: Expr) -> Bool {
            guard case .matrixSelector(let ms) = unwrapParens(e) else { return false }
            return ms.vectorSelector.matchers.contains { $0.kind == .equal && $0.name == "__name__" }
        }
        guard !ctx.options.delayedNameRemoval, !without,
              !grouping.contains(where: { $0 == "__name__" || $0 == "__type__" || $0 == "__unit__" }),
              case .call(let call) = expr else { return false }
        return call.args.contains(where: oneMetricName)
    }

    /// The groups that have points, with the sample count moved from the input to them.
    private func finishAggregate(input: Matrix, output: Matrix) throws -> Matrix {
        ctx.releaseSamples(input.reduce(0) { $0 + $1.points.count })
        let result = output.filter { !$0.points.isEmpty }
        try ctx.addSamples(result.reduce(0) { $0 + $1.points.count })
        return result
    }

    private func accumulate(_ op: AggregateOp, _ g: inout GroupState, _ f: Double, dropName: Bool) {
        if !g.seen {
            g = GroupState(value: f, kahan: 0, mean: f, count: 1, seen: true, incrementalMean: false, dropName: dropName)
            switch op {
            case .stddev, .stdvar: g.value = (f.isNaN || f.isInfinite) ? .nan : 0
            case .group: g.value = 1
            default: break
            }
            return
        }
        if dropName { g.dropName = true }
        switch op {
        case .sum:
            kahanInc(f, &g.value, &g.kahan)
        case .avg:
            g.count += 1
            if !g.incrementalMean {
                var v = g.value, c = g.kahan
                kahanInc(f, &v, &c)
                if !v.isInfinite { g.value = v; g.kahan = c; break }
                // The running sum would overflow: continue with an incremental mean.
                g.incrementalMean = true
                g.mean = g.value / (g.count - 1)
                g.kahan /= g.count - 1
            }
            let q = (g.count - 1) / g.count
            var m = q * g.mean, c = q * g.kahan
            kahanInc(f / g.count, &m, &c)
            g.mean = m; g.kahan = c
        case .max:
            if g.value < f || g.value.isNaN { g.value = f }
        case .min:
            if g.value > f || g.value.isNaN { g.value = f }
        case .count:
            g.count += 1
        case .stddev, .stdvar:
            g.count += 1
            let delta = f - g.mean
            g.mean += delta / g.count
            g.value += delta * (f - g.mean)
        default:
            break
        }
    }

    private func finish(_ op: AggregateOp, _ g: GroupState) -> Double {
        switch op {
        case .avg:
            return g.incrementalMean ? g.mean + g.kahan : g.value / g.count + g.kahan / g.count
        case .count: return g.count
        case .stdvar: return g.value / g.count
        case .stddev: return (g.value / g.count).squareRoot()
        case .sum: return g.value + g.kahan
        default: return g.value
        }
    }

    /// Prometheus' `kahansum.Inc`.
    private func kahanInc(_ inc: Double, _ sum: inout Double, _ c: inout Double) {
        var k = KahanSum(sum: sum, compensation: c)
        k.add(inc)
        sum = k.sum; c = k.compensation
    }

    // MARK: - count_values

    private func evalCountValues(_ a: AggregateExpr, grouping: [String], expr: Expr) throws -> Matrix {
        let valueLabel = stringArgument(a.param!)
        guard isValidLabelName(valueLabel) else {
            throw QueryError(.execution, "invalid label name \(goQuote(valueLabel))")
        }
        var grouping = grouping
        if !a.without { grouping.append(valueLabel); grouping.sort() }
        let names = LabelNameSet(grouping)
        return try rangeEval([expr]) { v, _, ts in
            var counts: [Labels: Int] = [:]
            var order: [Labels] = []
            for e in v[0] {
                let metric = e.labels.setting(valueLabel, GoFloat.formatF(e.v))
                let key = a.without ? metric.removingWithName(names) : metric.keeping(names)
                if counts[key] == nil { order.append(key); counts[key] = 0 }
                counts[key]! += 1
            }
            return order.map { Element(labels: $0, v: Double(counts[$0]!), t: ts) }
        }
    }

    // MARK: - topk, bottomk, limitk, limit_ratio

    private func evalTopK(_ a: AggregateExpr, grouping: [String], input: Matrix, params: [Double]) throws -> Matrix {
        if a.op == .limitRatio {
            throw QueryError(.badData, "limit_ratio is not supported yet")
        }
        if params.contains(where: { $0.isNaN }) { throw QueryError(.execution, "Parameter value is NaN") }
        if let lo = params.min(), lo <= -9.223372036854776e18 {
            throw QueryError(.execution, "Scalar value \(GoFloat.formatG(lo)) underflows int64")
        }
        if let hi = params.max(), hi >= 9.223372036854776e18 {
            throw QueryError(.execution, "Scalar value \(GoFloat.formatG(hi)) overflows int64")
        }
        if (params.max() ?? 0) < 1 { return [] }

        let names = LabelNameSet(grouping)
        var groupOf: [Labels: Int] = [:]
        var seriesGroup = [Int](repeating: 0, count: input.count)
        for (i, s) in input.enumerated() {
            let key = a.without ? s.labels.removingWithName(names) : (grouping.isEmpty ? Labels.empty : s.labels.keeping(names))
            if let g = groupOf[key] { seriesGroup[i] = g } else { seriesGroup[i] = groupOf.count; groupOf[key] = groupOf.count }
        }
        let groupCount = groupOf.count
        var cursors = [Int](repeating: 0, count: input.count)
        var output: Matrix = []
        var outputIndex: [Labels: Int] = [:]
        var ts = start, step = 0
        while ts <= end {
            try ctx.checkDeadline()
            let k = Int(Swift.min(params[step], Double(input.count)))
            var heaps = [[Int]](repeating: [], count: groupCount) // indices into input
            var values = [Double](repeating: 0, count: input.count)
            for (si, s) in input.enumerated() {
                let c = cursors[si]
                guard c < s.points.count, s.points[c].t == ts else { continue }
                cursors[si] = c + 1
                guard k >= 1 else { continue }
                values[si] = s.points[c].v
                let g = seriesGroup[si]
                switch a.op {
                case .limitk:
                    if heaps[g].count < k { heaps[g].append(si) }
                case .topk:
                    GoHeap.pushOrReplace(&heaps[g], si, k: k,
                                         less: { lessTop(values[$0], values[$1]) },
                                         replaces: { new, top in values[top] < values[new] || (values[top].isNaN && !values[new].isNaN) })
                default:
                    GoHeap.pushOrReplace(&heaps[g], si, k: k,
                                         less: { lessBottom(values[$0], values[$1]) },
                                         replaces: { new, top in values[top] > values[new] || (values[top].isNaN && !values[new].isNaN) })
                }
            }
            if k >= 1 {
                for var h in heaps where !h.isEmpty {
                    switch a.op {
                    case .topk: h.sort { lessTop(values[$1], values[$0]) }
                    case .bottomk: h.sort { lessBottom(values[$1], values[$0]) }
                    default: break
                    }
                    for si in h {
                        let s = input[si]
                        if let o = outputIndex[s.labels] {
                            output[o].points.append(Sample(t: ts, v: values[si]))
                        } else {
                            outputIndex[s.labels] = output.count
                            output.append(Series(labels: s.labels, points: [Sample(t: ts, v: values[si])], dropName: s.dropName))
                        }
                    }
                }
            }
            ts += interval; step += 1
        }
        ctx.releaseSamples(input.reduce(0) { $0 + $1.points.count })
        try ctx.addSamples(output.reduce(0) { $0 + $1.points.count })
        return output
    }
}

/// topk's heap order: smallest on top, NaN smallest of all.
private func lessTop(_ a: Double, _ b: Double) -> Bool { a.isNaN ? true : a < b }
/// bottomk's heap order: largest on top, NaN "largest".
private func lessBottom(_ a: Double, _ b: Double) -> Bool { a.isNaN ? true : a > b }

/// Go's `container/heap` operations, so that ties are broken the way Prometheus breaks them.
enum GoHeap {
    /// Pushes while the heap has fewer than k elements; otherwise replaces the top when
    /// `replaces(new, top)`, then restores the heap.
    static func pushOrReplace(_ h: inout [Int], _ x: Int, k: Int, less: (Int, Int) -> Bool,
                              replaces: (Int, Int) -> Bool) {
        if h.count < k {
            h.append(x)
            up(&h, h.count - 1, less)
        } else if replaces(x, h[0]) {
            h[0] = x
            if k > 1 { fix(&h, 0, less) }
        }
    }

    static func up(_ h: inout [Int], _ j0: Int, _ less: (Int, Int) -> Bool) {
        var j = j0
        while true {
            let i = (j - 1) / 2
            if i == j || j <= 0 || !less(h[j], h[i]) { break }
            h.swapAt(i, j)
            j = i
        }
    }

    @discardableResult
    static func down(_ h: inout [Int], _ i0: Int, _ n: Int, _ less: (Int, Int) -> Bool) -> Bool {
        var i = i0
        while true {
            let j1 = 2 * i + 1
            if j1 >= n || j1 < 0 { break }
            var j = j1
            let j2 = j1 + 1
            if j2 < n && less(h[j2], h[j1]) { j = j2 }
            if !less(h[j], h[i]) { break }
            h.swapAt(i, j)
            i = j
        }
        return i > i0
    }

    static func fix(_ h: inout [Int], _ i: Int, _ less: (Int, Int) -> Bool) {
        if !down(&h, i, h.count, less) { up(&h, i, less) }
    }
}
