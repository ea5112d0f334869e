/// Recursive-descent parser mirroring Go's text/template/parse (Go 1.19 behaviour).
struct TemplateParser {
    struct Failure: Error { let message: String }

    private var lexer: TemplateLexer
    private var tokens: [TemplateToken] = []
    private var peekCount = 0
    private var lastLexedLine = 1
    private var variables: [String] = ["$"]
    private var rangeDepth = 0
    private let parseName: String
    private let functionNames: Set<String>
    private(set) var trees: [String: TemplateTree] = [:]

    /// The result of one textOrAction step: a node, or an {{end}}/{{else}} marker.
    private enum Item {
        case node(TemplateNode)
        case end(pos: Int)
        case elseMarker(pos: Int)

        var description: String {
            switch self {
            case .node(let node): return node.description
            case .end: return "{{end}}"
            case .elseMarker: return "{{else}}"
            }
        }
    }

    init(name: String, text: String, functionNames: Set<String>) {
        lexer = TemplateLexer(text)
        lexer.breakIsKeyword = !functionNames.contains("break")
        lexer.continueIsKeyword = !functionNames.contains("continue")
        parseName = name
        self.functionNames = functionNames
        tokens = Array(repeating: TemplateToken(kind: .eof, value: "", pos: 0, line: 1), count: 3)
    }

    /// Parses the whole text; returns all trees (the main one plus {{define}}s).
    static func parse(name: String, text: String, functionNames: Set<String>) throws(Failure) -> [String: TemplateTree] {
        var parser = TemplateParser(name: name, text: text, functionNames: functionNames)
        let root = try parser.parseTopLevel()
        try parser.add(TemplateTree(name: name, root: root))
        return parser.trees
    }

    // MARK: - TemplateToken stream

    private mutating func lex() -> TemplateToken {
        let token = lexer.nextToken()
        lastLexedLine = token.line
        return token
    }

    private mutating func next() -> TemplateToken {
        if peekCount > 0 {
            peekCount -= 1
        } else {
            tokens[0] = lex()
        }
        return tokens[peekCount]
    }

    private mutating func backup() { peekCount += 1 }

    private mutating func backup2(_ first: TemplateToken) {
        tokens[1] = first
        peekCount = 2
    }

    private mutating func backup3(_ second: TemplateToken, _ first: TemplateToken) {
        tokens[1] = first
        tokens[2] = second
        peekCount = 3
    }

    private mutating func peek() -> TemplateToken {
        if peekCount > 0 { return tokens[peekCount - 1] }
        peekCount = 1
        tokens[0] = lex()
        return tokens[0]
    }

    private mutating func nextNonSpace() -> TemplateToken {
        var token: TemplateToken
        repeat { token = next() } while token.kind == .space
        return token
    }

    private mutating func peekNonSpace() -> TemplateToken {
        let token = nextNonSpace()
        backup()
        return token
    }

    // MARK: - Errors

    private func failure(_ message: String) -> Failure {
        Failure(message: "template: \(parseName):\(tokens[0].line): \(message)")
    }

    private func unexpected(_ token: TemplateToken, _ context: String) -> Failure {
        failure("unexpected \(token.description) in \(context)")
    }

    private mutating func expect(_ kind: TemplateTokenKind, _ context: String) throws(Failure) -> TemplateToken {
        let token = nextNonSpace()
        if token.kind != kind { throw unexpected(token, context) }
        return token
    }

    // MARK: - Templates

    private mutating func add(_ tree: TemplateTree) throws(Failure) {
        if let existing = trees[tree.name], !existing.root.allSatisfy(\.isEmpty) {
            if !tree.root.allSatisfy(\.isEmpty) {
                throw failure("template: multiple definition of template \(GoQuote.quote(tree.name))")
            }
            return
        }
        trees[tree.name] = tree
    }

    private mutating func parseTopLevel() throws(Failure) -> [TemplateNode] {
        var root: [TemplateNode] = []
        while peek().kind != .eof {
            if peek().kind == .leftDelim {
                let delim = next()
                if nextNonSpace().kind == .define {
                    try parseDefinition()
                    continue
                }
                backup2(delim)
            }
            let item = try textOrAction()
            switch item {
            case .node(let node): root.append(node)
            case .end, .elseMarker: throw failure("unexpected \(item.description)")
            }
        }
        return root
    }

    private mutating func parseDefinition() throws(Failure) {
        let context = "define clause"
        let nameToken = nextNonSpace()
        guard nameToken.kind == .string || nameToken.kind == .rawString else { throw unexpected(nameToken, context) }
        let name = try unquote(nameToken.value)
        _ = try expect(.rightDelim, context)
        let (list, end) = try withFreshScope { parser throws(Failure) in try parser.itemList() }
        guard case .end = end else { throw failure("unexpected \(end.description) in \(context)") }
        try add(TemplateTree(name: name, root: list))
    }

    /// A defined template starts with only "$" in scope and outside any range.
    private mutating func withFreshScope<T>(_ body: (inout TemplateParser) throws(Failure) -> T) throws(Failure) -> T {
        let savedVariables = variables
        let savedRangeDepth = rangeDepth
        variables = ["$"]
        rangeDepth = 0
        defer {
            variables = savedVariables
            rangeDepth = savedRangeDepth
        }
        return try body(&self)
    }

    private func unquote(_ literal: String) throws(Failure) -> String {
        do {
            return try GoQuote.unquote(literal)
        } catch {
            throw failure("invalid syntax")
        }
    }

    private mutating func itemList() throws(Failure) -> ([TemplateNode], Item) {
        var list: [TemplateNode] = []
        while peekNonSpace().kind != .eof {
            let item = try textOrAction()
            switch item {
            case .node(let node): list.append(node)
            case .end, .elseMarker: return (list, item)
            }
        }
        throw failure("unexpected EOF")
    }

    private mutating func textOrAction() throws(Failure) -> Item {
        let token = nextNonSpace()
        switch token.kind {
        case .text: return .node(.text(pos: token.pos, text: token.value))
        case .leftDelim: return try action()
        case .error: throw failure(token.value)
        default: throw unexpected(token, "input")
        }
    }

    private mutating func action() throws(Failure) -> Item {
        let token = nextNonSpace()
        switch token.kind {
        case .block: return .node(try blockControl())
        case .breakKeyword: return .node(try loopControl(token, isBreak: true))
        case .continueKeyword: return .node(try loopControl(token, isBreak: false))
        case .elseKeyword: return try elseControl()
        case .end: return .end(pos: try expect(.rightDelim, "end").pos)
        case .ifKeyword: return .node(.ifNode(try parseControl("if")))
        case .range: return .node(.rangeNode(try parseControl("range")))
        case .template: return .node(try templateControl())
        case .with: return .node(.withNode(try parseControl("with")))
        default: break
        }
        backup()
        let start = peek()
        return .node(.action(pos: start.pos, line: start.line, pipe: try pipeline("command", end: .rightDelim)))
    }

    private mutating func loopControl(_ keyword: TemplateToken, isBreak: Bool) throws(Failure) -> TemplateNode {
        let name = isBreak ? "{{break}}" : "{{continue}}"
        let token = nextNonSpace()
        if token.kind != .rightDelim { throw unexpected(token, name) }
        if rangeDepth == 0 { throw failure("\(name) outside {{range}}") }
        return isBreak ? .breakNode(pos: keyword.pos) : .continueNode(pos: keyword.pos)
    }

    private mutating func elseControl() throws(Failure) -> Item {
        let peeked = peekNonSpace()
        if peeked.kind == .ifKeyword { return .elseMarker(pos: peeked.pos) }
        let token = try expect(.rightDelim, "else")
        return .elseMarker(pos: token.pos)
    }

    private mutating func parseControl(_ context: String) throws(Failure) -> ControlNode {
        let savedCount = variables.count
        defer { variables.removeLast(variables.count - savedCount) }
        let pipe = try pipeline(context, end: .rightDelim)
        if context == "range" { rangeDepth += 1 }
        var (list, next) = try itemList()
        if context == "range" { rangeDepth -= 1 }
        var elseList: [TemplateNode]?
        if case .elseMarker = next {
            if context == "if" && peek().kind == .ifKeyword {
                _ = self.next()
                elseList = [.ifNode(try parseControl("if"))]
            } else {
                (elseList, next) = try itemList()
                if case .end = next {} else { throw failure("expected end; found \(next.description)") }
            }
        }
        return ControlNode(pos: pipe.pos, line: pipe.line, pipe: pipe, list: list, elseList: elseList)
    }

    private mutating func blockControl() throws(Failure) -> TemplateNode {
        let context = "block clause"
        let token = nextNonSpace()
        let name = try templateName(token, context)
        let pipe = try pipeline(context, end: .rightDelim)
        let (list, end) = try withFreshScope { parser throws(Failure) in try parser.itemList() }
        guard case .end = end else { throw failure("unexpected \(end.description) in \(context)") }
        try add(TemplateTree(name: name, root: list))
        return .templateCall(pos: token.pos, line: token.line, name: name, pipe: pipe)
    }

    private mutating func templateControl() throws(Failure) -> TemplateNode {
        let context = "template clause"
        let token = nextNonSpace()
        let name = try templateName(token, context)
        var pipe: PipeNode?
        if nextNonSpace().kind != .rightDelim {
            backup()
            pipe = try pipeline(context, end: .rightDelim)
        }
        return .templateCall(pos: token.pos, line: token.line, name: name, pipe: pipe)
    }

    private func templateName(_ token: TemplateToken, _ context: String) throws(Failure) -> String {
        guard token.kind == .string || token.kind == .rawString else { throw unexpected(token, context) }
        return try unquote(token.value)
    }

    // MARK: - Pipelines

    private mutating func pipeline(_ context: String, end: TemplateTokenKind) throws(Failure) -> PipeNode {
        let first = peekNonSpace()
        let pipe = PipeNode(pos: first.pos, line: first.line)
        declarations: while peekNonSpace().kind == .variable {
            let variable = next()
            let tokenAfterVariable = peek()
            let following = peekNonSpace()
            if following.kind == .assign || following.kind == .declare {
                pipe.isAssign = following.kind == .assign
                _ = nextNonSpace()
                pipe.declarations.append((variable.value, variable.pos))
                variables.append(variable.value)
            } else if following.kind == .char && following.value == "," {
                _ = nextNonSpace()
                pipe.declarations.append((variable.value, variable.pos))
                variables.append(variable.value)
                if context == "range" && pipe.declarations.count < 2 {
                    switch peekNonSpace().kind {
                    case .variable, .rightDelim, .rightParen:
                        continue declarations
                    default:
                        throw failure("range can only initialize variables")
                    }
                }
                throw failure("too many declarations in \(context)")
            } else if tokenAfterVariable.kind == .space {
                backup3(variable, tokenAfterVariable)
            } else {
                backup2(variable)
            }
            break
        }
        while true {
            let token = nextNonSpace()
            switch token.kind {
            case end:
                try checkPipeline(pipe, context)
                return pipe
            case .bool, .charConstant, .complex, .dot, .field, .identifier, .number, .nilKeyword,
                 .rawString, .string, .variable, .leftParen:
                backup()
                pipe.commands.append(try command())
            case .error:
                throw failure(token.value)
            default:
                throw unexpected(token, context)
            }
        }
    }

    private func checkPipeline(_ pipe: PipeNode, _ context: String) throws(Failure) {
        if pipe.commands.isEmpty { throw failure("missing value for \(context)") }
        for (index, command) in pipe.commands.enumerated().dropFirst() {
            switch command.args[0] {
            case .bool, .dot, .nilLiteral, .number, .string:
                throw failure("non executable command in pipeline stage \(index + 1)")
            default:
                continue
            }
        }
    }

    private mutating func command() throws(Failure) -> CommandNode {
        var command = CommandNode(pos: peekNonSpace().pos)
        while true {
            _ = peekNonSpace()
            if let operand = try operand() { command.args.append(operand) }
            let token = next()
            switch token.kind {
            case .space:
                continue
            case .error:
                throw failure(token.value)
            case .rightDelim, .rightParen:
                backup()
            case .pipe:
                break
            default:
                throw unexpected(token, "operand")
            }
            break
        }
        if command.args.isEmpty { throw failure("empty command") }
        return command
    }

    private mutating func operand() throws(Failure) -> Operand? {
        guard var node = try term() else { return nil }
        if peek().kind == .field {
            let chainPos = peek().pos
            var fields: [String] = []
            while peek().kind == .field { fields.append(String(next().value.dropFirst())) }
            switch node {
            case .field(_, let names):
                node = .field(pos: chainPos, names: names + fields)
            case .variable(_, let names):
                node = .variable(pos: chainPos, names: names + fields)
            case .bool, .string, .number, .nilLiteral, .dot:
                throw failure("unexpected . after term \(GoQuote.quote(node.description))")
            default:
                node = .chain(pos: chainPos, base: node, fields: fields)
            }
        }
        return node
    }

    private mutating func term() throws(Failure) -> Operand? {
        let token = nextNonSpace()
        switch token.kind {
        case .error:
            throw failure(token.value)
        case .identifier:
            if !functionNames.contains(token.value) {
                throw failure("function \(GoQuote.quote(token.value)) not defined")
            }
            return .identifier(pos: token.pos, name: token.value)
        case .dot:
            return .dot(pos: token.pos)
        case .nilKeyword:
            return .nilLiteral(pos: token.pos)
        case .variable:
            if !variables.contains(token.value) {
                throw failure("undefined variable \(GoQuote.quote(token.value))")
            }
            return .variable(pos: token.pos, names: [token.value])
        case .field:
            return .field(pos: token.pos, names: [String(token.value.dropFirst())])
        case .bool:
            return .bool(pos: token.pos, value: token.value == "true")
        case .charConstant, .complex, .number:
            do {
                return .number(pos: token.pos, literal: try NumberParsing.parse(token.value, kind: token.kind))
            } catch let error as NumberParsing.Failure {
                throw failure(error.message)
            } catch {
                throw failure("\(error)")
            }
        case .leftParen:
            return .pipe(try pipeline("parenthesized pipeline", end: .rightParen))
        case .string, .rawString:
            return .string(pos: token.pos, quoted: token.value, text: try unquote(token.value))
        default:
            backup()
            return nil
        }
    }
}
