import StrataModel

/// Operators, unary signs, literals and parentheses.
///
/// Precedence climbing reproduces the precedence declarations of Prometheus' grammar: `or` <
/// `and unless` < comparisons < `+ -` < `* / % atan2` < `^` (right-associative). A unary sign
/// binds like `*`, so `-a ^ b` is `-(a ^ b)` and `-a * b` is `(-a) * b`. `[…]`, `offset` and `@`
/// bind tighter than everything.
extension Parser {
    mutating func parseExpression(minPrecedence: Int = 1) throws(ParseError) -> Expr {
        nesting += 1
        defer { nesting -= 1 }
        if nesting > PromQLParser.maxDepth {
            let at = index < tokens.count ? tokens[index].range : PositionRange(start: query.utf8.count, end: query.utf8.count)
            throw tooDeep(at: at)
        }
        var lhs = try parseUnary()
        while true {
            let token = try peek()
            if token.kind == .trimUpper || token.kind == .trimLower {
                throw error("trim operator \(goQuoteString(token.text)) is not supported (it applies to native histograms only)", at: token.range)
            }
            guard let op = token.kind.binaryOperator, op.precedence >= minPrecedence else { return lhs }
            advance()
            let modifiers = try parseBinaryModifiers(lhs: lhs)
            let rhs = try parseExpression(minPrecedence: op.isRightAssociative ? op.precedence : op.precedence + 1)
            // Matching is kept for every operator here; the type checker drops it where a side is
            // not a vector, as Prometheus' checkAST does.
            lhs = .binary(BinaryExpr(op: op, lhs: lhs, rhs: rhs, matching: modifiers.matching, returnBool: modifiers.returnBool))
        }
    }

    private mutating func parseUnary() throws(ParseError) -> Expr {
        let token = try peek()
        guard token.kind == .add || token.kind == .sub else { return try parsePostfix(parsePrimary()) }
        advance()
        let operand = try parseExpression(minPrecedence: BinaryOp.pow.precedence)
        let op: UnaryOp = token.kind == .sub ? .sub : .add
        // A sign on a number literal folds into it, as in Prometheus.
        if case .number(var literal) = operand {
            if op == .sub { literal.value = -literal.value }
            literal.position.start = token.start
            return .number(literal)
        }
        return .unary(UnaryExpr(op: op, expr: operand, startPosition: token.start))
    }

    private mutating func parsePrimary() throws(ParseError) -> Expr {
        let token = try peek()
        let followedByParen = secondToken?.kind == .leftParen
        switch token.kind {
        case .number, .duration:
            advance()
            return .number(try numberLiteral(token))
        case .string:
            advance()
            return .string(StringLiteral(value: try unquote(token), position: token.range))
        case .leftParen:
            return try parseParenthesized()
        case .leftBrace:
            return .vectorSelector(try parseVectorSelector(name: nil))
        case .identifier where followedByParen, .start where followedByParen, .end where followedByParen,
             .step where followedByParen, .range where followedByParen, .maxOf where followedByParen,
             .minOf where followedByParen:
            return try parseFunctionCall()
        case .aggregator(let op) where followedByParen || secondToken?.kind == .by || secondToken?.kind == .without:
            return try parseAggregation(op)
        default:
            guard token.kind.canBeMetricName else { throw unexpected(token) }
            advance()
            return .vectorSelector(try parseVectorSelector(name: token))
        }
    }

    private mutating func parseParenthesized() throws(ParseError) -> Expr {
        let open = advance()
        let inner = try parseExpression()
        let close = try peek()
        guard close.kind == .rightParen else { throw unexpected(close) }
        advance()
        return .paren(ParenExpr(expr: inner, position: PositionRange(start: open.start, end: close.end)))
    }

    /// `bool`, `on(…)`/`ignoring(…)`, `group_left(…)`/`group_right(…)`, in that order.
    private mutating func parseBinaryModifiers(lhs: Expr) throws(ParseError) -> (matching: VectorMatching, returnBool: Bool) {
        var matching = VectorMatching(card: .oneToOne)
        var returnBool = false
        if try peek().kind == .bool {
            advance()
            returnBool = true
        }
        let clause = try peek()
        if clause.kind == .on || clause.kind == .ignoring {
            advance()
            matching.on = clause.kind == .on
            matching.matchingLabels = try parseGroupingLabels().labels
            let group = try peek()
            if group.kind == .groupLeft || group.kind == .groupRight {
                advance()
                matching.card = group.kind == .groupLeft ? .manyToOne : .oneToMany
                // The label list is optional; a "(" right after is always taken as that list.
                if try peek().kind == .leftParen { matching.include = try parseGroupingLabels().labels }
            }
        }
        let fill = try peek().kind
        if fill == .fill || fill == .fillLeft || fill == .fillRight {
            throw error("binop fill modifiers are experimental and not enabled", at: lhs.positionRange)
        }
        return (matching, returnBool)
    }

    // MARK: Literals

    /// A NUMBER or DURATION token as a number (durations in seconds).
    func numberLiteral(_ token: Token) throws(ParseError) -> NumberLiteral {
        if token.kind == .duration {
            do {
                let nanos = try parseDurationNanoseconds(token.text)
                return NumberLiteral(value: Double(nanos) / 1e9, position: token.range, isDuration: true)
            } catch {
                throw self.error(error.description, at: token.range)
            }
        }
        switch parseGoNumber(token.text) {
        case .success(let value): return NumberLiteral(value: value, position: token.range)
        case .failure(let failure): throw error("error parsing number: \(failure.message)", at: token.range)
        }
    }

    func unquote(_ token: Token) throws(ParseError) -> String {
        do {
            return try unquoteGoString(token.text)
        } catch {
            throw self.error("error unquoting string \(goQuoteString(token.text)): invalid syntax", at: token.range)
        }
    }
}
