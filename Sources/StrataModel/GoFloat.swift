/// Go's `strconv.FormatFloat(v, 'f' or 'e', -1, 64)` as Prometheus chooses between them:
/// 'e' when |v| < 1e-6 or |v| >= 1e21, shortest round-trip digits either way.
public enum GoFloat {
    /// Appends the formatted value. Swift's `description` is already the shortest round-trip form
    /// and matches Go's 'f' output whenever it has no exponent; only exponent forms are rebuilt.
    public static func append(_ v: Double, to out: inout [UInt8]) {
        if v.isFinite {
            let abs = Swift.abs(v)
            if abs >= 1e-4 && abs < 1e15 {
                var d = v.description
                let done: Bool = d.withUTF8 { u in
                    if u.contains(UInt8(ascii: "e")) { return false }
                    var n = u.count
                    if n >= 2 && u[n - 2] == UInt8(ascii: ".") && u[n - 1] == UInt8(ascii: "0") { n -= 2 }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: u[0 ..< n]))
                    return true
                }
                if done { return }
            }
        }
        out.append(contentsOf: format(v).utf8)
    }

    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (negative, digits, exp) = decompose(v)  // value = 0.d1d2d3... × 10^exp
        let abs = Swift.abs(v)
        if abs < 1e-6 || abs >= 1e21 { return exponentForm(negative, digits, exp) }
        return formatF(v)
    }

    /// `d.ddde±XX` from the shortest digits, as Go's 'e' format writes them.
    static func exponentForm(_ negative: Bool, _ digits: String, _ exp: Int) -> String {
        var out = negative ? "-" : ""
        out.append(digits[digits.startIndex])
        if digits.count > 1 { out += "." + digits.dropFirst() }
        let e = exp - 1
        out += e < 0 ? "e-" : "e+"
        let m = Swift.abs(e)
        out += m < 10 ? "0\(m)" : "\(m)"
        return out
    }

    /// Shortest round-trip decimal digits of |v| and the decimal exponent such that
    /// |v| = 0.digits × 10^exp. Swift's description is already shortest round-trip.
    static func decompose(_ v: Double) -> (Bool, String, Int) {
        var s = Swift.abs(v).description  // "123.45", "1e-07", "1.5e+21", "5e-324"
        var exp10 = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp10 = Int(s[s.index(after: e)...])!
            s = String(s[..<e])
        }
        var intPart = s, frac = ""
        if let dot = s.firstIndex(of: ".") {
            intPart = String(s[..<dot]); frac = String(s[s.index(after: dot)...])
        }
        if frac == "0" { frac = "" }
        var digits = intPart + frac
        var exp = intPart.count + exp10
        // strip leading zeros (e.g. "0.001")
        while digits.first == "0" && digits.count > 1 { digits.removeFirst(); exp -= 1 }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        return (v < 0, digits, exp)
    }
}

extension GoFloat {
    /// `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent
    /// (`count_values` labels, number literals).
    public static func formatF(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (negative, digits, exp) = decompose(v)
        var out = negative ? "-" : ""
        if exp <= 0 {
            out += "0." + String(repeating: "0", count: -exp) + digits
        } else if exp >= digits.count {
            out += digits + String(repeating: "0", count: exp - digits.count)
        } else {
            let i = digits.index(digits.startIndex, offsetBy: exp)
            out += digits[..<i] + "." + digits[i...]
        }
        return out
    }

    /// Go's `%g` (`strconv.FormatFloat(v, 'g', -1, 64)`): exponent form when the decimal
    /// exponent is < -4 or >= 6 (Go's bound for shortest formatting), e.g. `1e+06`.
    public static func formatG(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (negative, digits, exp) = decompose(v)
        if exp - 1 < -4 || exp - 1 >= 6 { return exponentForm(negative, digits, exp) }
        return formatF(v)
    }
}

extension GoFloat {
    /// Go's `math.NaN()` (0x7FF8000000000001): what ParseFloat returns for "NaN". The bit pattern
    /// matters for storage: XOR chunks of Go's NaN and Swift's (…0000) differ in size and bytes.
    public static let goNaN = Double(bitPattern: 0x7FF8_0000_0000_0001)

    /// `strconv.ParseFloat(s, 64)`: decimal, exponent, hex, `Inf`/`Infinity`/`NaN` in any case,
    /// optional sign and underscores only in Go literals (not accepted here, as ParseFloat).
    public static func parse(_ s: String) -> Double? {
        if s.isEmpty { return nil }
        var body = Substring(s)
        var sign = 1.0
        if body.first == "+" || body.first == "-" {
            if body.first == "-" { sign = -1 }
            body = body.dropFirst()
        }
        switch body.lowercased() {
        case "inf", "infinity": return sign * .infinity
        case "nan": return goNaN
        default: break
        }
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            // Hex floats need a 'p' exponent in Go; plain hex integers are not floats.
            guard body.contains(where: { $0 == "p" || $0 == "P" }) else { return nil }
            return Double(s)
        }
        guard body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-") }),
              let v = Double(body) else { return nil }
        return sign * v
    }

    /// Go's `strconv.FormatFloat(v, 'e' or 'E', -1, 64)`: shortest round-trip digits in exponent
    /// form, the exponent at least two digits (`1e+00`, `1.5E-07`, `+Inf`, `NaN`).
    public static func formatE(_ v: Double, uppercase: Bool = false) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
        let e = uppercase ? "E" : "e"
        if v == 0 { return (v.sign == .minus ? "-0" : "0") + e + "+00" }
        let (negative, digits, exp) = decompose(v)  // value = 0.d1d2d3... × 10^exp
        let exponent = exp - 1
        let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : digits
        let magnitude = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
        return (negative ? "-" : "") + mantissa + e + (exponent < 0 ? "-" : "+") + magnitude
    }
}
