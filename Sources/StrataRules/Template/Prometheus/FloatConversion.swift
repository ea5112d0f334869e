/// Prometheus' convertToFloat and Go's strconv.ParseFloat error messages.
enum FloatConversion {
    static func toFloat(_ value: GoValue) throws(FunctionError) -> Double {
        switch value {
        case .float(let double): return double
        case .int(let int): return Double(int)
        case .string(let text): return try parseFloat(text)
        default: throw FunctionError("can't convert \(value.typeName) to float")
        }
    }

    static func parseFloat(_ text: String) throws(FunctionError) -> Double {
        let syntaxError = FunctionError("strconv.ParseFloat: parsing \(GoQuote.quote(text)): invalid syntax")
        var body = Substring(text)
        var negative = false
        if body.hasPrefix("+") || body.hasPrefix("-") {
            negative = body.hasPrefix("-")
            body = body.dropFirst()
        }
        switch body.lowercased() {
        case "inf", "infinity": return negative ? -.infinity : .infinity
        case "nan": return .nan
        default: break
        }
        let allowed = Set("0123456789abcdefABCDEFxXpP.+-_")
        guard !body.isEmpty, body.allSatisfy({ allowed.contains($0) }) else { throw syntaxError }
        let isHex = body.lowercased().hasPrefix("0x")
        var cleaned = String(body)
        if cleaned.contains("_") {
            // Go allows underscores only between digits, and only with a base prefix.
            guard isHex, !cleaned.contains("__"), !cleaned.hasSuffix("_") else { throw syntaxError }
            cleaned = cleaned.filter { $0 != "_" }
        }
        if !isHex && cleaned.contains(where: { "abcdfABCDFxXpP".contains($0) }) { throw syntaxError }
        guard let magnitude = Double(cleaned) else { throw syntaxError }
        if magnitude.isInfinite {
            throw FunctionError("strconv.ParseFloat: parsing \(GoQuote.quote(text)): value out of range")
        }
        return negative ? -magnitude : magnitude
    }
}
