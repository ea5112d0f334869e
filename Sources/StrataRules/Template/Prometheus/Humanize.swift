/// Prometheus' humanize family (template/template.go), built on Go's %.4g.
enum Humanize {
    private static func g4(_ value: Double, _ suffix: String = "") -> String {
        GoPrinter.sprintf("%.4g", [.float(value)]) + suffix
    }

    static func humanize(_ input: GoValue) throws(FunctionError) -> String {
        var value = try FloatConversion.toFloat(input)
        if value == 0 || value.isNaN || value.isInfinite { return g4(value) }
        if abs(value) >= 1 {
            var prefix = ""
            for candidate in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                if abs(value) < 1000 { break }
                prefix = candidate
                value /= 1000
            }
            return g4(value, prefix)
        }
        var prefix = ""
        for candidate in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(value) >= 1 { break }
            prefix = candidate
            value *= 1000
        }
        return g4(value, prefix)
    }

    static func humanize1024(_ input: GoValue) throws(FunctionError) -> String {
        var value = try FloatConversion.toFloat(input)
        if abs(value) <= 1 || value.isNaN || value.isInfinite { return g4(value) }
        var prefix = ""
        for candidate in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
            if abs(value) < 1024 { break }
            prefix = candidate
            value /= 1024
        }
        return g4(value, prefix)
    }

    static func duration(_ input: GoValue) throws(FunctionError) -> String {
        var value = try FloatConversion.toFloat(input)
        if value.isNaN || value.isInfinite { return g4(value) }
        if value == 0 { return g4(value, "s") }
        if abs(value) >= 1 {
            var sign = ""
            if value < 0 {
                sign = "-"
                value = -value
            }
            // Go's int64(v) conversion; out-of-range values saturate here instead of Go's undefined result.
            let total = value >= 9.2e18 ? Int64.max : Int64(value)
            let seconds = total % 60
            let minutes = total / 60 % 60
            let hours = total / 3600 % 24
            let days = total / 86400
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return sign + g4(value, "s")
        }
        var prefix = ""
        for candidate in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(value) >= 1 { break }
            prefix = candidate
            value *= 1000
        }
        return g4(value, prefix + "s")
    }

    static func percentage(_ input: GoValue) throws(FunctionError) -> String {
        g4(try FloatConversion.toFloat(input) * 100, "%")
    }

    static func timestamp(_ input: GoValue) throws(FunctionError) -> String {
        let value = try FloatConversion.toFloat(input)
        if value.isNaN || value.isInfinite { return g4(value) }
        return GoTimeFormatting.string(try toTime(value))
    }

    /// Prometheus' floatToTime: seconds → nanoseconds → model.Time (milliseconds, truncated) → UTC time.
    static func toTime(_ value: Double) throws(FunctionError) -> GoTime {
        let nanos = value * 1e9
        if nanos > 9.223372036854775807e18 || nanos < -9.223372036854775808e18 {
            throw FunctionError("\(GoPrinter.sprint([.float(value)])) cannot be represented as a nanoseconds timestamp since it overflows int64")
        }
        let nanoseconds = nanos >= 9.223372036854775807e18 ? Int64.max : Int64(nanos)
        let milliseconds = nanoseconds / 1_000_000
        return GoTime(seconds: milliseconds / 1000, nanoseconds: milliseconds % 1000 * 1_000_000)
    }
}
