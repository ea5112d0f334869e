/// Go's strconv quoting and unquoting rules, used by the lexer, parser and fmt.
enum GoQuote {
    /// strconv.Quote: double-quoted with Go escapes; non-printable runes escaped.
    static func quote(_ text: String, asciiOnly: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            out += escape(scalar, quote: "\"", asciiOnly: asciiOnly)
        }
        return out + "\""
    }

    /// strconv.QuoteRune: single-quoted rune.
    static func quoteRune(_ scalar: Unicode.Scalar, asciiOnly: Bool = false) -> String {
        "'" + escape(scalar, quote: "'", asciiOnly: asciiOnly) + "'"
    }

    private static func escape(_ scalar: Unicode.Scalar, quote: Unicode.Scalar, asciiOnly: Bool) -> String {
        if scalar == quote || scalar == "\\" { return "\\" + String(scalar) }
        if asciiOnly ? (scalar.value < 0x80 && isPrintable(scalar)) : isPrintable(scalar) {
            return String(scalar)
        }
        switch scalar {
        case "\u{07}": return "\\a"
        case "\u{08}": return "\\b"
        case "\u{0C}": return "\\f"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\u{0B}": return "\\v"
        default:
            let value = scalar.value
            if value < 0x20 || value == 0x7F { return "\\x" + hex(value, width: 2) }
            if value == 0xFFFD { return "\\ufffd" }
            if value < 0x10000 { return "\\u" + hex(value, width: 4) }
            return "\\U" + hex(value, width: 8)
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// An approximation of Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// %#U: "U+0041 'A'" (the quoted rune only when printable).
    static func unicodeDescription(_ scalar: Unicode.Scalar) -> String {
        let hexDigits = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hexDigits.count)) + hexDigits
        return isPrintable(scalar) ? "\(code) '\(scalar)'" : code
    }

    /// strconv.CanBackquote: no control characters (other than tab) and no backquote.
    static func canBackquote(_ text: String) -> Bool {
        for scalar in text.unicodeScalars {
            if scalar == "`" || scalar == "\u{FEFF}" { return false }
            if scalar.value < 0x20 && scalar != "\t" { return false }
            if scalar.value == 0x7F { return false }
        }
        return true
    }

    struct SyntaxError: Error {}

    /// strconv.Unquote for "..." and `...` literals.
    static func unquote(_ literal: String) throws -> String {
        let bytes = Array(literal.utf8)
        guard bytes.count >= 2, let first = bytes.first, first == bytes.last else { throw SyntaxError() }
        let body = Array(bytes[1..<(bytes.count - 1)])
        if first == UInt8(ascii: "`") {
            if body.contains(UInt8(ascii: "`")) { throw SyntaxError() }
            return String(decoding: body.filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        }
        guard first == UInt8(ascii: "\"") else { throw SyntaxError() }
        var index = 0
        var out: [UInt8] = []
        while index < body.count {
            let (bytesOut, next) = try unescapeOne(body, at: index, quote: UInt8(ascii: "\""))
            out += bytesOut
            index = next
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a character constant such as 'a' or '\n' into its rune.
    static func unquoteChar(_ literal: String) throws -> Unicode.Scalar {
        let bytes = Array(literal.utf8)
        guard bytes.count >= 3, bytes.first == UInt8(ascii: "'"), bytes.last == UInt8(ascii: "'") else { throw SyntaxError() }
        let body = Array(bytes[1..<(bytes.count - 1)])
        let (decoded, next) = try unescapeOne(body, at: 0, quote: UInt8(ascii: "'"))
        guard next == body.count else { throw SyntaxError() }
        let text = String(decoding: decoded, as: UTF8.self)
        guard text.unicodeScalars.count == 1, let scalar = text.unicodeScalars.first else { throw SyntaxError() }
        return scalar
    }

    private static func unescapeOne(_ body: [UInt8], at index: Int, quote: UInt8) throws -> ([UInt8], Int) {
        let byte = body[index]
        if byte == quote && quote == UInt8(ascii: "'") { throw SyntaxError() }
        if byte == UInt8(ascii: "\"") && quote == UInt8(ascii: "\"") { throw SyntaxError() }
        if byte == UInt8(ascii: "\n") { throw SyntaxError() }
        if byte != UInt8(ascii: "\\") {
            // Copy one whole UTF-8 sequence.
            var length = 1
            if byte >= 0xF0 { length = 4 } else if byte >= 0xE0 { length = 3 } else if byte >= 0xC0 { length = 2 }
            let end = min(body.count, index + length)
            return (Array(body[index..<end]), end)
        }
        guard index + 1 < body.count else { throw SyntaxError() }
        let code = body[index + 1]
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
            UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
        ]
        if let value = simple[code] { return ([value], index + 2) }
        if code == quote { return ([quote], index + 2) }
        func hexValue(_ count: Int) throws -> UInt32 {
            guard index + 2 + count <= body.count else { throw SyntaxError() }
            let digits = String(decoding: body[(index + 2)..<(index + 2 + count)], as: UTF8.self)
            guard let value = UInt32(digits, radix: 16) else { throw SyntaxError() }
            return value
        }
        switch code {
        case UInt8(ascii: "x"):
            return ([UInt8(try hexValue(2))], index + 4)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = code == UInt8(ascii: "u") ? 4 : 8
            guard let scalar = Unicode.Scalar(try hexValue(count)) else { throw SyntaxError() }
            return (Array(String(scalar).utf8), index + 2 + count)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard index + 4 <= body.count else { throw SyntaxError() }
            let digits = String(decoding: body[(index + 1)..<(index + 4)], as: UTF8.self)
            guard let value = UInt32(digits, radix: 8), value <= 255 else { throw SyntaxError() }
            return ([UInt8(value)], index + 4)
        default:
            throw SyntaxError()
        }
    }
}
