/// Walks a parsed template and produces output, following Go's text/template exec.go.
final class Executor {
    /// Where execution currently is, for error messages ("at <...>").
    private enum Location {
        case node(TemplateNode)
        case pipe(PipeNode)
        case command(CommandNode)
        case operand(Operand)

        var pos: Int {
            switch self {
            case .node(let node): return node.pos
            case .pipe(let pipe): return pipe.pos
            case .command(let command): return command.pos
            case .operand(let operand): return operand.pos
            }
        }

        var description: String {
            switch self {
            case .node(let node): return node.description
            case .pipe(let pipe): return pipe.description
            case .command(let command): return command.description
            case .operand(let operand): return operand.description
            }
        }
    }

    private enum LoopSignal: Error { case breakLoop, continueLoop }

    private let template: GoTemplate
    private let functions: [String: GoFunction]
    private var treeName: String
    private var variables: [(name: String, value: GoValue)] = []
    private var location: Location?
    private var depth = 0
    private(set) var output = ""

    init(template: GoTemplate, functions: [String: GoFunction]) {
        self.template = template
        self.functions = functions
        treeName = template.name
    }

    func run(data: GoValue) throws(TemplateError) {
        guard let tree = template.trees[template.name] else {
            throw TemplateError("template: \(template.name): \(GoQuote.quote(template.name)) is an incomplete or empty template")
        }
        variables = [("$", data)]
        do {
            try walk(data, tree.root)
        } catch let error as TemplateError {
            throw error
        } catch {
            throw TemplateError("template: \(template.name): \(error)")
        }
    }

    // MARK: - Errors

    private func fail(_ message: String) -> TemplateError {
        guard let location else { return TemplateError("template: \(treeName): \(message)") }
        let bytes = Array(template.text.utf8)
        let pos = min(location.pos, bytes.count)
        let before = bytes[0..<pos]
        let line = 1 + before.filter { $0 == UInt8(ascii: "\n") }.count
        let column = before.lastIndex(of: UInt8(ascii: "\n")).map { pos - ($0 + 1) } ?? pos
        return TemplateError("template: \(template.name):\(line):\(column): executing \(GoQuote.quote(treeName)) at <\(location.description)>: \(message)")
    }

    private func at(_ location: Location) {
        self.location = location
    }

    // MARK: - Variables

    private func variableValue(_ name: String) throws(TemplateError) -> GoValue {
        if let entry = variables.last(where: { $0.name == name }) { return entry.value }
        throw fail("undefined variable: \(name)")
    }

    private func setVariable(_ name: String, _ value: GoValue) throws(TemplateError) {
        guard let index = variables.lastIndex(where: { $0.name == name }) else {
            throw fail("undefined variable: \(name)")
        }
        variables[index].value = value
    }

    private func pop(to mark: Int) {
        if variables.count > mark { variables.removeLast(variables.count - mark) }
    }

    // MARK: - Walking

    private func walk(_ dot: GoValue, _ nodes: [TemplateNode]) throws {
        for node in nodes { try walk(dot, node) }
    }

    private func walk(_ dot: GoValue, _ node: TemplateNode) throws {
        at(.node(node))
        switch node {
        case .text(_, let text):
            output += text
        case .action(_, _, let pipe):
            let value = try evalPipeline(dot, pipe)
            if pipe.declarations.isEmpty {
                at(.node(node))
                output += GoPrinter.templateString(value)
            }
        case .comment:
            break
        case .ifNode(let control):
            try walkIfOrWith(dot, control, isWith: false)
        case .withNode(let control):
            try walkIfOrWith(dot, control, isWith: true)
        case .rangeNode(let control):
            try walkRange(dot, control, node)
        case .templateCall(_, _, let name, let pipe):
            try walkTemplate(dot, name: name, pipe: pipe)
        case .breakNode:
            throw LoopSignal.breakLoop
        case .continueNode:
            throw LoopSignal.continueLoop
        }
    }

    private func walkIfOrWith(_ dot: GoValue, _ control: ControlNode, isWith: Bool) throws {
        let mark = variables.count
        defer { pop(to: mark) }
        let value = try evalPipeline(dot, control.pipe)
        if value.truth {
            try walk(isWith ? value : dot, control.list)
        } else if let elseList = control.elseList {
            try walk(dot, elseList)
        }
    }

    private func walkRange(_ dot: GoValue, _ control: ControlNode, _ node: TemplateNode) throws {
        at(.node(node))
        let mark = variables.count
        defer { pop(to: mark) }
        let value = try evalPipeline(dot, control.pipe)
        let bodyMark = variables.count
        let declarationCount = control.pipe.declarations.count
        /// Returns false when the body executed {{break}}.
        func iterate(_ index: GoValue, _ element: GoValue) throws -> Bool {
            defer { pop(to: bodyMark) }
            if declarationCount > 0 { variables[variables.count - 1].value = element }
            if declarationCount > 1 { variables[variables.count - 2].value = index }
            do {
                try walk(element, control.list)
            } catch LoopSignal.continueLoop {
                return true
            } catch LoopSignal.breakLoop {
                return false
            }
            return true
        }
        var elements: [(GoValue, GoValue)] = []
        switch value {
        case .list(let items):
            elements = items.enumerated().map { (.int($0.offset), $0.element) }
        case .queryResult(let samples):
            elements = samples.enumerated().map { (.int($0.offset), .sample($0.element)) }
        case .stringMap(let map):
            elements = map.keys.sorted(by: goStringLess).map { (.string($0), .string(map[$0]!)) }
        case .anyMap(let map):
            elements = map.keys.sorted(by: goStringLess).map { (.string($0), map[$0]!) }
        case .invalid:
            break
        default:
            var shown = value
            if case .sample(let sample?) = value { shown = .structure(sample.goStruct) }
            throw fail("range can't iterate over \(GoPrinter.sprint([shown]))")
        }
        for (index, element) in elements {
            if try !iterate(index, element) { return }
        }
        if elements.isEmpty, let elseList = control.elseList {
            try walk(dot, elseList)
        }
    }

    private func walkTemplate(_ dot: GoValue, name: String, pipe: PipeNode?) throws {
        guard let tree = template.trees[name] else {
            throw fail("template \(GoQuote.quote(name)) not defined")
        }
        if depth >= 10000 { throw fail("exceeded maximum template depth (100000)") }
        let newDot = try pipe.map { pipe throws(TemplateError) in try evalPipeline(dot, pipe) } ?? .invalid
        let savedVariables = variables
        let savedName = treeName
        variables = [("$", newDot)]
        treeName = name
        depth += 1
        defer {
            variables = savedVariables
            treeName = savedName
            depth -= 1
        }
        try walk(newDot, tree.root)
    }

    // MARK: - Pipelines and commands

    private func evalPipeline(_ dot: GoValue, _ pipe: PipeNode) throws(TemplateError) -> GoValue {
        at(.pipe(pipe))
        var value: GoValue?
        for command in pipe.commands {
            value = try evalCommand(dot, command, final: value)
        }
        let result = value ?? .invalid
        for declaration in pipe.declarations {
            if pipe.isAssign {
                try setVariable(declaration.name, result)
            } else {
                variables.append((declaration.name, result))
            }
        }
        return result
    }

    private func notAFunction(_ args: [Operand], _ final: GoValue?) throws(TemplateError) {
        if args.count > 1 || final != nil {
            throw fail("can't give argument to non-function \(args[0].description)")
        }
    }

    private func evalCommand(_ dot: GoValue, _ command: CommandNode, final: GoValue?) throws(TemplateError) -> GoValue {
        let first = command.args[0]
        switch first {
        case .field(_, let names):
            at(.operand(first))
            return try evalFieldChain(dot, receiver: dot, first, names, args: command.args, final: final)
        case .chain(_, let base, let fields):
            return try evalChain(dot, first, base: base, fields: fields, args: command.args, final: final)
        case .identifier(_, let name):
            return try evalFunction(dot, first, name: name, command: .command(command), args: command.args, final: final)
        case .pipe(let pipe):
            try notAFunction(command.args, final)
            return try evalPipeline(dot, pipe)
        case .variable(_, let names):
            return try evalVariable(dot, first, names, args: command.args, final: final)
        default:
            break
        }
        at(.operand(first))
        try notAFunction(command.args, final)
        switch first {
        case .bool(_, let value): return .bool(value)
        case .dot: return dot
        case .nilLiteral: throw fail("nil is not a command")
        case .number(_, let literal): return try idealConstant(literal)
        case .string(_, _, let text): return .string(text)
        default: throw fail("can't evaluate command \(GoQuote.quote(first.description))")
        }
    }

    private func idealConstant(_ literal: NumberLiteral) throws(TemplateError) -> GoValue {
        if literal.isComplex { throw fail("complex constants are not supported") }
        let text = literal.text
        let isHexInt = text.count > 2 && text.hasPrefix("0") && (text.dropFirst().first == "x" || text.dropFirst().first == "X")
            && !text.contains(where: { $0 == "p" || $0 == "P" })
        if let float = literal.floatValue, !isHexInt, !literal.isCharConstant, text.contains(where: { ".eEpP".contains($0) }) {
            return .float(float)
        }
        if let int = literal.intValue { return .int(Int(int)) }
        if literal.uintValue != nil { throw fail("\(text) overflows int") }
        return .invalid
    }

    private func evalChain(_ dot: GoValue, _ node: Operand, base: Operand, fields: [String], args: [Operand]?,
                           final: GoValue?) throws(TemplateError) -> GoValue {
        at(.operand(node))
        if case .nilLiteral = base { throw fail("indirection through explicit nil in \(node.description)") }
        let receiver = try evalArg(dot, .any, base)
        at(.operand(node))
        return try evalFieldChain(dot, receiver: receiver, node, fields, args: args, final: final)
    }

    private func evalVariable(_ dot: GoValue, _ node: Operand, _ names: [String], args: [Operand]?,
                              final: GoValue?) throws(TemplateError) -> GoValue {
        at(.operand(node))
        let value = try variableValue(names[0])
        if names.count == 1 {
            if let args { try notAFunction(args, final) }
            return value
        }
        return try evalFieldChain(dot, receiver: value, node, Array(names.dropFirst()), args: args, final: final)
    }

    private func evalFieldChain(_ dot: GoValue, receiver: GoValue, _ node: Operand, _ names: [String],
                                args: [Operand]?, final: GoValue?) throws(TemplateError) -> GoValue {
        var current = receiver
        for name in names.dropLast() {
            current = try evalField(dot, name, node, args: nil, final: nil, receiver: current)
        }
        return try evalField(dot, names.last!, node, args: args, final: final, receiver: current)
    }

    private func evalField(_ dot: GoValue, _ name: String, _ node: Operand, args: [Operand]?, final: GoValue?,
                           receiver: GoValue) throws(TemplateError) -> GoValue {
        if case .invalid = receiver {
            if template.missingKey == .error { throw fail("nil data; no entry for key \(GoQuote.quote(name))") }
            return .invalid
        }
        let hasArgs = (args?.count ?? 0) > 1 || final != nil
        if case .time(let time?) = receiver, let method = TimeMethods.method(named: name) {
            if hasArgs { throw fail("wrong number of args for \(name): want 0 got \((args?.count ?? 1) - 1 + (final == nil ? 0 : 1))") }
            return method(time)
        }
        switch receiver {
        case .structure(let structure):
            if let value = structure.field(named: name) {
                if hasArgs { throw fail("\(name) has arguments but cannot be invoked as function") }
                return value
            }
        case .sample(let sample):
            guard name == "Labels" || name == "Value" else { break }
            guard let sample else { throw fail("nil pointer evaluating *template.sample.\(name)") }
            if hasArgs { throw fail("\(name) has arguments but cannot be invoked as function") }
            return name == "Labels" ? .stringMap(sample.labels) : .float(sample.value)
        case .stringMap(let map):
            if hasArgs { throw fail("\(name) is not a method but has arguments") }
            if let value = map[name] { return .string(value) }
            switch template.missingKey {
            case .zero: return .string("")
            case .invalid: return .invalid
            case .error: throw fail("map has no entry for key \(GoQuote.quote(name))")
            }
        case .anyMap(let map):
            if hasArgs { throw fail("\(name) is not a method but has arguments") }
            if let value = map[name] { return value }
            if template.missingKey == .error { throw fail("map has no entry for key \(GoQuote.quote(name))") }
            return .invalid
        default:
            break
        }
        throw fail("can't evaluate field \(name) in type \(receiver.typeName)")
    }

    private func evalFunction(_ dot: GoValue, _ identifier: Operand, name: String, command: Location, args: [Operand]?,
                              final: GoValue?) throws(TemplateError) -> GoValue {
        at(.operand(identifier))
        guard let function = functions[name] else { throw fail("\(GoQuote.quote(name)) is not a defined function") }
        return try evalCall(dot, function, command, name: name, args: args, final: final)
    }

    private func evalCall(_ dot: GoValue, _ function: GoFunction, _ node: Location, name: String, args allArgs: [Operand]?,
                          final: GoValue?) throws(TemplateError) -> GoValue {
        let args = Array((allArgs ?? []).dropFirst())
        var inputCount = args.count
        if final != nil { inputCount += 1 }
        let fixedCount = function.variadic == nil ? args.count : function.parameters.count
        if function.variadic != nil {
            if inputCount < function.parameters.count {
                throw fail("wrong number of args for \(name): want at least \(function.parameters.count) got \(args.count)")
            }
        } else if inputCount != function.parameters.count {
            throw fail("wrong number of args for \(name): want \(function.parameters.count) got \(inputCount)")
        }
        if let shortCircuit = function.shortCircuit {
            var value = GoValue.invalid
            for arg in args {
                value = try evalArg(dot, .reflectValue, arg)
                if value.truth == (shortCircuit == .or) { return value }
            }
            if let final { value = final }
            return value
        }
        var argv: [GoValue] = []
        var index = 0
        while index < fixedCount && index < args.count {
            argv.append(try evalArg(dot, function.parameters[index], args[index]))
            index += 1
        }
        if let variadic = function.variadic {
            while index < args.count {
                argv.append(try evalArg(dot, variadic, args[index]))
                index += 1
            }
        }
        if let final {
            var type = function.parameters.last ?? .any
            if let variadic = function.variadic {
                type = inputCount - 1 < fixedCount ? function.parameters[inputCount - 1] : variadic
            }
            argv.append(try validateType(final, type))
        }
        do {
            return try function.body(argv)
        } catch {
            at(node)
            throw fail("error calling \(name): \(error.message)")
        }
    }

    // MARK: - Arguments

    private func validateType(_ value: GoValue, _ type: ParameterType) throws(TemplateError) -> GoValue {
        if case .invalid = value {
            if type.canBeNil { return type.zeroValue }
            throw fail("invalid value; expected \(type.goName)")
        }
        if type.accepts(value) { return value }
        throw fail("wrong type for value; expected \(type.goName); got \(value.typeName)")
    }

    private func evalArg(_ dot: GoValue, _ type: ParameterType, _ operand: Operand) throws(TemplateError) -> GoValue {
        at(.operand(operand))
        switch operand {
        case .dot:
            return try validateType(dot, type)
        case .nilLiteral:
            if type.canBeNil { return type.zeroValue }
            throw fail("cannot assign nil to \(type.goName)")
        case .field(_, let names):
            return try validateType(try evalFieldChain(dot, receiver: dot, operand, names, args: [operand], final: nil), type)
        case .variable(_, let names):
            return try validateType(try evalVariable(dot, operand, names, args: nil, final: nil), type)
        case .pipe(let pipe):
            return try validateType(try evalPipeline(dot, pipe), type)
        case .identifier(_, let name):
            return try validateType(try evalFunction(dot, operand, name: name, command: .operand(operand), args: nil, final: nil), type)
        case .chain(_, let base, let fields):
            return try validateType(try evalChain(dot, operand, base: base, fields: fields, args: nil, final: nil), type)
        default:
            break
        }
        switch type {
        case .bool:
            if case .bool(_, let value) = operand { return .bool(value) }
            throw fail("expected bool; found \(operand.description)")
        case .string:
            if case .string(_, _, let text) = operand { return .string(text) }
            throw fail("expected string; found \(operand.description)")
        case .float64:
            if case .number(_, let literal) = operand, let float = literal.floatValue { return .float(float) }
            throw fail("expected float; found \(operand.description)")
        case .int:
            if case .number(_, let literal) = operand, let int = literal.intValue { return .int(Int(int)) }
            throw fail("expected integer; found \(operand.description)")
        case .any, .reflectValue:
            switch operand {
            case .bool(_, let value): return .bool(value)
            case .number(_, let literal): return try idealConstant(literal)
            case .string(_, _, let text): return .string(text)
            default: throw fail("can't handle assignment of \(operand.description) to empty interface argument")
            }
        case .queryResult, .samplePointer:
            throw fail("can't handle \(operand.description) for arg of type \(type.goName)")
        }
    }
}
