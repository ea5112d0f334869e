/// The kinds of lexical items Go's text/template lexer produces.
enum TemplateTokenKind: Equatable {
    case error, eof, text, space, leftDelim, rightDelim, leftParen, rightParen
    case pipe, assign, declare, char, charConstant, number, complex
    case string, rawString, variable, field, identifier, bool
    // Keywords: printed as <word> in error messages.
    case dot, nilKeyword, block, breakKeyword, continueKeyword, define, elseKeyword, end, ifKeyword, range, template, with

    var isKeyword: Bool {
        switch self {
        case .dot, .nilKeyword, .block, .breakKeyword, .continueKeyword, .define, .elseKeyword, .end,
             .ifKeyword, .range, .template, .with:
            return true
        default:
            return false
        }
    }

    static let keywords: [String: TemplateTokenKind] = [
        ".": .dot, "nil": .nilKeyword, "block": .block, "break": .breakKeyword, "continue": .continueKeyword,
        "define": .define, "else": .elseKeyword, "end": .end, "if": .ifKeyword, "range": .range,
        "template": .template, "with": .with,
    ]
}

/// One lexical item: its kind, text, byte offset and the line it starts on.
struct TemplateToken {
    var kind: TemplateTokenKind
    var value: String
    var pos: Int
    var line: Int

    /// The token as Go's parser quotes it in "unexpected X in Y" errors.
    var description: String {
        if kind == .eof { return "EOF" }
        if kind == .error { return value }
        if kind.isKeyword { return "<\(value)>" }
        let scalars = Array(value.unicodeScalars)
        if scalars.count > 10 {
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars[0..<10])
            return GoQuote.quote(String(prefix)) + "..."
        }
        return GoQuote.quote(value)
    }
}
