/// A function's signature, as in Prometheus' `parser.Functions` table.
public struct PromQLFunction: Sendable, Hashable {
    public let name: String
    public let argTypes: [ValueType]
    /// 0: exactly `argTypes.count` arguments; n > 0: the last argument may be repeated or left out
    /// so that up to `argTypes.count + n - 1` are given; -1: the last may repeat without bound.
    public let variadic: Int
    public let returnType: ValueType
    /// Behind Prometheus' `promql-experimental-functions` flag.
    public let experimental: Bool
    /// Works on native histograms only; Strata answers these with "not supported".
    public let nativeHistogramOnly: Bool

    init(_ name: String, _ argTypes: [ValueType], _ returnType: ValueType, variadic: Int = 0,
         experimental: Bool = false, nativeHistogramOnly: Bool = false) {
        self.name = name; self.argTypes = argTypes; self.returnType = returnType; self.variadic = variadic
        self.experimental = experimental; self.nativeHistogramOnly = nativeHistogramOnly
    }

    /// Every function PromQL knows, by name.
    public static let all: [String: PromQLFunction] = {
        var t: [String: PromQLFunction] = [:]
        func add(_ f: PromQLFunction) { t[f.name] = f }
        let v = ValueType.vector, m = ValueType.matrix, s = ValueType.scalar, str = ValueType.string
        for name in ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "deg",
                     "exp", "floor", "ln", "log10", "log2", "rad", "sgn", "sin", "sinh", "sqrt", "tan", "tanh",
                     "absent", "sort", "sort_desc", "timestamp"] {
            add(.init(name, [v], v))
        }
        for name in ["avg_over_time", "count_over_time", "last_over_time", "first_over_time", "max_over_time",
                     "min_over_time", "present_over_time", "stddev_over_time", "stdvar_over_time", "sum_over_time",
                     "absent_over_time", "changes", "delta", "deriv", "idelta", "increase", "irate", "rate", "resets"] {
            add(.init(name, [m], v))
        }
        for name in ["mad_over_time", "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time",
                     "ts_of_min_over_time"] {
            add(.init(name, [m], v, experimental: true))
        }
        for name in ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"] {
            add(.init(name, [v], v, variadic: 1))
        }
        add(.init("clamp", [v, s, s], v))
        add(.init("clamp_max", [v, s], v))
        add(.init("clamp_min", [v, s], v))
        add(.init("round", [v, s], v, variadic: 1))
        add(.init("predict_linear", [m, s], v))
        add(.init("quantile_over_time", [s, m], v))
        add(.init("double_exponential_smoothing", [m, s, s], v, experimental: true))
        add(.init("histogram_quantile", [s, v], v))
        add(.init("histogram_quantiles", [v, str, s], v, variadic: -1, experimental: true))
        for name in ["histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev", "histogram_stdvar"] {
            add(.init(name, [v], v, nativeHistogramOnly: true))
        }
        add(.init("histogram_fraction", [s, s, v], v, nativeHistogramOnly: true))
        add(.init("label_replace", [v, str, str, str, str], v))
        add(.init("label_join", [v, str, str, str], v, variadic: -1))
        add(.init("sort_by_label", [v, str], v, variadic: -1, experimental: true))
        add(.init("sort_by_label_desc", [v, str], v, variadic: -1, experimental: true))
        add(.init("info", [v, v], v, variadic: 1, experimental: true))
        add(.init("start_timestamp", [v], v, experimental: true))
        // Query-range scalars and min/max of two scalars (experimental in Prometheus 3.x).
        for name in ["start", "end", "step", "range"] { add(.init(name, [], s, experimental: true)) }
        for name in ["min_of", "max_of"] { add(.init(name, [s, s], s, experimental: true)) }
        add(.init("pi", [], s))
        add(.init("time", [], s))
        add(.init("scalar", [v], s))
        add(.init("vector", [s], v))
        return t
    }()
}
