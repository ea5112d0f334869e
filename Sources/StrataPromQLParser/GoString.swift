import StrataModel

/// A quoted string that Go's `strconv.Unquote` (Prometheus' `strutil.Unquote`) would reject.
public struct GoStringSyntaxError: Error, CustomStringConvertible, Sendable {
    public var description: String { "invalid syntax" }
}

/// Unquotes a PromQL string literal as Prometheus does: `"…"` and `'…'` with Go escapes
/// (`\a \b \f \n \r \t \v \\ \' \" \xNN \NNN \uXXXX \UXXXXXXXX`), `` `…` `` raw without escapes.
///
/// `\xNN` and octal escapes produce single bytes; a byte sequence that is not valid UTF-8 ends up
/// as U+FFFD, because a Swift `String` cannot hold it.
public func unquoteGoString(_ quoted: String) throws -> String {
    let s = Array(quoted.utf8)
    guard s.count >= 2, let quote = s.first, quote == s.last else { throw GoStringSyntaxError() }
    let body = s[1 ..< s.count - 1]
    if quote == UInt8(ascii: "`") {
        if body.contains(quote) { throw GoStringSyntaxError() }
        return String(decoding: body, as: UTF8.self)
    }
    guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'"),
          !body.contains(UInt8(ascii: "\n")) else { throw GoStringSyntaxError() }

    var out: [UInt8] = []
    out.reserveCapacity(body.count)
    var i = body.startIndex
    while i < body.endIndex {
        let c = body[i]
        if c == quote { throw GoStringSyntaxError() }
        if c != UInt8(ascii: "\\") {
            out.append(c)
            i += 1
            continue
        }
        i += 1
        guard i < body.endIndex else { throw GoStringSyntaxError() }
        let e = body[i]
        i += 1
        switch e {
        case UInt8(ascii: "a"): out.append(0x07)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "v"): out.append(0x0B)
        case UInt8(ascii: "\\"): out.append(e)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            // Only the string's own quote may be escaped.
            guard e == quote else { throw GoStringSyntaxError() }
            out.append(e)
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = e == UInt8(ascii: "x") ? 2 : (e == UInt8(ascii: "u") ? 4 : 8)
            guard body.endIndex - i >= n else { throw GoStringSyntaxError() }
            var v: UInt32 = 0
            for j in 0 ..< n {
                guard let d = hexDigitValue(body[i + j]) else { throw GoStringSyntaxError() }
                v = v << 4 | UInt32(d)
            }
            i += n
            if e == UInt8(ascii: "x") {
                out.append(UInt8(v))
            } else {
                guard let scalar = Unicode.Scalar(v) else { throw GoStringSyntaxError() }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
        case UInt8(ascii: "0") ... UInt8(ascii: "7"):
            guard body.endIndex - i >= 2 else { throw GoStringSyntaxError() }
            var v = UInt32(e - UInt8(ascii: "0"))
            for j in 0 ..< 2 {
                let d = body[i + j]
                guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") else { throw GoStringSyntaxError() }
                v = v << 3 | UInt32(d - UInt8(ascii: "0"))
            }
            i += 2
            guard v <= 255 else { throw GoStringSyntaxError() }
            out.append(UInt8(v))
        default:
            throw GoStringSyntaxError()
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
func isGoPrintable(_ r: Unicode.Scalar) -> Bool {
    if r == " " { return true }
    switch r.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
         .nonspacingMark, .spacingMark, .enclosingMark,
         .decimalNumber, .letterNumber, .otherNumber,
         .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation,
         .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
        return true
    default:
        return false
    }
}

/// A rune quoted as Go's `%q` verb prints it (`'x'`, `'\n'`, `'\x00'`), for lexer errors.
func goQuoteRune(_ r: Unicode.Scalar) -> String {
    switch r {
    case "'": return "'\\''"
    case "\\": return "'\\\\'"
    case "\u{07}": return "'\\a'"
    case "\u{08}": return "'\\b'"
    case "\u{0C}": return "'\\f'"
    case "\n": return "'\\n'"
    case "\r": return "'\\r'"
    case "\t": return "'\\t'"
    case "\u{0B}": return "'\\v'"
    default:
        if isGoPrintable(r) { return "'\(Character(r))'" }
        if r.value < 0x80 { return "'\\x\(hex(r.value, width: 2))'" }
        if r.value < 0x10000 { return "'\\u\(hex(r.value, width: 4))'" }
        return "'\\U\(hex(r.value, width: 8))'"
    }
}

/// A rune as Go's `%#U` verb prints it (`U+0063 'c'`), for escape-sequence errors.
func goUnicodeName(_ r: Unicode.Scalar) -> String {
    let code = "U+" + hex(r.value, width: 4, uppercase: true)
    return isGoPrintable(r) ? "\(code) '\(Character(r))'" : code
}

private func hex(_ v: UInt32, width: Int, uppercase: Bool = false) -> String {
    let digits = String(v, radix: 16, uppercase: uppercase)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
