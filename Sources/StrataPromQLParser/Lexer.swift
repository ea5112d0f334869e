/// PromQL lexer with the states and error messages of Prometheus' `lex.go`.
///
/// The whole input is lexed up front. Lexing stops at the first error, which the parser reports
/// once it reaches that point of the token stream, so an earlier syntax error still wins.
struct Lexer {
    /// A lexer error: the message and the byte offset Prometheus reports it at.
    struct Failure {
        var message: String
        var position: Int
    }

    let bytes: [UInt8]
    var pos = 0
    /// Start of the token being scanned.
    var start = 0
    private var parenDepth = 0
    private var braceOpen = false
    private var bracketOpen = false
    /// Directly after `[` (and after operators there), where `lexDurationExpr` rules apply.
    private var inDurationExpression = false
    private var gotColon = false
    /// Never reset once set, as in Prometheus.
    var gotDuration = false

    enum Step {
        case token(TokenKind)
        case skip
        case failure(String)
        /// An error reported after the character was consumed (Prometheus emits, then fails).
        case failureAfter(String)
    }

    init(_ input: String) { bytes = Array(input.utf8) }

    /// All tokens up to and including `eof`, or up to the first error.
    static func tokenize(_ input: String) -> (tokens: [Token], failure: Failure?) {
        var lexer = Lexer(input)
        var tokens: [Token] = []
        while true {
            lexer.start = lexer.pos
            let step: Step
            if lexer.braceOpen { step = lexer.lexInsideBraces() }
            else if lexer.inDurationExpression { step = lexer.lexDurationExpression() }
            else { step = lexer.lexStatement() }
            switch step {
            case .skip:
                continue
            case .failure(let message):
                return (tokens, Failure(message: message, position: lexer.start))
            case .failureAfter(let message):
                return (tokens, Failure(message: message, position: lexer.pos))
            case .token(let kind):
                let text = String(decoding: lexer.bytes[lexer.start ..< lexer.pos], as: UTF8.self)
                tokens.append(Token(kind: kind, start: lexer.start, text: text))
                if kind == .eof { return (tokens, nil) }
            }
        }
    }

    // MARK: States

    private mutating func lexStatement() -> Step {
        if peekByte == UInt8(ascii: "#") { skipComment(); return .skip }
        guard let c = peekByte else {
            if parenDepth != 0 { return .failure("unclosed left parenthesis") }
            if bracketOpen { return .failure("unclosed left bracket") }
            return .token(.eof)
        }
        if isSpace(c) { skipSpaces(); return .skip }
        if isDigit(c) || (c == UInt8(ascii: ".") && isDigit(byte(at: pos + 1))) { return lexNumberOrDuration() }
        if isAlpha(c) || c == UInt8(ascii: ":") { return lexWordOrColon(c) }
        pos += 1
        if let op = Self.arithmeticToken(c) { return .token(op) }
        switch c {
        case UInt8(ascii: "@"): return .token(.at)
        case UInt8(ascii: "="):
            if accept("=") { return .token(.eqlc) }
            if peekByte == UInt8(ascii: "~") { return .failure("unexpected character after '=': '~'") }
            return .token(.equal)
        case UInt8(ascii: "!"):
            let next = nextScalar()
            if next != "=" { return .failure("unexpected character after '!': \(goQuoteRune(next))") }
            return .token(.neq)
        case UInt8(ascii: "<"):
            if accept("=") { return .token(.lte) }
            if accept("/") { return .token(.trimUpper) }
            return .token(.lss)
        case UInt8(ascii: ">"):
            if accept("=") { return .token(.gte) }
            if accept("/") { return .token(.trimLower) }
            return .token(.gtr)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return lexString(quote: c)
        case UInt8(ascii: "`"): return lexRawString()
        case UInt8(ascii: "("), UInt8(ascii: ")"):
            return parenthesis(c)
        case UInt8(ascii: "{"):
            braceOpen = true
            return .token(.leftBrace)
        case UInt8(ascii: "["):
            if bracketOpen { return .failure("unexpected left bracket '['") }
            gotColon = false
            bracketOpen = true
            inDurationExpression = true
            return .token(.leftBracket)
        case UInt8(ascii: "]"):
            if !bracketOpen { return .failure("unexpected right bracket ']'") }
            bracketOpen = false
            return .token(.rightBracket)
        default:
            pos -= 1
            return .failure("unexpected character: \(goQuoteRune(nextScalar()))")
        }
    }

    /// Words outside brackets are keywords or identifiers; inside a range/subquery bracket only
    /// `:` and the duration functions (`step`, `range`, `min_of`, `max_of`) may appear.
    private mutating func lexWordOrColon(_ c: UInt8) -> Step {
        if !bracketOpen { return lexKeywordOrIdentifier() }
        if c == UInt8(ascii: ":") {
            if gotColon { return .failure("unexpected colon ':'") }
            pos += 1
            gotColon = true
            return .token(.colon)
        }
        if let keyword = scanDurationKeyword() { return .token(keyword) }
        return .failure("unexpected character: \(goQuoteRune(Unicode.Scalar(c))), expected ':'")
    }

    /// Inside `{…}`: label names, strings, matcher operators; keywords are plain identifiers here.
    private mutating func lexInsideBraces() -> Step {
        if peekByte == UInt8(ascii: "#") { skipComment(); return .skip }
        guard let c = peekByte else { return .failure("unexpected end of input inside braces") }
        if isSpace(c) { skipSpaces(); return .skip }
        if isAlpha(c) {
            while let d = peekByte, isAlphaNumeric(d) { pos += 1 }
            return .token(.identifier)
        }
        pos += 1
        switch c {
        case UInt8(ascii: ","): return .token(.comma)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return lexString(quote: c)
        case UInt8(ascii: "`"): return lexRawString()
        case UInt8(ascii: "="): return .token(accept("~") ? .eqlRegex : .equal)
        case UInt8(ascii: "!"):
            let next = nextScalar()
            if next == "~" { return .token(.neqRegex) }
            if next == "=" { return .token(.neq) }
            return .failure("unexpected character after '!' inside braces: \(goQuoteRune(next))")
        case UInt8(ascii: "{"): return .failure("unexpected left brace '{'")
        case UInt8(ascii: "}"):
            braceOpen = false
            return .token(.rightBrace)
        default:
            pos -= 1
            return .failure("unexpected character inside braces: \(goQuoteRune(nextScalar()))")
        }
    }

    /// Right after `[`: a duration, number, sign, parenthesis or duration function.
    private mutating func lexDurationExpression() -> Step {
        guard let c = peekByte else { return .failure("unexpected end of input in duration expression") }
        if isSpace(c) { skipSpaces(); return .skip }
        if isDigit(c) || (c == UInt8(ascii: ".") && isDigit(byte(at: pos + 1))) {
            gotDuration = true
            inDurationExpression = false
            return lexNumberOrDuration()
        }
        if isDurationKeywordStart(c) {
            if let keyword = scanDurationKeyword() { return .token(keyword) }
            return .failure("unexpected character in duration expression: \(goQuoteRune(Unicode.Scalar(c)))")
        }
        pos += 1
        switch c {
        case UInt8(ascii: "]"):
            bracketOpen = false
            gotColon = false
            inDurationExpression = false
            return .token(.rightBracket)
        case UInt8(ascii: ":"):
            if !gotDuration { return .failureAfter("unexpected colon before duration in duration expression") }
            if gotColon { return .failureAfter("unexpected repeated colon in duration expression") }
            gotColon = true
            return .token(.colon)
        case UInt8(ascii: "("), UInt8(ascii: ")"):
            return parenthesis(c)
        default:
            if let op = Self.arithmeticToken(c) { return .token(op) }
            pos -= 1
            return .failure("unexpected character in duration expression: \(goQuoteRune(nextScalar()))")
        }
    }

    /// `(` or `)`, keeping the depth that decides "unclosed left parenthesis" at the end.
    private mutating func parenthesis(_ c: UInt8) -> Step {
        if c == UInt8(ascii: "(") {
            parenDepth += 1
            return .token(.leftParen)
        }
        parenDepth -= 1
        return parenDepth < 0 ? .failureAfter("unexpected right parenthesis ')'") : .token(.rightParen)
    }

    /// The one-byte operators and the comma, the same in expressions and duration expressions.
    private static func arithmeticToken(_ c: UInt8) -> TokenKind? {
        switch c {
        case UInt8(ascii: ","): return .comma
        case UInt8(ascii: "*"): return .mul
        case UInt8(ascii: "/"): return .div
        case UInt8(ascii: "%"): return .mod
        case UInt8(ascii: "+"): return .add
        case UInt8(ascii: "-"): return .sub
        case UInt8(ascii: "^"): return .pow
        default: return nil
        }
    }

    // MARK: Words

    private mutating func lexKeywordOrIdentifier() -> Step {
        while let c = peekByte, isAlphaNumeric(c) || c == UInt8(ascii: ":") { pos += 1 }
        let word = String(decoding: bytes[start ..< pos], as: UTF8.self)
        if let keyword = TokenKind.keywords[word.lowercased()] {
            // fill/fill_left/fill_right are keywords only before "(", so they stay usable as names.
            let isFill = keyword == .fill || keyword == .fillLeft || keyword == .fillRight
            if !isFill || nextNonSpaceIsLeftParen() { return .token(keyword) }
            return .token(.identifier)
        }
        return .token(word.contains(":") ? .metricIdentifier : .identifier)
    }

    private mutating func scanDurationKeyword() -> TokenKind? {
        while let c = peekByte, isAlpha(c) { pos += 1 }
        switch String(decoding: bytes[start ..< pos], as: UTF8.self).lowercased() {
        case "step": return .step
        case "range": return .range
        case "max_of": return .maxOf
        case "min_of": return .minOf
        default: return nil
        }
    }

    private func nextNonSpaceIsLeftParen() -> Bool {
        var i = pos
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        return i < bytes.count && bytes[i] == UInt8(ascii: "(")
    }

    // MARK: Characters

    var peekByte: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private func byte(at i: Int) -> UInt8? { i < bytes.count ? bytes[i] : nil }

    /// Consumes one UTF-8 encoded scalar; U+FFFD at the end of input (Go's `%q` of EOF prints it).
    mutating func nextScalar() -> Unicode.Scalar {
        guard pos < bytes.count else { return "\u{FFFD}" }
        let lead = bytes[pos]
        let width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        let end = min(pos + width, bytes.count)
        let scalar = String(decoding: bytes[pos ..< end], as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
        pos = end
        return scalar
    }

    /// Consumes the next byte if it is one of `set`.
    mutating func accept(_ set: String) -> Bool {
        guard isNext(set) else { return false }
        pos += 1
        return true
    }

    func isNext(_ set: String) -> Bool {
        guard let c = peekByte else { return false }
        return set.utf8.contains(c)
    }

    private mutating func skipSpaces() {
        while let c = peekByte, isSpace(c) { pos += 1 }
    }

    private mutating func skipComment() {
        while let c = peekByte, c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r") { pos += 1 }
    }
}

func isSpace(_ c: UInt8) -> Bool {
    c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
}

func isDigit(_ c: UInt8?) -> Bool {
    guard let c else { return false }
    return c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
}

func isAlpha(_ c: UInt8) -> Bool {
    c == UInt8(ascii: "_") || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
}

func isAlphaNumeric(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }

private func isDurationKeywordStart(_ c: UInt8) -> Bool {
    let lower = c | 0x20
    return isAlpha(c) && (lower == UInt8(ascii: "s") || lower == UInt8(ascii: "r") || lower == UInt8(ascii: "m"))
}
