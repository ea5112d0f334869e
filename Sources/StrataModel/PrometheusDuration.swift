/// A duration string that Prometheus' `model.ParseDuration` rejects; `description` is its message.
public struct DurationParseError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Parses a Prometheus duration (`1h30m`, `500ms`, `2w`, a bare `0`) into milliseconds, with
/// the rules and messages of `model.ParseDuration`: units `y w d h m s ms`, each at most once and
/// from the largest to the smallest, no sign, no fractions.
public func parsePrometheusDuration(_ s: String) throws -> Int64 {
    try parseDurationNanoseconds(s) / 1_000_000
}

/// Prints milliseconds as Prometheus' `model.Duration.String()` (`1h30m`, `90d`, `0s`, `-5m`).
public func formatPrometheusDuration(milliseconds: Int64) -> String {
    if milliseconds == 0 { return "0s" }
    var ms = milliseconds.magnitude
    var out = milliseconds < 0 ? "-" : ""
    let day: UInt64 = 24 * 60 * 60 * 1000
    // Years and weeks only when they divide evenly: "90d" reads better than "12w6d".
    let units: [(String, UInt64, Bool)] = [
        ("y", 365 * day, true), ("w", 7 * day, true), ("d", day, false), ("h", 60 * 60 * 1000, false),
        ("m", 60 * 1000, false), ("s", 1000, false), ("ms", 1, false),
    ]
    for (name, size, exactOnly) in units {
        if exactOnly && ms % size != 0 { continue }
        let count = ms / size
        if count > 0 {
            out += "\(count)\(name)"
            ms -= count * size
        }
    }
    return out
}

/// `model.ParseDuration` in nanoseconds (Go's `time.Duration`), so "out of range" means what it
/// means in Prometheus (about 292 years).
public func parseDurationNanoseconds(_ s: String) throws(DurationParseError) -> Int64 {
    if s == "0" { return 0 }
    if s.isEmpty { throw DurationParseError(description: "empty duration string") }
    let invalid = DurationParseError(description: "not a valid duration string: \(goQuoteString(s))")
    let units: [String: (order: Int, nanos: UInt64)] = [
        "ms": (7, 1_000_000), "s": (6, 1_000_000_000), "m": (5, 60_000_000_000), "h": (4, 3_600_000_000_000),
        "d": (3, 86_400_000_000_000), "w": (2, 604_800_000_000_000), "y": (1, 31_536_000_000_000_000),
    ]
    let b = Array(s.utf8)
    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    var i = 0
    var total: UInt64 = 0
    var lastOrder = 0
    while i < b.count {
        guard isDigit(b[i]) else { throw invalid }
        var value: UInt64 = 0
        while i < b.count, isDigit(b[i]) {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(b[i] - UInt8(ascii: "0")))
            if o1 || o2 { throw invalid }
            value = next
            i += 1
        }
        let unitStart = i
        while i < b.count, !isDigit(b[i]) { i += 1 }
        if unitStart == i { throw invalid }
        let unitName = String(decoding: b[unitStart ..< i], as: UTF8.self)
        guard let unit = units[unitName] else {
            throw DurationParseError(description: "unknown unit \(goQuoteString(unitName)) in duration \(goQuoteString(s))")
        }
        if unit.order <= lastOrder { throw invalid }
        lastOrder = unit.order
        let outOfRange = DurationParseError(description: "duration out of range")
        if value > (UInt64(1) << 63) / unit.nanos { throw outOfRange }
        total += value * unit.nanos
        if total > UInt64(Int64.max) { throw outOfRange }
    }
    return Int64(total)
}
