import Foundation

/// Go's parse.newNumber: decides which of int / uint / float a literal can be.
enum NumberParsing {
    struct Failure: Error { let message: String }

    static func parse(_ text: String, kind: TemplateTokenKind) throws -> NumberLiteral {
        var literal = NumberLiteral(text: text)
        if kind == .charConstant {
            guard let scalar = try? GoQuote.unquoteChar(text) else {
                throw Failure(message: "malformed character constant: \(text)")
            }
            literal.intValue = Int64(scalar.value)
            literal.uintValue = UInt64(scalar.value)
            literal.floatValue = Double(scalar.value)
            return literal
        }
        if kind == .complex || text.hasSuffix("i") {
            literal.isComplex = true
            return literal
        }
        let unsigned = parseUnsigned(text)
        literal.uintValue = unsigned
        if let signed = parseSigned(text) {
            literal.intValue = signed
            if signed == 0 { literal.uintValue = unsigned ?? 0 }
        }
        if let signed = literal.intValue {
            literal.floatValue = Double(signed)
        } else if let unsigned = literal.uintValue {
            literal.floatValue = Double(unsigned)
        } else if let float = parseFloat(text) {
            if !text.contains(where: { ".eEpP".contains($0) }) {
                throw Failure(message: "integer overflow: \(GoQuote.quote(text))")
            }
            literal.floatValue = float
            if float.rounded(.towardZero) == float && abs(float) < 9.2e18 {
                literal.intValue = Int64(float)
            }
            if float.rounded(.towardZero) == float && float >= 0 && float < 1.8e19 {
                literal.uintValue = UInt64(float)
            }
        }
        if literal.intValue == nil && literal.uintValue == nil && literal.floatValue == nil {
            throw Failure(message: "illegal number syntax: \(GoQuote.quote(text))")
        }
        return literal
    }

    /// Go's underscoreOK: underscores only between digits (or after a base prefix).
    private static func underscoresValid(_ body: String, hex: Bool) -> Bool {
        var saw: Character = "^"
        for char in body {
            if char.isASCII && (char.isNumber || hex && char.isHexDigit) {
                saw = "0"
            } else if char == "_" {
                if saw != "0" { return false }
                saw = "_"
            } else {
                if saw == "_" { return false }
                saw = "!"
            }
        }
        return saw != "_"
    }

    /// strconv.ParseUint(text, 0, 64).
    static func parseUnsigned(_ text: String) -> UInt64? {
        var body = Substring(text)
        var radix = 10
        var prefixed = false
        let lower = body.lowercased()
        if lower.hasPrefix("0x") { radix = 16; body = body.dropFirst(2); prefixed = true }
        else if lower.hasPrefix("0o") { radix = 8; body = body.dropFirst(2); prefixed = true }
        else if lower.hasPrefix("0b") { radix = 2; body = body.dropFirst(2); prefixed = true }
        else if body.hasPrefix("0") && body.count > 1 { radix = 8; body = body.dropFirst(1); prefixed = true }
        if body.contains("_") {
            guard underscoresValid((prefixed ? "0" : "") + body, hex: radix == 16) else { return nil }
        }
        let digits = body.replacingOccurrences(of: "_", with: "")
        guard !digits.isEmpty else { return nil }
        return UInt64(digits, radix: radix)
    }

    /// strconv.ParseInt(text, 0, 64).
    static func parseSigned(_ text: String) -> Int64? {
        var body = text
        var negative = false
        if body.hasPrefix("+") || body.hasPrefix("-") {
            negative = body.hasPrefix("-")
            body.removeFirst()
        }
        guard let magnitude = parseUnsigned(body) else { return nil }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
            guard magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// strconv.ParseFloat(text, 64) for the literal forms the lexer produces.
    static func parseFloat(_ text: String) -> Double? {
        if text.contains("_") && !underscoresValid(text.replacingOccurrences(of: ".", with: "0"), hex: text.lowercased().contains("0x")) {
            return nil
        }
        let cleaned = text.replacingOccurrences(of: "_", with: "")
        let lower = cleaned.lowercased()
        if lower.contains("inf") || lower.contains("nan") { return nil }
        return Double(cleaned)
    }
}
