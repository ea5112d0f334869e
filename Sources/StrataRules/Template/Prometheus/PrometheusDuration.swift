/// prometheus/common model.ParseDuration (v0.39): units y w d h m s ms, each at most once, in order.
enum PrometheusDuration {
    /// Returns seconds.
    static func parse(_ text: String) throws(FunctionError) -> Double {
        if text == "0" { return 0 }
        if text.isEmpty { throw FunctionError("empty duration string") }
        let invalid = FunctionError("not a valid duration string: \(GoQuote.quote(text))")
        let units: [(String, Int64)] = [
            ("y", 365 * 24 * 3_600_000), ("w", 7 * 24 * 3_600_000), ("d", 24 * 3_600_000),
            ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
        ]
        var remaining = Substring(text)
        var nextUnit = 0
        var totalMilliseconds: Int64 = 0
        var overflow = false
        while !remaining.isEmpty {
            let digits = remaining.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { throw invalid }
            remaining = remaining.dropFirst(digits.count)
            let unitText = remaining.hasPrefix("ms") ? "ms" : String(remaining.prefix(1))
            guard let unitIndex = units[nextUnit...].firstIndex(where: { $0.0 == unitText }) else { throw invalid }
            remaining = remaining.dropFirst(unitText.count)
            nextUnit = unitIndex + 1
            let multiplier = units[unitIndex].1
            guard let count = Int64(digits), count <= Int64.max / 1_000_000 / multiplier else {
                overflow = true
                continue
            }
            let (sum, didOverflow) = totalMilliseconds.addingReportingOverflow(count * multiplier)
            if didOverflow || sum > Int64.max / 1_000_000 { overflow = true }
            totalMilliseconds = sum
        }
        if overflow { throw FunctionError("duration out of range") }
        return Double(totalMilliseconds) / 1000
    }
}
