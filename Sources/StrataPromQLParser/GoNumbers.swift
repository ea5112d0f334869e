import StrataModel

/// Number parsing and printing with Go's rules, so literals mean and print what they do in
/// Prometheus (`010` is octal, `1_000` is allowed, `1e400` is out of range).

/// Prometheus' `parser.number`: `strconv.ParseInt(s, 0, 64)`, falling back to
/// `strconv.ParseFloat(s, 64)`. Returns the value or the error message.
func parseGoNumber(_ s: String) -> Result<Double, NumberSyntaxError> {
    if let n = parseGoInt(Array(s.utf8)) { return .success(Double(n)) }
    return parseGoFloat(s)
}

struct NumberSyntaxError: Error {
    let message: String
}

/// `strconv.ParseInt(s, 0, 64)` for the unsigned text the lexer produces; nil when Go would fail.
private func parseGoInt(_ s: [UInt8]) -> Int64? {
    guard !s.isEmpty else { return nil }
    var base: UInt64 = 10
    var digits = s[...]
    if s[0] == UInt8(ascii: "0") {
        let prefix = s.count >= 3 ? s[1] | 0x20 : 0
        switch prefix {
        case UInt8(ascii: "b"): base = 2; digits = s[2...]
        case UInt8(ascii: "o"): base = 8; digits = s[2...]
        case UInt8(ascii: "x"): base = 16; digits = s[2...]
        default: base = 8; digits = s[1...]
        }
    }
    var value: UInt64 = 0
    var sawUnderscore = false
    for c in digits {
        if c == UInt8(ascii: "_") { sawUnderscore = true; continue }
        guard let d = hexDigitValue(c), UInt64(d) < base else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: base)
        let (a, o2) = m.addingReportingOverflow(UInt64(d))
        if o1 || o2 { return nil }
        value = a
    }
    if sawUnderscore && !goUnderscoresOK(s) { return nil }
    guard value <= UInt64(Int64.max) else { return nil }
    return Int64(value)
}

/// `strconv.ParseFloat(s, 64)` for the text the lexer produces (decimal, `Inf`, `NaN`).
private func parseGoFloat(_ s: String) -> Result<Double, NumberSyntaxError> {
    let prefix = "strconv.ParseFloat: parsing \(goQuoteString(s)): "
    let syntax = NumberSyntaxError(message: prefix + "invalid syntax")
    switch s.lowercased() {
    case "inf", "+inf", "infinity", "+infinity": return .success(.infinity)
    case "-inf", "-infinity": return .success(-.infinity)
    case "nan": return .success(.nan)
    default: break
    }
    let bytes = Array(s.utf8)
    // Hex floats need a 'p' exponent, which the lexer never produces.
    if bytes.count >= 2, bytes[0] == UInt8(ascii: "0"), bytes[1] | 0x20 == UInt8(ascii: "x") { return .failure(syntax) }
    if bytes.contains(UInt8(ascii: "_")) && !goUnderscoresOK(bytes) { return .failure(syntax) }
    let cleaned = bytes.filter { $0 != UInt8(ascii: "_") }
    let allowed: Set<UInt8> = Set(Array("0123456789.eE+-".utf8))
    guard !cleaned.isEmpty, cleaned.allSatisfy(allowed.contains),
          let v = Double(String(decoding: cleaned, as: UTF8.self)) else { return .failure(syntax) }
    if v.isInfinite { return .failure(NumberSyntaxError(message: prefix + "value out of range")) }
    return .success(v)
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
private func goUnderscoresOK(_ s: [UInt8]) -> Bool {
    var saw: UInt8 = UInt8(ascii: "^")
    var i = 0
    var hex = false
    if s.count >= 2, s[0] == UInt8(ascii: "0"),
       [UInt8(ascii: "b"), UInt8(ascii: "o"), UInt8(ascii: "x")].contains(s[1] | 0x20) {
        i = 2
        saw = UInt8(ascii: "0")
        hex = s[1] | 0x20 == UInt8(ascii: "x")
    }
    while i < s.count {
        let c = s[i]
        i += 1
        let lower = c | 0x20
        if (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (hex && lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f")) {
            saw = UInt8(ascii: "0")
            continue
        }
        if c == UInt8(ascii: "_") {
            if saw != UInt8(ascii: "0") { return false }
            saw = c
            continue
        }
        if saw == UInt8(ascii: "_") { return false }
        saw = UInt8(ascii: "!")
    }
    return saw != UInt8(ascii: "_")
}

/// Go's `%f` (six decimals) for the values that reach it in error messages: non-finite or
/// integral doubles.
func goFormatFixedSix(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
    // Only huge or non-finite timestamps are reported, and huge doubles are integral.
    guard v == v.rounded() else { return GoFloat.formatF(v) }
    return (v < 0 ? "-" : "") + exactIntegerDigits(v.magnitude) + ".000000"
}

/// Decimal digits of an integral, non-negative double, exactly (Go prints all of them).
private func exactIntegerDigits(_ v: Double) -> String {
    if v < 9.0e15 { return String(UInt64(v)) }
    // v = significand * 2^exponent with exponent >= 0: double a base-1e9 big number.
    var limbs: [UInt64] = [v.significandBitPattern | (1 << 52)]
    var shifts = Int(v.exponent) - 52
    limbs = [limbs[0] % 1_000_000_000, limbs[0] / 1_000_000_000 % 1_000_000_000, limbs[0] / 1_000_000_000_000_000_000]
    while shifts > 0 {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let x = limbs[i] * 2 + carry
            limbs[i] = x % 1_000_000_000
            carry = x / 1_000_000_000
        }
        if carry > 0 { limbs.append(carry) }
        shifts -= 1
    }
    while limbs.count > 1, limbs.last == 0 { limbs.removeLast() }
    var out = String(limbs.last!)
    for limb in limbs.dropLast().reversed() {
        let s = String(limb)
        out += String(repeating: "0", count: 9 - s.count) + s
    }
    return out
}

/// `value / 10^scale` with exactly `scale` decimals, e.g. milliseconds as seconds (`%.3f`).
func formatScaled(_ value: Int64, scale: Int) -> String {
    var divisor: UInt64 = 1
    for _ in 0 ..< scale { divisor *= 10 }
    let m = value.magnitude
    let fraction = String(m % divisor)
    return (value < 0 ? "-" : "") + String(m / divisor) + "." + String(repeating: "0", count: scale - fraction.count) + fraction
}
