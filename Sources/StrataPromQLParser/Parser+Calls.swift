import StrataModel

/// Function calls, aggregations and the label lists of `by`, `without`, `on`, `ignoring` and
/// `group_left`/`group_right`.
extension Parser {
    /// `name(args…)`; the function is looked up after its arguments, as Prometheus does.
    mutating func parseFunctionCall() throws(ParseError) -> Expr {
        let name = advance()
        let (args, close) = try parseArguments()
        guard let function = PromQLFunction.all[name.text] else {
            throw error("unknown function with name \(goQuoteString(name.text))", at: name.range)
        }
        if function.experimental && !options.experimentalFunctions {
            throw error("function \(goQuoteString(name.text)) is not enabled", at: name.range)
        }
        return .call(Call(function: function, args: args, position: PositionRange(start: name.start, end: close.end)))
    }

    /// `op [by|without (labels)] (args…) [by|without (labels)]`.
    mutating func parseAggregation(_ op: AggregateOp) throws(ParseError) -> Expr {
        let opToken = advance()
        var modifier = try parseAggregationModifier()
        let open = try peek()
        guard open.kind == .leftParen else { throw unexpected(open, in: "aggregation") }
        aggregationDepth += 1
        let (args, close) = try parseArguments()
        aggregationDepth -= 1
        var end = close.end
        if modifier == nil, let trailing = try parseAggregationModifier() {
            modifier = trailing
            end = trailing.end
        }
        let position = PositionRange(start: opToken.start, end: end)

        if args.isEmpty { throw error("no arguments for aggregate expression provided", at: position) }
        if op.isExperimental && !options.experimentalFunctions {
            throw error("\(op.rawValue)() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                        at: position)
        }
        let expected = op.takesParameter ? 2 : 1
        guard args.count == expected else {
            throw error("wrong number of arguments for aggregate expression provided, expected \(expected), got \(args.count)",
                        at: position)
        }
        return .aggregate(AggregateExpr(op: op, expr: args[expected - 1], param: op.takesParameter ? args[0] : nil,
                                        grouping: modifier?.labels ?? [], without: modifier?.without ?? false,
                                        position: position))
    }

    private mutating func parseAggregationModifier() throws(ParseError) -> (labels: [String], without: Bool, end: Int)? {
        let keyword = try peek()
        guard keyword.kind == .by || keyword.kind == .without else { return nil }
        advance()
        let grouping = try parseGroupingLabels()
        return (grouping.labels, keyword.kind == .without, grouping.end)
    }

    /// `(expr, …)`; a trailing comma is an error.
    private mutating func parseArguments() throws(ParseError) -> (args: [Expr], close: Token) {
        advance() // "(", checked by the caller
        var args: [Expr] = []
        var next = try peek()
        if next.kind == .rightParen { return (args, advance()) }
        while true {
            args.append(try parseExpression())
            next = try peek()
            if next.kind == .rightParen { return (args, advance()) }
            guard next.kind == .comma else { throw unexpected(next) }
            advance()
            if try peek().kind == .rightParen {
                throw error("trailing commas not allowed in function call args", at: next.range)
            }
        }
    }

    /// `(label, …)` with an optional trailing comma. Keywords are fine as labels, and quoted
    /// strings allow any UTF-8 name.
    mutating func parseGroupingLabels() throws(ParseError) -> (labels: [String], end: Int) {
        let open = try peek()
        guard open.kind == .leftParen else { throw unexpected(open, in: "grouping opts", expected: "\"(\"") }
        advance()
        var labels: [String] = []
        var next = try peek()
        while next.kind != .rightParen {
            guard next.kind.canBeGroupingLabel || next.kind == .string else {
                throw unexpected(next, in: "grouping opts", expected: "label")
            }
            advance()
            let label = next.kind == .string ? try unquote(next) : next.text
            if label.isEmpty { throw error("invalid label name for grouping: \"\"", at: next.range) }
            labels.append(label)
            next = try peek()
            if next.kind == .comma {
                advance()
                next = try peek()
            } else if next.kind != .rightParen {
                throw unexpected(next, in: "grouping opts", expected: "\",\" or \")\"")
            }
        }
        advance()
        return (labels, next.end)
    }
}
