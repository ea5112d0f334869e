/// What may follow an expression and binds tighter than any operator: `[range]`,
/// `[range:step]`, `offset` and `@`. Only selectors and subqueries take them.
extension Parser {
    /// Applies every `[…]`, `offset` and `@` that follows `base`.
    mutating func parsePostfix(_ base: Expr) throws(ParseError) -> Expr {
        var expr = base
        while true {
            let token = try peek()
            switch token.kind {
            case .leftBracket:
                expr = try parseRangeOrSubquery(expr)
            case .offset:
                advance()
                expr = try parseOffset(expr)
            case .at:
                advance()
                expr = try parseAt(expr)
            case .anchored, .smoothed:
                throw error("\(token.text.lowercased()) modifier is experimental and not enabled", at: expr.positionRange)
            default:
                return expr
            }
        }
    }

    private mutating func parseRangeOrSubquery(_ expr: Expr) throws(ParseError) -> Expr {
        let open = advance()
        let range = try parseBracketDuration(context: "subquery or range selector",
                                             expected: "number, duration, step(), or range()")
        let next = try peek()
        switch next.kind {
        case .rightBracket:
            advance()
            let brackets = PositionRange(start: open.start, end: next.end)
            guard case .vectorSelector(let selector) = expr else {
                throw error("ranges only allowed for vector selectors", at: brackets)
            }
            if selector.originalOffset != 0 { throw error("no offset modifiers allowed before range", at: brackets) }
            if selector.timestamp != nil || selector.startOrEnd != nil {
                throw error("no @ modifiers allowed before range", at: brackets)
            }
            return .matrixSelector(MatrixSelector(vectorSelector: selector, range: range, endPosition: next.end))
        case .colon:
            advance()
            var step: Int64 = 0
            if try peek().kind != .rightBracket {
                step = try parseBracketDuration(context: "subquery selector",
                                                expected: "number, duration, step(), range(), or \"]\"")
                let close = try peek()
                guard close.kind == .rightBracket else { throw unexpected(close, in: "subquery selector", expected: "\"]\"") }
            }
            let close = advance()
            return .subquery(SubqueryExpr(expr: expr, range: range, step: step, endPosition: close.end))
        default:
            throw unexpected(next, in: "subquery or range", expected: "\":\" or \"]\"")
        }
    }

    /// A range or step inside brackets: a positive number (seconds) or duration, in milliseconds.
    private mutating func parseBracketDuration(context: String, expected: String) throws(ParseError) -> Int64 {
        let first = try peek()
        var token = first
        var negative = false
        while token.kind == .add || token.kind == .sub {
            advance()
            if token.kind == .sub { negative.toggle() }
            token = try peek()
        }
        if token.kind.startsDurationExpression {
            // step(), range(), min_of(…), max_of(…) must at least be calls to count as duration expressions.
            if token.kind != .leftParen, let after = secondToken, after.kind != .leftParen {
                throw unexpected(after, in: context, expected: expected)
            }
            throw experimentalDurationExpression(at: first.range)
        }
        guard token.kind == .number || token.kind == .duration else { throw unexpected(token, in: context, expected: expected) }
        advance()
        let literal = try numberLiteral(token)
        if durationLiteralOutOfRange(literal.value) { throw error("duration out of range", at: token.range) }
        if try peek().kind.isDurationArithmetic { throw experimentalDurationExpression(at: first.range) }
        let seconds = negative ? -literal.value : literal.value
        if !(seconds > 0) {
            throw error("duration must be greater than 0", at: PositionRange(start: first.start, end: token.end))
        }
        return secondsToMilliseconds(seconds)
    }

    private func experimentalDurationExpression(at range: PositionRange) -> ParseError {
        error("experimental duration expression is not enabled", at: range)
    }

    /// `offset [+|-]<number or duration>`; a number counts seconds.
    private mutating func parseOffset(_ expr: Expr) throws(ParseError) -> Expr {
        let first = try peek()
        var token = first
        if first.kind == .add || first.kind == .sub {
            advance()
            token = try peek()
        }
        if token.kind.startsDurationExpression { throw experimentalDurationExpression(at: first.range) }
        guard token.kind == .number || token.kind == .duration else {
            throw unexpected(token, in: "offset", expected: "number, duration, step(), or range()")
        }
        advance()
        var seconds = try numberLiteral(token).value
        if first.kind == .sub { seconds = -seconds }
        if durationLiteralOutOfRange(seconds) { throw error("duration out of range", at: first.range) }
        let offset = secondsToMilliseconds(seconds)

        func setOnce(_ current: inout Int64) throws(ParseError) {
            if current != 0 { throw error("offset may not be set multiple times", at: expr.positionRange) }
            current = offset
        }
        switch expr {
        case .vectorSelector(var selector):
            try setOnce(&selector.originalOffset)
            selector.position.end = token.end
            return .vectorSelector(selector)
        case .matrixSelector(var matrix):
            try setOnce(&matrix.vectorSelector.originalOffset)
            matrix.endPosition = token.end
            return .matrixSelector(matrix)
        case .subquery(var subquery):
            try setOnce(&subquery.originalOffset)
            subquery.endPosition = token.end
            return .subquery(subquery)
        default:
            throw error("offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                        at: expr.positionRange)
        }
    }

    /// `@ [+|-]<number>` (Unix seconds) or `@ start()` / `@ end()`.
    private mutating func parseAt(_ expr: Expr) throws(ParseError) -> Expr {
        let at = try parseAtTime(target: expr)
        func setOnce(_ timestamp: inout Int64?, _ startOrEnd: inout AtModifierPreprocessor?) throws(ParseError) {
            if timestamp != nil || startOrEnd != nil {
                throw error("@ <timestamp> may not be set multiple times", at: expr.positionRange)
            }
            timestamp = at.timestamp
            startOrEnd = at.startOrEnd
        }
        switch expr {
        case .vectorSelector(var selector):
            try setOnce(&selector.timestamp, &selector.startOrEnd)
            selector.position.end = at.end
            return .vectorSelector(selector)
        case .matrixSelector(var matrix):
            try setOnce(&matrix.vectorSelector.timestamp, &matrix.vectorSelector.startOrEnd)
            matrix.endPosition = at.end
            return .matrixSelector(matrix)
        case .subquery(var subquery):
            try setOnce(&subquery.timestamp, &subquery.startOrEnd)
            subquery.endPosition = at.end
            return .subquery(subquery)
        default:
            throw error("@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                        at: expr.positionRange)
        }
    }

    /// The time after `@`: a timestamp in milliseconds or `start()`/`end()`, and where it ends.
    private mutating func parseAtTime(target expr: Expr) throws(ParseError)
        -> (timestamp: Int64?, startOrEnd: AtModifierPreprocessor?, end: Int) {
        let first = try peek()
        let signed = first.kind == .add || first.kind == .sub
        if signed { advance() }
        let token = try peek()
        if token.kind == .number || token.kind == .duration {
            advance()
            var seconds = try numberLiteral(token).value
            if first.kind == .sub { seconds = -seconds }
            if !seconds.isFinite || seconds.magnitude >= twoToThe63 {
                throw error("timestamp out of bounds for @ modifier: \(goFormatFixedSix(seconds))", at: expr.positionRange)
            }
            // Prometheus rounds to whole milliseconds; saturate where Go's conversion would overflow.
            let ms = (seconds * 1000).rounded()
            let timestamp = ms >= twoToThe63 ? Int64.max : (ms <= -twoToThe63 ? Int64.min : Int64(ms))
            return (timestamp, nil, token.end)
        }
        guard !signed, token.kind == .start || token.kind == .end else {
            throw unexpected(token, in: "@", expected: "timestamp")
        }
        advance()
        var end = token.end
        for expected in [TokenKind.leftParen, .rightParen] {
            let paren = try peek()
            guard paren.kind == expected else { throw unexpected(paren, in: "@", expected: "timestamp") }
            end = advance().end
        }
        return (nil, token.kind == .start ? .start : .end, end)
    }
}

private let twoToThe63 = 9.223372036854775808e18
