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
        let name = call.function.name
        var scalars: [[Double]] = []
        for (i, a) in args.enumerated() where i != matrixIndex { scalars.append(try scalarValues(a)) }
        let source: RangeSource
        switch args[matrixIndex] {
        case .matrixSelector(let ms): source = try rangeSource(ms)
        case .subquery(let sq): source = try rangeSource(sq)
        default: throw QueryError(.execution, "unexpected argument to \(name)")
        }
        // last_over_time and first_over_time act like an offset and keep the metric name.
        let dropName = name != "last_over_time" && name != "first_over_time"

        if name == "quantile_over_time" {
            for q in Set(scalars[0]) where q.isNaN || q < 0 || q > 1 {
                ctx.annotate(Annotation(.warning, "quantile value should be between 0 and 1, got \(goFloatG(q))",
                                        position: args[0].positionRange))
            }
        }
        var scratch: [Double] = []
        var result = try forEachWindow(source, dropName: dropName) { w, step, _ in
            switch name {
            case "rate": return RangeKernels.extrapolatedRate(w, isCounter: true, isRate: true)
            case "increase": return RangeKernels.extrapolatedRate(w, isCounter: true, isRate: false)
            case "delta": return RangeKernels.extrapolatedRate(w, isCounter: false, isRate: false)
            case "irate": return RangeKernels.instantValue(w, isRate: true)
            case "idelta": return RangeKernels.instantValue(w, isRate: false)
            case "changes": return RangeKernels.changes(w)
            case "resets": return RangeKernels.resets(w)
            case "deriv": return RangeKernels.deriv(w)
            case "predict_linear":
                // The intercept is at the step's own time, whatever the offset or @ modifier.
                return RangeKernels.predictLinear(w, duration: scalars[0][step], evalTime: start + Int64(step) * interval)
            case "avg_over_time": return RangeKernels.avgOverTime(w)
            case "sum_over_time": return RangeKernels.sumOverTime(w)
            case "min_over_time": return RangeKernels.minOverTime(w)
            case "max_over_time": return RangeKernels.maxOverTime(w)
            case "count_over_time": return RangeKernels.countOverTime(w)
            case "last_over_time": return RangeKernels.lastOverTime(w)
            case "first_over_time": return RangeKernels.firstOverTime(w)
            case "present_over_time", "absent_over_time": return 1
            case "stddev_over_time": return RangeKernels.stddevOverTime(w)
            case "stdvar_over_time": return RangeKernels.stdvarOverTime(w)
            case "quantile_over_time": return RangeKernels.quantileOverTime(w, phi: scalars[0][step], scratch: &scratch)
            case "mad_over_time": return RangeKernels.madOverTime(w, scratch: &scratch)
            case "double_exponential_smoothing":
                let sf = scalars[0][step], tf = scalars[1][step]
                // Bad factors fail the query, but only once a series has a window to smooth.
                switch RangeKernels.smoothingParameterError(smoothing: sf, trend: tf) {
                case .smoothing: throw QueryError(.execution, "invalid smoothing factor. Expected: 0 < sf < 1, got: \(goFloatF6(sf))")
                case .trend: throw QueryError(.execution, "invalid trend factor. Expected: 0 < tf < 1, got: \(goFloatF6(tf))")
                case nil: return RangeKernels.doubleExponentialSmoothing(w, smoothing: sf, trend: tf)
                }
            case "ts_of_min_over_time": return RangeKernels.tsOfMinOverTime(w)
            case "ts_of_max_over_time": return RangeKernels.tsOfMaxOverTime(w)
            case "ts_of_first_over_time": return RangeKernels.tsOfFirstOverTime(w)
            case "ts_of_last_over_time": return RangeKernels.tsOfLastOverTime(w)
            default: throw QueryError(.badData, "function \(name) is not supported yet")
            }
        }

        if name == "rate" || name == "increase" {
            for s in result {
                if let metric = s.labels.get("__name__"), !metric.isEmpty,
                   !(metric.hasSuffix("_total") || metric.hasSuffix("_sum") || metric.hasSuffix("_count") || metric.hasSuffix("_bucket")) {
                    ctx.annotate(Annotation(.info, "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \(goQuote(metric))",
                                            position: args[0].positionRange))
                }
            }
        }
        if name == "absent_over_time" {
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

    private func evalHistogramQuantile(_ call: Call, args: [Expr]) throws -> Matrix {
        let le = Array("le".utf8)
        return try rangeEval(args) { v, _, ts in
            guard let q = v[0].first?.v else { return [] }
            if q.isNaN || q < 0 || q > 1 {
                ctx.annotate(Annotation(.warning, "quantile value should be between 0 and 1, got \(goFloatG(q))",
                                        position: args[0].positionRange))
            }
            var groups: [Labels: (labels: Labels, buckets: [ClassicBucket])] = [:]
            var order: [Labels] = []
            for e in v[1] {
                let leValue = e.labels.value("le")
                guard let upper = parseGoFloat(leValue) else {
                    let metric = e.labels.value("__name__")
                    var msg = "bucket label \"le\" is missing or has a malformed value of \(goQuote(leValue))"
                    if !metric.isEmpty { msg += " for metric name \(goQuote(metric))" }
                    ctx.annotate(Annotation(.warning, msg, position: args[1].positionRange))
                    continue
                }
                let key = e.labels.filtered { !$0.elementsEqual(le) }
                if groups[key] == nil {
                    groups[key] = (key, [])
                    order.append(key)
                }
                groups[key]!.buckets.append(ClassicBucket(upperBound: upper, count: e.v))
            }
            var out: [Element] = []
            for key in order {
                var buckets = groups[key]!.buckets
                let r = HistogramQuantile.bucketQuantile(q, &buckets)
                if r.forcedMonotonicity {
                    let metric = key.value("__name__")
                    var msg = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)"
                    if !metric.isEmpty { msg += " for metric name \(goQuote(metric))" }
                    ctx.annotate(Annotation(.info, msg, position: args[1].positionRange))
                }
                out.append(Element(labels: key, v: r.value, t: ts, dropName: true))
            }
            return out
        }
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
    var has = Set<String>()
    for m in matchers where m.name != "__name__" {
        if m.kind == .equal, !has.contains(m.name) {
            b.set(m.name, m.value)
            has.insert(m.name)
        } else {
            b.delete(m.name)
        }
    }
    return b.labels()
}
