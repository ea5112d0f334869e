/// Splits template text into tokens, following Go's text/template lexer
/// (default delimiters, trim markers, comments, break/continue keywords).
struct TemplateLexer {
    private let input: [UInt8]
    private let leftDelim: [UInt8] = Array("{{".utf8)
    private let rightDelim: [UInt8] = Array("}}".utf8)
    private var pos = 0
    private var start = 0
    private var line = 1
    private var startLine = 1
    private var parenDepth = 0
    private var insideAction = false
    private var pending: [TemplateToken] = []
    private var finished = false
    /// break/continue are keywords only while no function of that name exists.
    var breakIsKeyword = true
    var continueIsKeyword = true

    init(_ text: String) {
        input = Array(text.utf8)
    }

    mutating func nextToken() -> TemplateToken {
        while pending.isEmpty {
            if finished { return TemplateToken(kind: .eof, value: "", pos: input.count, line: line) }
            if insideAction { lexInsideAction() } else { lexText() }
        }
        return pending.removeFirst()
    }

    // MARK: - Emitting

    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: input[from..<to], as: UTF8.self)
    }

    private mutating func emit(_ kind: TemplateTokenKind) {
        pending.append(TemplateToken(kind: kind, value: text(start, pos), pos: start, line: startLine))
        advanceStart()
    }

    private mutating func advanceStart() {
        start = pos
        startLine = line
    }

    /// Skips input without emitting, keeping the line count right.
    private mutating func ignore() {
        line += input[start..<pos].filter { $0 == UInt8(ascii: "\n") }.count
        advanceStart()
    }

    private mutating func fail(_ message: String) {
        pending.append(TemplateToken(kind: .error, value: message, pos: start, line: startLine))
        finished = true
    }

    // MARK: - Character access

    private func peekByte(_ offset: Int = 0) -> UInt8? {
        pos + offset < input.count ? input[pos + offset] : nil
    }

    private func hasPrefix(_ prefix: [UInt8], at index: Int) -> Bool {
        guard index + prefix.count <= input.count else { return false }
        return Array(input[index..<(index + prefix.count)]) == prefix
    }

    private static func isSpace(_ byte: UInt8?) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }

    /// Decodes the rune at `index`; returns the scalar and its byte length.
    private func rune(at index: Int) -> (Unicode.Scalar, Int)? {
        guard index < input.count else { return nil }
        var iterator = input[index...].makeIterator()
        var decoder = UTF8()
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): return (scalar, scalar.utf8.count)
        default: return ("\u{FFFD}", 1)
        }
    }

    private mutating func nextRune() -> Unicode.Scalar? {
        guard let (scalar, width) = rune(at: pos) else { return nil }
        pos += width
        if scalar == "\n" { line += 1 }
        return scalar
    }

    private static func isAlphaNumeric(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return false
        }
    }

    // MARK: - Trim markers

    /// "{{- " : a minus followed by a space trims preceding text.
    private func hasLeftTrimMarker(at index: Int) -> Bool {
        index + 1 < input.count && input[index] == UInt8(ascii: "-") && TemplateLexer.isSpace(input[index + 1])
    }

    /// " -}}" : a space then minus before the right delimiter trims following text.
    private func hasRightTrimMarker(at index: Int) -> Bool {
        index + 1 < input.count && TemplateLexer.isSpace(input[index]) && input[index + 1] == UInt8(ascii: "-")
    }

    private func atRightDelim() -> (delim: Bool, trim: Bool) {
        if hasRightTrimMarker(at: pos) && hasPrefix(rightDelim, at: pos + 2) { return (true, true) }
        if hasPrefix(rightDelim, at: pos) { return (true, false) }
        return (false, false)
    }

    private func leadingSpaceCount(from index: Int) -> Int {
        var count = 0
        while index + count < input.count && TemplateLexer.isSpace(input[index + count]) { count += 1 }
        return count
    }

    // MARK: - States

    private mutating func lexText() {
        var search = pos
        while search < input.count && !hasPrefix(leftDelim, at: search) { search += 1 }
        if search >= input.count {
            pos = input.count
            if pos > start {
                pending.append(TemplateToken(kind: .text, value: text(start, pos), pos: start, line: startLine))
            }
            ignore()
            pending.append(TemplateToken(kind: .eof, value: "", pos: pos, line: line))
            finished = true
            return
        }
        pos = search
        var textEnd = pos
        let trims = hasLeftTrimMarker(at: pos + leftDelim.count)
        if trims {
            while textEnd > start && TemplateLexer.isSpace(input[textEnd - 1]) { textEnd -= 1 }
        }
        if textEnd > start {
            pending.append(TemplateToken(kind: .text, value: text(start, textEnd), pos: start, line: startLine))
        }
        ignore()
        lexLeftDelim()
    }

    private mutating func lexLeftDelim() {
        pos += leftDelim.count
        let trims = hasLeftTrimMarker(at: pos)
        let afterMarker = trims ? 2 : 0
        if hasPrefix(Array("/*".utf8), at: pos + afterMarker) {
            pos += afterMarker
            ignore()
            lexComment()
            return
        }
        emit(.leftDelim)
        pos += afterMarker
        ignore()
        parenDepth = 0
        insideAction = true
    }

    private mutating func lexComment() {
        pos += 2
        var search = pos
        while search + 1 < input.count && !(input[search] == UInt8(ascii: "*") && input[search + 1] == UInt8(ascii: "/")) {
            search += 1
        }
        if search + 1 >= input.count {
            fail("unclosed comment")
            return
        }
        pos = search + 2
        let (delim, trims) = atRightDelim()
        if !delim {
            fail("comment ends before closing delimiter")
            return
        }
        if trims { pos += 2 }
        pos += rightDelim.count
        if trims { pos += leadingSpaceCount(from: pos) }
        ignore()
    }

    private mutating func lexRightDelim() {
        let trims = hasRightTrimMarker(at: pos)
        if trims {
            pos += 2
            ignore()
        }
        pos += rightDelim.count
        emit(.rightDelim)
        if trims {
            pos += leadingSpaceCount(from: pos)
            ignore()
        }
        insideAction = false
    }

    private mutating func lexInsideAction() {
        let (delim, _) = atRightDelim()
        if delim {
            if parenDepth == 0 {
                lexRightDelim()
            } else {
                fail("unclosed left paren")
            }
            return
        }
        guard let scalar = nextRune() else {
            fail("unclosed action")
            return
        }
        switch scalar {
        case " ", "\t", "\r", "\n":
            pos -= 1
            if scalar == "\n" { line -= 1 }
            lexSpace()
        case "=":
            emit(.assign)
        case ":":
            if nextRune() != "=" {
                fail("expected :=")
                return
            }
            emit(.declare)
        case "|":
            emit(.pipe)
        case "\"":
            lexQuoted(closing: "\"", kind: .string, unterminated: "unterminated quoted string")
        case "`":
            lexRawQuote()
        case "$":
            lexFieldOrVariable(.variable)
        case "'":
            lexQuoted(closing: "'", kind: .charConstant, unterminated: "unterminated character constant")
        case ".":
            if let next = peekByte(), !(next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) {
                lexFieldOrVariable(.field)
                return
            }
            if peekByte() == nil {
                lexFieldOrVariable(.field)
                return
            }
            pos -= 1
            lexNumber()
        case "+", "-", "0"..."9":
            pos -= 1
            lexNumber()
        case "(":
            emit(.leftParen)
            parenDepth += 1
        case ")":
            emit(.rightParen)
            parenDepth -= 1
            if parenDepth < 0 {
                fail("unexpected right paren \(GoQuote.unicodeDescription(scalar))")
            }
        default:
            if TemplateLexer.isAlphaNumeric(scalar) {
                pos -= scalar.utf8.count
                lexIdentifier()
            } else if scalar.value < 0x80 && scalar.value >= 0x20 && scalar.value != 0x7F {
                emit(.char)
            } else {
                fail("unrecognized character in action: \(GoQuote.unicodeDescription(scalar))")
            }
        }
    }

    private mutating func lexSpace() {
        var count = 0
        while TemplateLexer.isSpace(peekByte()) {
            _ = nextRune()
            count += 1
        }
        // A space followed by "-}}" is a trim marker, not a space token.
        if hasRightTrimMarker(at: pos - 1) && hasPrefix(rightDelim, at: pos + 1) {
            pos -= 1
            if input[pos] == UInt8(ascii: "\n") { line -= 1 }
            if count == 1 {
                lexRightDelim()
                return
            }
        }
        emit(.space)
    }

    private mutating func lexIdentifier() {
        while let (scalar, width) = rune(at: pos), TemplateLexer.isAlphaNumeric(scalar) { pos += width }
        if !atTerminator() {
            let (scalar, _) = rune(at: pos)!
            fail("bad character \(GoQuote.unicodeDescription(scalar))")
            return
        }
        let word = text(start, pos)
        if let keyword = TemplateTokenKind.keywords[word] {
            if (keyword == .breakKeyword && !breakIsKeyword) || (keyword == .continueKeyword && !continueIsKeyword) {
                emit(.identifier)
            } else {
                emit(keyword)
            }
        } else if word == "true" || word == "false" {
            emit(.bool)
        } else {
            emit(.identifier)
        }
    }

    /// Handles ".Field", "$var", and the bare "." and "$".
    private mutating func lexFieldOrVariable(_ kind: TemplateTokenKind) {
        if atTerminator() {
            emit(kind == .variable ? .variable : .dot)
            return
        }
        while let (scalar, width) = rune(at: pos), TemplateLexer.isAlphaNumeric(scalar) { pos += width }
        if !atTerminator() {
            let (scalar, _) = rune(at: pos)!
            fail("bad character \(GoQuote.unicodeDescription(scalar))")
            return
        }
        emit(kind)
    }

    private func atTerminator() -> Bool {
        guard let byte = peekByte() else { return true }
        if TemplateLexer.isSpace(byte) { return true }
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "|"), UInt8(ascii: ":"),
             UInt8(ascii: ")"), UInt8(ascii: "("):
            return true
        default:
            return byte == rightDelim[0]
        }
    }

    /// A character constant or an interpreted string, up to its closing quote: an escape skips
    /// the next rune; a newline or the end of input leaves it unterminated (Go's lexChar/lexQuote).
    private mutating func lexQuoted(closing: Unicode.Scalar, kind: TemplateTokenKind, unterminated: String) {
        while true {
            switch nextRune() {
            case "\\":
                if let next = peekByte(), next != UInt8(ascii: "\n") {
                    _ = nextRune()
                    continue
                }
                fail(unterminated)
                return
            case nil, "\n":
                fail(unterminated)
                return
            case closing:
                emit(kind)
                return
            default:
                continue
            }
        }
    }

    private mutating func lexRawQuote() {
        while true {
            switch nextRune() {
            case nil:
                fail("unterminated raw quoted string")
                return
            case "`":
                emit(.rawString)
                return
            default:
                continue
            }
        }
    }

    private mutating func lexNumber() {
        if !scanNumber() {
            fail("bad number syntax: \(GoQuote.quote(text(start, pos)))")
            return
        }
        if let sign = peekByte(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            // Complex constant such as 1+2i.
            if !scanNumber() || input[pos - 1] != UInt8(ascii: "i") {
                fail("bad number syntax: \(GoQuote.quote(text(start, pos)))")
                return
            }
            emit(.complex)
        } else {
            emit(.number)
        }
    }

    private mutating func accept(_ valid: String) -> Bool {
        if let byte = peekByte(), valid.utf8.contains(byte) {
            pos += 1
            return true
        }
        return false
    }

    private mutating func acceptRun(_ valid: String) {
        while accept(valid) {}
    }

    private mutating func scanNumber() -> Bool {
        _ = accept("+-")
        var digits = "0123456789_"
        if accept("0") {
            if accept("xX") {
                digits = "0123456789abcdefABCDEF_"
            } else if accept("oO") {
                digits = "01234567_"
            } else if accept("bB") {
                digits = "01_"
            }
        }
        acceptRun(digits)
        if accept(".") { acceptRun(digits) }
        if digits.count == 11 && accept("eE") {
            _ = accept("+-")
            acceptRun("0123456789_")
        }
        if digits.count == 23 && accept("pP") {
            _ = accept("+-")
            acceptRun("0123456789_")
        }
        _ = accept("i")
        if let (scalar, width) = rune(at: pos), TemplateLexer.isAlphaNumeric(scalar) {
            pos += width
            return false
        }
        return true
    }
}
