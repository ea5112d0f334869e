import StrataModel

/// The runner's float equality (Prometheus' `almost.Equal` with epsilon 1e-6, stale-aware).
public enum ExpectedFloat {
    public static let epsilon = 1e-6
    /// The smallest normal double; below it relative error means nothing.
    static let minNormal = Double(bitPattern: 0x0010_0000_0000_0000)

    /// Equal values (incl. infinities); two NaNs, unless only one is the stale marker; otherwise
    /// a relative difference below 1e-6, or a practically exact match when a side is 0 or tiny.
    public static func matches(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN && b.isNaN { return StaleNaN.isStale(a) == StaleNaN.isStale(b) }
        if a == b { return true }
        let absSum = abs(a) + abs(b)
        let diff = abs(a - b)
        if a == 0 || b == 0 || absSum < minNormal { return diff < epsilon * minNormal }
        return diff / min(absSum, .greatestFiniteMagnitude) < epsilon
    }

    /// Go's `%v` spelling, which the scripts use: `1`, `0.5`, `1e+21`, `+Inf`, `NaN`.
    public static func format(_ v: Double) -> String {
        if StaleNaN.isStale(v) { return "stale" }
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }
}
