import StrataModel
import StrataPromQLParser
import StrataPromQL

/// Compares a query result with an eval's expectation, as Prometheus' `compareResult` does.
/// Every function returns nil on a match, else a one-line reason.
enum ResultComparison {
    /// Where the k-th value of an expected series line sits: `start + k*step`, at most `end`.
    struct Window {
        var start: Int64, end: Int64, step: Int64
    }

    static func compare(_ value: QueryValue, with ev: EvalCommand, window: Window) -> String? {
        switch value {
        case .matrix(let series):
            if ev.ordered { return "expected an ordered result, but the query returned a matrix" }
            if ev.expectedScalar != nil { return "expected a scalar, got a matrix of \(series.count) series" }
            return compareMatrix(series, ev.expectedSeries, window: window)
        case .vector(let elements):
            if ev.expectedScalar != nil { return "expected a scalar, got a vector of \(elements.count) elements" }
            return compareVector(elements, ev.expectedSeries, ordered: ev.ordered)
        case .scalar(_, let v):
            guard let expected = ev.expectedScalar else { return "expected a vector or matrix, got scalar \(ExpectedFloat.format(v))" }
            return ExpectedFloat.matches(expected, v) ? nil : "expected scalar \(ExpectedFloat.format(expected)), got \(ExpectedFloat.format(v))"
        case .string(_, let s):
            let expected = ev.expectedString ?? ""
            return expected == s ? nil : "expected string \(goQuote(expected)), got \(goQuote(s))"
        }
    }

    static func compareVector(_ elements: [VectorElement], _ expected: [SeriesLine], ordered: Bool) -> String? {
        let byLabels = Dictionary(expected.enumerated().map { ($1.labels, (position: $0, line: $1)) }, uniquingKeysWith: { $1 })
        var seen = Set<Labels>()
        for (position, e) in elements.enumerated() {
            guard let exp = byLabels[e.labels] else {
                return "unexpected series \(describe(e.labels)) = \(ExpectedFloat.format(e.v))" + summary(of: elements)
            }
            guard seen.insert(e.labels).inserted else { return "series \(describe(e.labels)) returned twice" }
            if ordered, exp.position != position {
                return "expected \(describe(e.labels)) at position \(exp.position + 1), got it at \(position + 1)"
            }
            switch exp.line.values.first ?? .omitted {
            case .histogram(let h):
                return "expected histogram \(h) for \(describe(e.labels)), got float \(ExpectedFloat.format(e.v))"
            case .omitted:
                return "expected no value for \(describe(e.labels)), got \(ExpectedFloat.format(e.v))"
            case .float(let want):
                if !ExpectedFloat.matches(want, e.v) {
                    return "expected \(ExpectedFloat.format(want)) for \(describe(e.labels)), got \(ExpectedFloat.format(e.v))"
                }
            }
        }
        if let missing = expected.first(where: { !seen.contains($0.labels) }) {
            return "expected series \(describe(missing.labels)) not found" + summary(of: elements)
        }
        return nil
    }

    static func compareMatrix(_ series: [SeriesPoints], _ expected: [SeriesLine], window: Window) -> String? {
        if let unsorted = checkSorted(series) { return unsorted }
        let byLabels = Dictionary(expected.map { ($0.labels, $0) }, uniquingKeysWith: { $1 })
        var seen = Set<Labels>()
        for s in series {
            guard let exp = byLabels[s.labels] else {
                return "unexpected series \(describe(s.labels)) with \(describe(s.points))"
            }
            guard seen.insert(s.labels).inserted else { return "series \(describe(s.labels)) returned twice" }
            var wanted: [Sample] = []
            var histograms = 0
            for (k, v) in exp.values.enumerated() {
                let t = window.start + Int64(k) * window.step
                if t > window.end {
                    return "expected \(exp.values.count) points for \(describe(s.labels)), but the time range cannot hold this many"
                }
                switch v {
                case .float(let f): wanted.append(Sample(t: t, v: f))
                case .histogram: histograms += 1
                case .omitted: break
                }
            }
            if wanted.count != s.points.count || histograms > 0 {
                let hs = histograms > 0 ? " and \(histograms) histogram points" : ""
                return "expected \(wanted.count) float points\(hs) for \(describe(s.labels)), got \(describe(s.points))"
            }
            for (w, got) in zip(wanted, s.points) {
                if w.t != got.t {
                    return "expected a point at t=\(w.t) for \(describe(s.labels)), got \(describe(s.points))"
                }
                if !ExpectedFloat.matches(w.v, got.v) {
                    return "expected \(ExpectedFloat.format(w.v)) at t=\(w.t) for \(describe(s.labels)), got \(ExpectedFloat.format(got.v))"
                }
            }
        }
        if let missing = expected.first(where: { !seen.contains($0.labels) }) {
            return "expected series \(describe(missing.labels)) not found (got \(series.count) series)"
        }
        return nil
    }

    /// A range result must list its series in `Labels.compare` order.
    static func checkSorted(_ series: [SeriesPoints]) -> String? {
        for (a, b) in zip(series, series.dropFirst()) where Labels.compare(a.labels, b.labels) > 0 {
            return "matrix not sorted by labels: \(describe(a.labels)) before \(describe(b.labels))"
        }
        return nil
    }

    // MARK: Formatting

    /// `name{a="b"}` as the scripts write series.
    static func describe(_ labels: Labels) -> String {
        let rest = labels.dropping(["__name__"])
        return (labels.metricName ?? "") + (rest.isEmpty && labels.metricName != nil ? "" : rest.description)
    }

    static func describe(_ points: [Sample]) -> String {
        let shown = points.prefix(6).map { "\(ExpectedFloat.format($0.v))@\($0.t)" }
        return "\(points.count) points [\(shown.joined(separator: " "))\(points.count > 6 ? " …" : "")]"
    }

    private static func summary(of elements: [VectorElement]) -> String {
        let shown = elements.prefix(4).map { "\(describe($0.labels)) \(ExpectedFloat.format($0.v))" }
        return " (got \(elements.count) series: \(shown.joined(separator: ", "))\(elements.count > 4 ? ", …" : ""))"
    }
}
