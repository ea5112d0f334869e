#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-sample kernels of PromQL's instant-vector math, clamp, round and date functions, with
/// Go's `math` and `time` semantics where they differ from C's.
enum ElementwiseKernels {

    /// The one-argument math functions by PromQL name. libm and Go agree on every special case
    /// (log(-1) = NaN, log(0) = -Inf, acosh(0.5) = NaN, atanh(±1) = ±Inf, sqrt(-0) = -0, …);
    /// log2 and log10 are computed Go's way, which is not always the correctly rounded value
    /// (Go's log10(1e15) is 14.999999999999998, log10(3) one ulp above libm's).
    static let unary: [String: @Sendable (Double) -> Double] = [
        "abs": { $0.magnitude },
        "ceil": { $0.rounded(.up) },
        "floor": { $0.rounded(.down) },
        "exp": { exp($0) },
        "sqrt": { $0.squareRoot() },
        "ln": { log($0) },
        "log2": goLog2,
        "log10": goLog10,
        "sgn": sgn,
        "deg": { $0 * 180 / Double.pi },
        "rad": { $0 * Double.pi / 180 },
        "sin": { sin($0) },
        "cos": { cos($0) },
        "tan": { tan($0) },
        "asin": { asin($0) },
        "acos": { acos($0) },
        "atan": { atan($0) },
        "sinh": { sinh($0) },
        "cosh": { cosh($0) },
        "tanh": { tanh($0) },
        "asinh": { asinh($0) },
        "acosh": { acosh($0) },
        "atanh": { atanh($0) },
    ]

    /// -1, +1, or the value itself for ±0 and NaN.
    @Sendable static func sgn(_ v: Double) -> Double {
        if v < 0 { return -1 }
        if v > 0 { return 1 }
        return v
    }

    /// Go's `math.Log10`: ln(x) · (1/ln 10), not libm's log10.
    @Sendable static func goLog10(_ x: Double) -> Double {
        log(x) * 0.43429448190325182765112891891660508  // 1/ln 10, correctly rounded
    }

    /// Go's `math.Log2`: exact for powers of two, else ln(frac) · (1/ln 2) + exp with
    /// x = frac · 2^exp, frac in [0.5, 1).
    @Sendable static func goLog2(_ x: Double) -> Double {
        let log2e = 1.4426950408889634073599246810018921  // 1/ln 2, correctly rounded
        guard x.isFinite, x > 0 else { return log(x) * log2e }  // NaN, ±Inf, ≤ 0: same as Go
        let frac = x.significand / 2
        let exponent = Double(x.exponent + 1)
        if frac == 0.5 { return exponent - 1 }
        return log(frac) * log2e + exponent
    }

    /// `round(v, toNearest)`: ties round up. Multiplying by the inverse rather than dividing
    /// by toNearest is Prometheus' choice (fewer visible float errors) and must be kept.
    static func round(_ v: Double, toNearest: Double) -> Double {
        let inverse = 1.0 / toNearest
        return (v * inverse + 0.5).rounded(.down) / inverse
    }

    // MARK: clamp

    /// `clamp(v, min, max)`; nil when max < min (Prometheus then returns an empty vector).
    /// NaN bounds pass the check and make every result NaN, as in Go.
    static func clamp(_ v: Double, min lower: Double, max upper: Double) -> Double? {
        if upper < lower { return nil }
        return goMax(lower, goMin(upper, v))
    }

    /// `clamp_min(v, min)`.
    static func clampMin(_ v: Double, min lower: Double) -> Double {
        goMax(lower, goMin(.infinity, v))
    }

    /// `clamp_max(v, max)`.
    static func clampMax(_ v: Double, max upper: Double) -> Double {
        goMax(-.infinity, goMin(upper, v))
    }

    /// Go's `math.Max`: +Inf wins even over NaN, then NaN wins, and +0 beats -0.
    /// Swift's `max`/`Double.maximum` differ on NaN. Also what `max_of` needs.
    static func goMax(_ x: Double, _ y: Double) -> Double {
        if x == .infinity || y == .infinity { return .infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && x == y { return x.sign == .minus ? y : x }
        return x > y ? x : y
    }

    /// Go's `math.Min`: -Inf wins even over NaN, then NaN wins, and -0 beats +0.
    static func goMin(_ x: Double, _ y: Double) -> Double {
        if x == -.infinity || y == -.infinity { return -.infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && x == y { return x.sign == .minus ? x : y }
        return x < y ? x : y
    }
}

// MARK: - Date functions

extension ElementwiseKernels {

    /// The PromQL date functions, all in UTC.
    enum DateComponent: String, Sendable {
        case minute, hour, month, year
        case dayOfWeek = "day_of_week"
        case dayOfMonth = "day_of_month"
        case dayOfYear = "day_of_year"
        case daysInMonth = "days_in_month"
    }

    /// `minute(v)`, `hour(v)`, … for a sample value in Unix seconds; NaN for an unknown name.
    /// Prometheus truncates the value to whole seconds toward zero (`int64(v)`).
    static func dateComponent(_ name: String, seconds: Double) -> Double {
        guard let component = DateComponent(rawValue: name) else { return .nan }
        return dateComponent(component, seconds: seconds)
    }

    /// As above without the name lookup, for per-element loops.
    static func dateComponent(_ c: DateComponent, seconds: Double) -> Double {
        dateComponent(c, unixSeconds: goInt64(seconds))
    }

    /// The argument-less form (`hour()`) uses the evaluation time: pass `evalTime / 1000`
    /// (Int64 division truncates toward zero like Go's).
    static func dateComponent(_ c: DateComponent, unixSeconds: Int64) -> Double {
        // Go counts from an "absolute" epoch 2^63-ish seconds before 1970 in UInt64, so every
        // Int64 maps to some date, even int64(NaN): the addition wraps exactly as Go's does.
        let abs = UInt64(bitPattern: unixSeconds &+ unixToAbsoluteSeconds)
        switch c {
        case .minute: return Double(abs % 3600 / 60)
        case .hour: return Double(abs % 86400 / 3600)
        case .dayOfWeek:
            // The absolute epoch (1 January of a year ≡ 1 mod 400) was a Monday.
            return Double((abs / 86400 + 1) % 7)
        default: break
        }
        let d = civilDate(absoluteDays: abs / 86400)
        switch c {
        case .month: return Double(d.month)
        case .year: return Double(d.year)
        case .dayOfMonth: return Double(d.day)
        case .dayOfYear: return Double(d.dayOfYear)
        case .daysInMonth: return Double(daysInMonth(year: d.year, month: d.month))
        case .minute, .hour, .dayOfWeek: return .nan  // handled above
        }
    }

    /// Go's `int64(f)` on amd64 (CVTTSD2SQ): truncation toward zero, and the "integer
    /// indefinite" Int64.min for NaN, ±Inf and anything outside Int64's range.
    static func goInt64(_ f: Double) -> Int64 {
        if f.isNaN || f >= 9_223_372_036_854_775_808.0 || f < -9_223_372_036_854_775_808.0 {
            return .min
        }
        return Int64(f)
    }

    /// Seconds from Go's absolute zero (1 January of year -292277022399, proleptic Gregorian)
    /// to the Unix epoch.
    private static let unixToAbsoluteSeconds: Int64 = 9_223_372_028_715_321_600
    private static let absoluteZeroYear: Int64 = -292_277_022_399

    private struct CivilDate {
        var year: Int64
        var month: Int  // 1...12
        var day: Int    // 1...31
        var dayOfYear: Int  // 1...366
    }

    /// Proleptic Gregorian date from days since Go's absolute zero. Works in years that start
    /// on 1 March (so the leap day ends the year) and in 400-year eras of 146097 days.
    private static func civilDate(absoluteDays: UInt64) -> CivilDate {
        // 1 March of the year before the absolute zero year is 306 days earlier, and that
        // year is ≡ 0 mod 400, so eras align with the Gregorian cycle.
        let z = absoluteDays + 306
        let era = z / 146_097
        let dayOfEra = z % 146_097                                             // 0...146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365  // 0...399
        let dayOfMarchYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // 0...365
        let mp = (5 * dayOfMarchYear + 2) / 153                               // 0 = March … 11 = February
        let day = Int(dayOfMarchYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int64(yearOfEra) + Int64(era) * 400 + (absoluteZeroYear - 1) + (month <= 2 ? 1 : 0)
        let dayOfYear: Int
        if month <= 2 {
            dayOfYear = Int(dayOfMarchYear) - 306 + 1
        } else {
            dayOfYear = Int(dayOfMarchYear) + 59 + (isLeapYear(year) ? 1 : 0) + 1
        }
        return CivilDate(year: year, month: month, day: day, dayOfYear: dayOfYear)
    }

    private static func isLeapYear(_ y: Int64) -> Bool {
        y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    }

    private static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
