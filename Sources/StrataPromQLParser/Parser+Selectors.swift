import StrataModel

/// Vector selectors: `name`, `name{…}`, `{…}` and their label matchers.
extension Parser {
    /// `name`, `name{…}` or `{…}`. `name` is the already consumed name token; its `__name__`
    /// matcher comes first.
    mutating func parseVectorSelector(name: Token?) throws(ParseError) -> VectorSelector {
        var matchers: [LabelMatcher] = []
        var range = name?.range ?? PositionRange(start: 0, end: 0)
        if let name { matchers.append(try makeMatcher(.equal, "__name__", name.text, at: name.range)) }
        let hasBraces = try name == nil ? true : peek().kind == .leftBrace
        if hasBraces {
            let braces = try parseLabelMatchers()
            matchers += braces.matchers
            range = PositionRange(start: name?.start ?? braces.range.start, end: braces.range.end)
        }
        return VectorSelector(name: name?.text, matchers: matchers, position: range)
    }

    /// `{matcher, …}` with an optional trailing comma; a bare string is a metric name.
    private mutating func parseLabelMatchers() throws(ParseError) -> (matchers: [LabelMatcher], range: PositionRange) {
        let open = advance()
        var matchers: [LabelMatcher] = []
        var next = try peek()
        while next.kind != .rightBrace {
            matchers.append(try parseLabelMatcher())
            next = try peek()
            if next.kind == .comma {
                advance()
                next = try peek()
            } else if next.kind != .rightBrace {
                throw unexpected(next, in: "label matching", expected: "\",\" or \"}\"")
            }
        }
        advance()
        return (matchers, PositionRange(start: open.start, end: next.end))
    }

    private mutating func parseLabelMatcher() throws(ParseError) -> LabelMatcher {
        let label = try peek()
        guard label.kind == .identifier || label.kind == .string else {
            throw unexpected(label, in: "label matching", expected: "identifier or \"}\"")
        }
        advance()
        let name = label.kind == .string ? try unquote(label) : label.text
        let op = try peek()
        guard let kind = op.kind.labelMatchKind else {
            if label.kind == .string { return try makeMatcher(.equal, "__name__", name, at: label.range) }
            throw unexpected(op, in: "label matching", expected: "label matching operator")
        }
        advance()
        let value = try peek()
        guard value.kind == .string else { throw unexpected(value, in: "label matching", expected: "string") }
        advance()
        return try makeMatcher(kind, name, unquote(value), at: PositionRange(start: label.start, end: value.end))
    }

    private func makeMatcher(_ kind: LabelMatcher.Kind, _ name: String, _ value: String,
                             at range: PositionRange) throws(ParseError) -> LabelMatcher {
        do {
            return try LabelMatcher(kind, name, value)
        } catch {
            throw self.error("\(error)", at: range)
        }
    }
}
