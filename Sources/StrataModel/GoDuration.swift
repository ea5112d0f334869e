/// A duration string Go's `time.ParseDuration` rejects; `description` is its message.
public struct GoDurationParseError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Go's `time.ParseDuration` in nanoseconds: a signed sequence of decimal numbers, each with an
/// optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), like `300ms`, `1.5h` or
/// `2h45m`. Command-line tools that follow Go programs' flags (`--duration 15s`) take this syntax,
/// where Prometheus' own durations (`model.Duration`: `1d`, no fractions) do not apply.
public func parseGoDuration(_ s: String) throws(GoDurationParseError) -> Int64 {
    let invalid = GoDurationParseError(description: "time: invalid duration \(goQuoteString(s))")
    var b = Array(s.utf8)[...]
    var negative = false
    if let c = b.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
        negative = c == UInt8(ascii: "-")
        b = b.dropFirst()
    }
    if b.elementsEqual("0".utf8) { return 0 }
    if b.isEmpty { throw invalid }
    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    var total = 0.0
    while !b.isEmpty {
        var whole = 0.0, fraction = 0.0, scale = 1.0, digits = 0
        while let c = b.first, isDigit(c) { whole = whole * 10 + Double(c - 48); digits += 1; b = b.dropFirst() }
        if b.first == UInt8(ascii: ".") {
            b = b.dropFirst()
            while let c = b.first, isDigit(c) { scale /= 10; fraction += Double(c - 48) * scale; digits += 1; b = b.dropFirst() }
        }
        if digits == 0 { throw invalid }
        var unit: [UInt8] = []
        while let c = b.first, c != UInt8(ascii: "."), !isDigit(c) { unit.append(c); b = b.dropFirst() }
        let nanos: Double
        switch String(decoding: unit, as: UTF8.self) {
        case "ns": nanos = 1
        case "us", "µs", "μs": nanos = 1e3
        case "ms": nanos = 1e6
        case "s": nanos = 1e9
        case "m": nanos = 60e9
        case "h": nanos = 3600e9
        case "": throw GoDurationParseError(description: "time: missing unit in duration \(goQuoteString(s))")
        case let u: throw GoDurationParseError(description: "time: unknown unit \(goQuoteString(u)) in duration \(goQuoteString(s))")
        }
        total += (whole + fraction) * nanos
        if total > Double(Int64.max) { throw invalid }
    }
    return negative ? -Int64(total) : Int64(total)
}
