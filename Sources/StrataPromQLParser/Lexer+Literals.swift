import StrataModel

/// Number, duration and string tokens, scanned as Prometheus' lexer does: only the shape is
/// checked here (the parser converts the text and reports bad values).
extension Lexer {
    mutating func lexNumberOrDuration() -> Step {
        if scanNumber() { return .token(.number) }
        if acceptRemainingDuration() { return .token(.duration) }
        return .failure("bad number or duration syntax: \(goQuoteString(String(decoding: bytes[start ..< min(pos, bytes.count)], as: UTF8.self)))")
    }

    /// Prometheus' `scanNumber`: `[0x][.]digits` with `.`, `_` and exponents; the text need not be
    /// a valid number (the parser checks). False when a letter follows.
    private mutating func scanNumber() -> Bool {
        let initial = pos
        var digits = "0123456789"
        if accept("0") && accept("xX") {
            _ = accept("_")
            digits = "0123456789abcdefABCDEF"
        }
        _ = accept(".")
        _ = accept(digits)
        var dotConsumed = false
        var exponentConsumed = false
        while isNext(digits + "._eE") {
            if isNext(".") && dotConsumed { _ = accept("."); return false }
            if isNext("eE") && exponentConsumed { _ = accept("eE"); return false }
            if accept(".") {
                dotConsumed = true
                if accept("_.") { return false }
                // No fractional hexadecimal literals.
                if digits.count > 10 { return false }
                continue
            }
            if accept("eE") {
                exponentConsumed = true
                _ = accept("+-")
                if accept("._eE") || peekByte == nil { return false }
                continue
            }
            if accept("_") {
                if accept("._eE") || peekByte == nil { return false }
                continue
            }
            while accept(digits) {}
        }
        if pos == initial { return false }
        if let c = peekByte, isAlphaNumeric(c) { return false }
        return true
    }

    /// After the digits of a duration: a unit, then more `<digits><unit>` pairs.
    private mutating func acceptRemainingDuration() -> Bool {
        guard accept("smhdwy") else { return false }
        _ = accept("s") // "ms"; bad units such as "hs" fail later in the duration parser.
        while accept("0123456789") {
            while accept("0123456789") {}
            guard accept("smhdw") else { return false }
            _ = accept("s")
        }
        // A letter or digit right after is part of the (bad) token, for the error message.
        if let next = peekByte, isAlphaNumeric(next) {
            pos += 1
            return false
        }
        return true
    }

    // MARK: Strings

    mutating func lexString(quote: UInt8) -> Step {
        while true {
            guard pos < bytes.count, bytes[pos] != UInt8(ascii: "\n") else { return .failure("unterminated quoted string") }
            let r = nextScalar()
            if r == "\\" {
                if let message = lexEscape(quote: quote) { return .failure(message) }
                continue
            }
            if r == "\u{FFFD}" { return .failure("invalid UTF-8 rune") }
            if r.value == UInt32(quote) { return .token(.string) }
        }
    }

    /// Validates one escape sequence (the backslash is consumed); returns the error message.
    private mutating func lexEscape(quote: UInt8) -> String? {
        guard pos < bytes.count else { return "escape sequence not terminated" }
        var ch = nextScalar()
        var n = 0, base: UInt32 = 0, maxValue: UInt32 = 0
        switch ch {
        case "a", "b", "f", "n", "r", "t", "v", "\\":
            return nil
        case "0" ... "7":
            n = 3; base = 8; maxValue = 255
        case "x", "u", "U":
            n = ch == "x" ? 2 : (ch == "u" ? 4 : 8)
            base = 16
            maxValue = ch == "x" ? 255 : 0x10FFFF
            guard pos < bytes.count else { return "escape sequence not terminated" }
            ch = nextScalar()
        default:
            if ch.value == UInt32(quote) { return nil }
            return "unknown escape sequence \(goUnicodeName(ch))"
        }
        var x: UInt32 = 0
        while n > 0 {
            let d = ch.isASCII ? UInt32(hexDigitValue(UInt8(ch.value)) ?? 16) : 16
            if d >= base { return "illegal character \(goUnicodeName(ch)) in escape sequence" }
            x = x * base + d
            n -= 1
            if n > 0 {
                guard pos < bytes.count else { return "escape sequence not terminated" }
                ch = nextScalar()
            }
        }
        if x > maxValue || (0xD800 ..< 0xE000).contains(x) { return "escape sequence is an invalid Unicode code point" }
        return nil
    }

    mutating func lexRawString() -> Step {
        while true {
            guard pos < bytes.count else { return .failure("unterminated raw string") }
            let r = nextScalar()
            if r == "\u{FFFD}" { return .failure("invalid UTF-8 rune") }
            if r == "`" { return .token(.string) }
        }
    }
}
