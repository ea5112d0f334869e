import StrataModel
import StrataPromQLParser

extension Evaluator {
    func evalCall(_ call: Call) throws -> Matrix {
        let name = call.function.name
        let args = call.args.map(unwrapParens)
        if call.function.nativeHistogramOnly || name == "histogram_quantiles" {
            throw QueryError(.badData, "native histograms are not supported yet: function \(name) cannot be evaluated")
        }
        switch name {
        case "info", "start_timestamp":
            throw QueryError(.badData, "function \(name) is not supported yet")
        case "label_replace":
            return try evalLabelReplace(args)
        case "label_join":
            return try evalLabelJoin(args)
        case "timestamp":
            if case .vectorSelector(let vs) = args[0] { return try evalTimestampOfSelector(vs) }
        default:
            break
        }
        if ["sort", "sort_desc", "sort_by_label", "sort_by_label_desc"].contains(name), !isInstant {
            ctx.annotate(Annotation(.warning, "sort is ineffective for range queries since results are always ordered by labels",
                                    position: call.position))
        }
        if let matrixIndex = args.firstIndex(where: { $0.type == .matrix }) {
            return try evalRangeFunction(call, args: args, matrixIndex: matrixIndex)
        }
        return try evalVectorFunction(call, args: args)
    }

    // MARK: - Functions over instant vectors and scalars

    private func evalVectorFunction(_ call: Call, args: [Expr]) throws -> Matrix {
        let name = call.function.name
        if let f = ElementwiseKernels.unary[name] {
            return try rangeEval(args) { v, _, _ in v[0].map { mapped($0, f($0.v)) } }
        }
        switch name {
        case "time":
            return try rangeEval([]) { _, _, ts in [Element(labels: .empty, v: Double(ts) / 1000)] }
        case "pi":
            return try rangeEval([]) { _, _, _ in [Element(labels: .empty, v: Double.pi)] }
        case "vector":
            return try rangeEval(args) { v, _, _ in [Element(labels: .empty, v: v[0][0].v)] }
        case "scalar":
            return try rangeEval(args) { v, _, _ in
                [Element(labels: .empty, v: v[0].count == 1 ? v[0][0].v : .nan)]
            }
        case "timestamp":
            return try rangeEval(args) { v, _, ts in v[0].map { mapped($0, Double(ts) / 1000) } }
        case "absent":
            let labels = absentLabels(args[0])
            return try rangeEval(args) { v, _, _ in v[0].isEmpty ? [Element(labels: labels, v: 1)] : [] }
        case "round":
            return try rangeEval(args) { v, _, _ in
                let toNearest = v.count > 1 ? v[1][0].v : 1
                return v[0].map { mapped($0, ElementwiseKernels.round($0.v, toNearest: toNearest)) }
            }
        case "clamp", "clamp_min", "clamp_max":
            return try rangeEval(args) { v, _, _ in
                let lo: Double, hi: Double
                switch name {
                case "clamp": lo = v[1][0].v; hi = v[2][0].v
                case "clamp_min": lo = v[1][0].v; hi = .infinity
                default: lo = -.infinity; hi = v[1][0].v
                }
                if hi < lo { return [] }
                return v[0].map { mapped($0, ElementwiseKernels.goMax(lo, ElementwiseKernels.goMin(hi, $0.v))) }
            }
        case "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year":
            if args.isEmpty {
                return try rangeEval([]) { _, _, ts in
                    [Element(labels: .empty, v: ElementwiseKernels.dateComponent(name, seconds: Double(ts / 1000)))]
                }
            }
            return try rangeEval(args) { v, _, _ in
                v[0].map { mapped($0, ElementwiseKernels.dateComponent(name, seconds: $0.v)) }
            }
        case "sort", "sort_desc":
            let descending = name == "sort_desc"
            return try rangeEval(args) { v, _, _ in sortedByValue(v[0], descending: descending) }
        case "sort_by_label", "sort_by_label_desc":
            let labelNames = args.dropFirst().map(stringArgument)
            let descending = name == "sort_by_label_desc"
            return try rangeEval(args) { v, _, _ in
                v[0].sorted { a, b in
                    for l in labelNames {
                        let x = a.labels.value(l), y = b.labels.value(l)
                        if x == y { continue }
                        return naturalLess(x, y) != descending
                    }
                    let c = Labels.compare(a.labels, b.labels)
                    return descending ? c > 0 : c < 0
                }
            }
        case "histogram_quantile":
            return try evalHistogramQuantile(call, args: args)
        default:
            throw QueryError(.badData, "function \(name) is not supported yet")
        }
    }

    /// An element transformed by a function: the value changes, so the metric name goes.
    private func mapped(_ e: Element, _ v: Double) -> Element {
        Element(labels: e.labels, v: v, t: e.t, dropName: true)
    }

    private func sortedByValue(_ v: [Element], descending: Bool) -> [Element] {
        // NaN sorts last in both directions, as in Prometheus.
        v.sorted { a, b in
            if a.v.isNaN { return false }
            if b.v.isNaN { return true }
            return descending ? a.v > b.v : a.v < b.v
        }
    }

    // MARK: - Functions over range vectors

    private func evalRangeFunction(_ call: Call, args: [Expr], matrixIndex: Int) throws -> Matrix {
        var result: Matrix = []
        try streamRangeFunction(call, args: args, matrixIndex: matrixIndex) { result.append($0) }

        if call.function.name == "absent_over_time" {
            var present = Set<Int64>()
            for s in result { for p in s.points { present.insert(p.t) } }
            var points: [Sample] = []
            var ts = start
            while ts <= end {
                if !present.contains(ts) { points.append(Sample(t: ts, v: 1)) }
                ts += interval
            }
            result = points.isEmpty ? [] : [Series(labels: absentLabels(args[0]), points: points, dropName: true)]
        }
        return result
    }

    /// A range function's output series, handed to `emit` one at a time in the order of its input
    /// series, each already counted against `--query.max-samples`: an aggregation around the call
    /// can fold them in as they come instead of holding all of them (`absent_over_time` needs its
    /// whole output and is finished by `evalRangeFunction`).
    func streamRangeFunction(_ call: Call, args: [Expr], matrixIndex: Int, _ emit: (Series) throws -> Void) throws {
        let name = call.function.name
        // Series in any order when the aggregation around this call asked for it (`aggregateInput`,
        // `foldedAggregate`).
        let sortSeries = !rangeSelectionUnsorted
        rangeSelectionUnsorted = false
        var scalars: [[Double]] = []
        for (i, a) in args.enumerated() where i != matrixIndex { scalars.append(try scalarValues(a)) }
        if name == "quantile_over_time" { warnInvalidQuantiles(scalars[0], position: args[0].positionRange) }
        let kernel = try Self.rangeKernel(name, scalars: scalars, start: start, interval: interval)
        // last_over_time and first_over_time act like an offset and keep the metric name.
        let dropName = name != "last_over_time" && name != "first_over_time"
        let isCounterFunction = name == "rate" || name == "increase"
        // Scalar arguments and predict_linear's intercept time change with the step.
        let stepInvariant = scalars.isEmpty && name != "predict_linear"

        if case .matrixSelector(let ms) = args[matrixIndex], ctx.options.parallelism > 1 {
            try parallelRangeFunction(ms, name: name, scalars: scalars, dropName: dropName, stepInvariant: stepInvariant,
                                      isCounterFunction: isCounterFunction, position: args[0].positionRange,
                                      sortSeries: sortSeries, emit)
        } else {
            try forEachRangeSeries(args[matrixIndex], sortSeries: sortSeries) { series in
                let w = windows(of: args[matrixIndex])
                guard let out = try windowsOf(series, w, dropName: dropName, stepInvariant: stepInvariant, kernel) else { return }
                if isCounterFunction { annotateIfNotCounter(series.labels, position: args[0].positionRange) }
                try emit(out)
            }
        }
    }

    /// rate() and increase() of a metric whose name does not look like a counter's: Prometheus' info.
    func annotateIfNotCounter(_ labels: Labels, position: PositionRange) {
        guard let metric = labels.get("__name__"), !metric.isEmpty,
              !(metric.hasSuffix("_total") || metric.hasSuffix("_sum") || metric.hasSuffix("_count") || metric.hasSuffix("_bucket")) else { return }
        ctx.annotate(Annotation(.info, "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \(goQuote(metric))",
                                position: position))
    }

    /// How a range argument's windows are cut (its range, offset and `@`).
    private func windows(of arg: Expr) -> RangeWindows {
        switch arg {
        case .matrixSelector(let ms):
            return RangeWindows(range: ms.range, offset: ms.vectorSelector.originalOffset, at: ms.vectorSelector.timestamp)
        case .subquery(let sq):
            return RangeWindows(range: sq.range, offset: sq.originalOffset, at: sq.timestamp)
        default:
            return RangeWindows(range: 0, offset: 0, at: nil)
        }
    }

    /// Prometheus warns about the extremes of a quantile parameter: NaN, the largest above 1,
    /// the smallest below 0.
    func warnInvalidQuantiles(_ qs: [Double], position: PositionRange) {
        var bad: [Double] = []
        if qs.contains(where: { $0.isNaN }) { bad.append(.nan) }
        if let hi = qs.filter({ !$0.isNaN }).max(), hi > 1 { bad.append(hi) }
        if let lo = qs.filter({ !$0.isNaN }).min(), lo < 0 { bad.append(lo) }
        for q in bad {
            ctx.annotate(Annotation(.warning, "quantile value should be between 0 and 1, got \(GoFloat.formatG(q))", position: position))
        }
    }

    /// The per-window computation of a range function, chosen once before the windows run.
    /// Stateful kernels (quantile_over_time's scratch) need one instance per thread.
    static func rangeKernel(_ name: String, scalars: [[Double]], start: Int64, interval: Int64) throws -> (RangeWindow, Int) throws -> Double? {
        switch name {
        case "rate": return { w, _ in RangeKernels.extrapolatedRate(w, isCounter: true, isRate: true) }
        case "increase": return { w, _ in RangeKernels.extrapolatedRate(w, isCounter: true, isRate: false) }
        case "delta": return { w, _ in RangeKernels.extrapolatedRate(w, isCounter: false, isRate: false) }
        case "irate": return { w, _ in RangeKernels.instantValue(w, isRate: true) }
        case "idelta": return { w, _ in RangeKernels.instantValue(w, isRate: false) }
        case "changes": return { w, _ in RangeKernels.changes(w) }
        case "resets": return { w, _ in RangeKernels.resets(w) }
        case "deriv": return { w, _ in RangeKernels.deriv(w) }
        case "predict_linear":
            // The intercept is at the step's own time, whatever the offset or @ modifier.
            return { [start, interval] w, step in
                RangeKernels.predictLinear(w, duration: scalars[0][step], evalTime: start + Int64(step) * interval)
            }
        case "avg_over_time": return { w, _ in RangeKernels.avgOverTime(w) }
        case "sum_over_time": return { w, _ in RangeKernels.sumOverTime(w) }
        case "min_over_time": return { w, _ in RangeKernels.minOverTime(w) }
        case "max_over_time": return { w, _ in RangeKernels.maxOverTime(w) }
        case "count_over_time": return { w, _ in RangeKernels.countOverTime(w) }
        case "last_over_time": return { w, _ in RangeKernels.lastOverTime(w) }
        case "first_over_time": return { w, _ in RangeKernels.firstOverTime(w) }
        case "present_over_time", "absent_over_time": return { _, _ in 1 }
        case "stddev_over_time": return { w, _ in RangeKernels.stddevOverTime(w) }
        case "stdvar_over_time": return { w, _ in RangeKernels.stdvarOverTime(w) }
        case "quantile_over_time":
            var scratch: [Double] = []
            return { w, step in RangeKernels.quantileOverTime(w, phi: scalars[0][step], scratch: &scratch) }
        case "mad_over_time":
            var scratch: [Double] = []
            return { w, _ in RangeKernels.madOverTime(w, scratch: &scratch) }
        case "double_exponential_smoothing":
            return { w, step in
                let sf = scalars[0][step], tf = scalars[1][step]
                // Bad factors fail the query, but only once a series has a window to smooth.
                switch RangeKernels.smoothingParameterError(smoothing: sf, trend: tf) {
                case .smoothing: throw QueryError(.execution, "invalid smoothing factor. Expected: 0 < sf < 1, got: \(goFloatF6(sf))")
                case .trend: throw QueryError(.execution, "invalid trend factor. Expected: 0 < tf < 1, got: \(goFloatF6(tf))")
                case nil: return RangeKernels.doubleExponentialSmoothing(w, smoothing: sf, trend: tf)
                }
            }
        case "ts_of_min_over_time": return { w, _ in RangeKernels.tsOfMinOverTime(w) }
        case "ts_of_max_over_time": return { w, _ in RangeKernels.tsOfMaxOverTime(w) }
        case "ts_of_first_over_time": return { w, _ in RangeKernels.tsOfFirstOverTime(w) }
        case "ts_of_last_over_time": return { w, _ in RangeKernels.tsOfLastOverTime(w) }
        default: throw QueryError(.badData, "function \(name) is not supported yet")
        }
    }

    // MARK: - Functions over labels

    private func evalLabelReplace(_ args: [Expr]) throws -> Matrix {
        let dst = stringArgument(args[1]), replacement = stringArgument(args[2])
        let src = stringArgument(args[3]), pattern = stringArgument(args[4])
        let regex: LabelReplaceRegex
        do { regex = try LabelReplaceRegex(pattern) } catch {
            throw QueryError(.execution, "invalid regular expression in label_replace(): \(pattern)")
        }
        guard isValidLabelName(dst) else {
            throw QueryError(.execution, "invalid destination label name in label_replace(): \(dst)")
        }
        var m = try eval(args[0]).matrix
        for i in m.indices {
            let value = m[i].labels.value(src)
            if let replaced = regex.replace(value, with: replacement) {
                m[i].labels = m[i].labels.setting(dst, replaced)
                m[i].dropName = dst == "__name__" ? false : m[i].dropName
            }
        }
        return try mergeSameLabelsets(m)
    }

    private func evalLabelJoin(_ args: [Expr]) throws -> Matrix {
        let dst = stringArgument(args[1]), separator = stringArgument(args[2])
        let sources = args.dropFirst(3).map(stringArgument)
        for s in sources where !isValidLabelName(s) {
            throw QueryError(.execution, "invalid source label name in label_join(): \(s)")
        }
        guard isValidLabelName(dst) else {
            throw QueryError(.execution, "invalid destination label name in label_join(): \(dst)")
        }
        var m = try eval(args[0]).matrix
        for i in m.indices {
            let joined = sources.map { m[i].labels.value($0) }.joined(separator: separator)
            m[i].labels = m[i].labels.setting(dst, joined)
            m[i].dropName = dst == "__name__" ? false : m[i].dropName
        }
        return try mergeSameLabelsets(m)
    }

    // MARK: - histogram_quantile over classic buckets

    /// Buckets are grouped by their labels without `le` once per query (not per step); each
    /// step then fills the groups' bucket arrays and computes the quantile.
    private func evalHistogramQuantile(_ call: Call, args: [Expr]) throws -> Matrix {
        let qs = try scalarValues(args[0])
        warnInvalidQuantiles(qs, position: args[0].positionRange)
        let input = try eval(args[1]).matrix
        defer { ctx.releaseSamples(input.reduce(0) { $0 + $1.points.count }) }
        let le = Array("le".utf8)

        var groupOf: [Labels: Int] = [:]
        var output: Matrix = []
        var seriesGroup = [Int](repeating: -1, count: input.count)
        var upperBound = [Double](repeating: 0, count: input.count)
        for (i, s) in input.enumerated() {
            let leValue = s.labels.value("le")
            guard let upper = GoFloat.parse(leValue) else {
                let metric = s.labels.value("__name__")
                var msg = "bucket label \"le\" is missing or has a malformed value of \(goQuote(leValue))"
                if !metric.isEmpty { msg += " for metric name \(goQuote(metric))" }
                ctx.annotate(Annotation(.warning, msg, position: args[1].positionRange))
                continue
            }
            upperBound[i] = upper
            let key = s.labels.filtered { !$0.elementsEqual(le) }
            if let g = groupOf[key] { seriesGroup[i] = g } else {
                seriesGroup[i] = output.count
                groupOf[key] = output.count
                output.append(Series(labels: key, points: [], dropName: true))
            }
        }

        var buckets = [[ClassicBucket]](repeating: [], count: output.count)
        var cursors = [Int](repeating: 0, count: input.count)
        var ts = start, step = 0
        while ts <= end {
            try ctx.checkDeadline()
            for g in buckets.indices { buckets[g].removeAll(keepingCapacity: true) }
            for (i, s) in input.enumerated() {
                let c = cursors[i]
                guard c < s.points.count, s.points[c].t == ts else { continue }
                cursors[i] = c + 1
                if seriesGroup[i] >= 0 { buckets[seriesGroup[i]].append(ClassicBucket(upperBound: upperBound[i], count: s.points[c].v)) }
            }
            for g in buckets.indices where !buckets[g].isEmpty {
                let r = HistogramQuantile.bucketQuantile(qs[step], &buckets[g])
                if r.forcedMonotonicity {
                    let metric = output[g].labels.value("__name__")
                    var msg = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)"
                    if !metric.isEmpty { msg += " for metric name \(goQuote(metric))" }
                    ctx.annotate(Annotation(.info, msg, position: args[1].positionRange))
                }
                output[g].points.append(Sample(t: ts, v: r.value))
            }
            ts += interval; step += 1
        }
        let result = output.filter { !$0.points.isEmpty }
        try ctx.addSamples(result.reduce(0) { $0 + $1.points.count })
        return result
    }
}

/// The string value of a string-literal argument.
func stringArgument(_ e: Expr) -> String {
    if case .string(let s) = unwrapParens(e) { return s.value }
    return ""
}

/// Prometheus (UTF-8 mode) accepts any non-empty valid UTF-8 label name.
func isValidLabelName(_ s: String) -> Bool { !s.isEmpty }

/// The labels `absent()` reports: the equality matchers of a plain selector (names set twice are dropped).
func absentLabels(_ e: Expr) -> Labels {
    let matchers: [LabelMatcher]
    switch unwrapParens(e) {
    case .vectorSelector(let vs): matchers = vs.matchers
    case .matrixSelector(let ms): matchers = ms.vectorSelector.matchers
    default: return .empty
    }
    var b = LabelsBuilder()
    var has = Set<ByteString>()
    for m in matchers where m.name != "__name__" {
        if m.kind == .equal, !has.contains(ByteString(m.name)) {
            b.set(m.name, m.value)
            has.insert(ByteString(m.name))
        } else {
            b.delete(m.name)
        }
    }
    return b.labels()
}
