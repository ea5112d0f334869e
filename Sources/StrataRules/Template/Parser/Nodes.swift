/// Parse-tree nodes. Each node remembers its byte offset for error locations,
/// and renders back to source form the way Go's node String() methods do.

/// A parsed numeric or character literal with every interpretation that fits.
struct NumberLiteral {
    var text: String
    var intValue: Int64?
    var uintValue: UInt64?
    var floatValue: Double?
    var isComplex = false
    var isCharConstant: Bool { text.hasPrefix("'") }
}

/// Filled in by the parser and never changed after it returns, so sharing across threads is safe.
final class PipeNode: @unchecked Sendable {
    let pos: Int
    let line: Int
    var isAssign = false
    var declarations: [(name: String, pos: Int)] = []
    var commands: [CommandNode] = []

    init(pos: Int, line: Int) {
        self.pos = pos
        self.line = line
    }

    var description: String {
        var out = ""
        if !declarations.isEmpty {
            out = declarations.map(\.name).joined(separator: ", ") + (isAssign ? " = " : " := ")
        }
        return out + commands.map(\.description).joined(separator: " | ")
    }
}

struct CommandNode {
    let pos: Int
    var args: [Operand] = []

    var description: String {
        args.map { arg in
            if case .pipe(let pipe) = arg { return "(\(pipe.description))" }
            return arg.description
        }.joined(separator: " ")
    }
}

/// One word of a command.
indirect enum Operand {
    case field(pos: Int, names: [String])
    case variable(pos: Int, names: [String])
    case identifier(pos: Int, name: String)
    case dot(pos: Int)
    case nilLiteral(pos: Int)
    case bool(pos: Int, value: Bool)
    case number(pos: Int, literal: NumberLiteral)
    case string(pos: Int, quoted: String, text: String)
    case pipe(PipeNode)
    case chain(pos: Int, base: Operand, fields: [String])

    var pos: Int {
        switch self {
        case .field(let pos, _), .variable(let pos, _), .identifier(let pos, _), .dot(let pos),
             .nilLiteral(let pos), .bool(let pos, _), .number(let pos, _), .string(let pos, _, _),
             .chain(let pos, _, _):
            return pos
        case .pipe(let pipe):
            return pipe.pos
        }
    }

    var description: String {
        switch self {
        case .field(_, let names): return names.map { "." + $0 }.joined()
        case .variable(_, let names): return names.joined(separator: ".")
        case .identifier(_, let name): return name
        case .dot: return "."
        case .nilLiteral: return "nil"
        case .bool(_, let value): return value ? "true" : "false"
        case .number(_, let literal): return literal.text
        case .string(_, let quoted, _): return quoted
        case .pipe(let pipe): return pipe.description
        case .chain(_, let base, let fields):
            var out = base.description
            if case .pipe = base { out = "(\(out))" }
            return out + fields.map { "." + $0 }.joined()
        }
    }
}

/// if / range / with share a shape. Immutable once parsed (see `PipeNode`).
final class ControlNode: @unchecked Sendable {
    let pos: Int
    let line: Int
    let pipe: PipeNode
    let list: [TemplateNode]
    let elseList: [TemplateNode]?

    init(pos: Int, line: Int, pipe: PipeNode, list: [TemplateNode], elseList: [TemplateNode]?) {
        self.pos = pos
        self.line = line
        self.pipe = pipe
        self.list = list
        self.elseList = elseList
    }

    func description(keyword: String) -> String {
        var out = "{{\(keyword) \(pipe.description)}}" + list.map(\.description).joined()
        if let elseList { out += "{{else}}" + elseList.map(\.description).joined() }
        return out + "{{end}}"
    }
}

indirect enum TemplateNode {
    case text(pos: Int, text: String)
    case action(pos: Int, line: Int, pipe: PipeNode)
    case comment(pos: Int)
    case ifNode(ControlNode)
    case rangeNode(ControlNode)
    case withNode(ControlNode)
    case templateCall(pos: Int, line: Int, name: String, pipe: PipeNode?)
    case breakNode(pos: Int)
    case continueNode(pos: Int)

    var pos: Int {
        switch self {
        case .text(let pos, _), .action(let pos, _, _), .comment(let pos), .templateCall(let pos, _, _, _),
             .breakNode(let pos), .continueNode(let pos):
            return pos
        case .ifNode(let control), .rangeNode(let control), .withNode(let control):
            return control.pos
        }
    }

    var description: String {
        switch self {
        case .text(_, let text): return text
        case .action(_, _, let pipe): return "{{\(pipe.description)}}"
        case .comment: return "{{/* */}}"
        case .ifNode(let control): return control.description(keyword: "if")
        case .rangeNode(let control): return control.description(keyword: "range")
        case .withNode(let control): return control.description(keyword: "with")
        case .templateCall(_, _, let name, let pipe):
            if let pipe { return "{{template \(GoQuote.quote(name)) \(pipe.description)}}" }
            return "{{template \(GoQuote.quote(name))}}"
        case .breakNode: return "{{break}}"
        case .continueNode: return "{{continue}}"
        }
    }

    /// Go's IsEmptyTree: only whitespace text and comments.
    var isEmpty: Bool {
        switch self {
        case .text(_, let text): return text.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        case .comment: return true
        default: return false
        }
    }
}

/// One named template: its body and the top-level name used in error locations.
struct TemplateTree: @unchecked Sendable {
    var name: String
    var root: [TemplateNode]
}
