import StrataModel

/// Options that gate parts of the language, as Prometheus' parser options.
public struct ParserOptions: Sendable {
    /// `promql-experimental-functions`: limitk, limit_ratio, mad_over_time, sort_by_label, …
    public var experimentalFunctions: Bool = false
    public init(experimentalFunctions: Bool = false) { self.experimentalFunctions = experimentalFunctions }
}

/// A syntax or type error, printed as Prometheus prints it: `1:5: parse error: <message>`.
public struct ParseError: Error, CustomStringConvertible, Sendable {
    public var position: PositionRange
    public var message: String
    public var query: String
    public init(position: PositionRange, message: String, query: String) {
        self.position = position; self.message = message; self.query = query
    }
    public var description: String {
        guard position.start >= 0, position.start <= query.utf8.count else { return "invalid position: parse error: \(message)" }
        let lc = position.lineColumn(in: query)
        return "\(lc.line):\(lc.column): parse error: \(message)"
    }
}

public enum PromQLParser {
    /// Deepest expression tree accepted. Parsing, checking, printing and evaluating recurse once
    /// per level; query threads have stacks sized for this depth (`BlockingThread.queryStackBytes`). Prometheus
    /// has no limit (Go stacks grow), and answers 5,000 nested parentheses; so does Strata.
    public static let maxDepth = 10_000

    /// Parses and type-checks a PromQL expression. Expressions nested deeper than `maxDepth`
    /// are refused with a parse error rather than risking the thread's stack.
    public static func parse(_ input: String, options: ParserOptions = .init()) throws(ParseError) -> Expr {
        var parser = Parser(query: input, options: options)
        var expr = try parser.parseQuery()
        // Left-deep chains (`a + b + c …`) are built by a loop, not by recursion; measure them.
        if expr.depth > maxDepth { throw parser.tooDeep(at: expr.positionRange) }
        // Types are checked only once the syntax is valid, as Prometheus does.
        _ = try TypeChecker(query: input).check(&expr)
        return expr
    }

    /// Parses a series selector such as a `match[]` parameter (`up{job="x"}`, `{__name__=~"a.*"}`):
    /// a vector selector alone, no modifiers. Like Prometheus it does not insist on a non-empty
    /// matcher; callers that need one check `matchesEmpty`.
    public static func parseMetricSelector(_ input: String) throws(ParseError) -> [LabelMatcher] {
        var parser = Parser(query: input, options: .init())
        return try parser.parseMetricSelectorOnly().matchers
    }
}

/// Recursive-descent parser over the token stream; one instance per query.
///
/// Syntax errors are thrown at the first problem. Their wording and the construct named in them
/// ("in label matching", "in aggregation", …) follow the error rules of Prometheus' grammar.
struct Parser {
    let query: String
    let options: ParserOptions
    let tokens: [Token]
    private let lexFailure: Lexer.Failure?
    private(set) var index = 0
    /// Inside the arguments of an aggregation, where Prometheus reports syntax errors that have
    /// no more specific rule as "unexpected … in aggregation".
    var aggregationDepth = 0
    /// Current recursion depth of `parseExpression`, bounded by `PromQLParser.maxDepth`.
    var nesting = 0

    init(query: String, options: ParserOptions) {
        self.query = query
        self.options = options
        (tokens, lexFailure) = Lexer.tokenize(query)
    }

    /// The next token; reaching the point where lexing failed reports the lexer's error.
    func peek() throws(ParseError) -> Token {
        if index < tokens.count { return tokens[index] }
        let failure = lexFailure ?? Lexer.Failure(message: "unexpected end of input", position: query.utf8.count)
        throw error(failure.message, at: PositionRange(start: failure.position, end: query.utf8.count))
    }

    /// The token after the next one, for one-token lookahead; nil where lexing failed.
    var secondToken: Token? { index + 1 < tokens.count ? tokens[index + 1] : nil }

    /// Consumes the token `peek()` returned.
    @discardableResult
    mutating func advance() -> Token {
        defer { index += 1 }
        return tokens[index]
    }

    func tooDeep(at range: PositionRange) -> ParseError {
        error("expression nested more than \(PromQLParser.maxDepth) levels deep", at: range)
    }

    func error(_ message: String, at range: PositionRange) -> ParseError {
        ParseError(position: range, message: message, query: query)
    }

    /// Prometheus' `unexpected(context, expected)`: "unexpected <token>[ in <context>][, expected <what>]".
    /// Without an explicit context, errors inside an aggregation name it.
    func unexpected(_ token: Token, in context: String? = nil, expected: String? = nil) -> ParseError {
        var message = "unexpected " + token.errorDescription
        if let context = context ?? (aggregationDepth > 0 ? "aggregation" : nil) { message += " in " + context }
        if let expected { message += ", expected " + expected }
        return error(message, at: token.range)
    }

    // MARK: Entry points

    mutating func parseQuery() throws(ParseError) -> Expr {
        if try peek().kind == .eof { throw error("no expression found in input", at: PositionRange(start: 0, end: 0)) }
        let expr = try parseExpression()
        let next = try peek()
        guard next.kind == .eof else { throw unexpected(next) }
        return expr
    }

    mutating func parseMetricSelectorOnly() throws(ParseError) -> VectorSelector {
        let first = try peek()
        let selector: VectorSelector
        if first.kind.canBeMetricName {
            advance()
            selector = try parseVectorSelector(name: first)
        } else if first.kind == .leftBrace {
            selector = try parseVectorSelector(name: nil)
        } else {
            throw unexpected(first)
        }
        let next = try peek()
        guard next.kind == .eof else { throw unexpected(next) }
        return selector
    }
}
