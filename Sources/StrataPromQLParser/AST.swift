import StrataModel

/// Byte offsets into the query text, `start` inclusive and `end` exclusive, as Prometheus'
/// `PositionRange`. Annotations and errors turn them into `line:column`.
public struct PositionRange: Sendable, Hashable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }

    /// `line:column` (both 1-based, column counted in bytes of that line) of `start` in `query`.
    public func lineColumn(in query: String) -> (line: Int, column: Int) {
        var line = 1, col = 1, i = 0
        for b in query.utf8 {
            if i == start { break }
            if b == UInt8(ascii: "\n") { line += 1; col = 1 } else { col += 1 }
            i += 1
        }
        return (line, col)
    }
}

/// The four PromQL value types.
public enum ValueType: String, Sendable, Hashable {
    case scalar, vector = "instant vector", matrix = "range vector", string
}

/// `@ start()` / `@ end()`: pinned to the query's start or end when it runs.
public enum AtModifierPreprocessor: Sendable, Hashable {
    case start, end
}

/// A PromQL expression. Nodes are value types; the engine rewrites copies freely.
public indirect enum Expr: Sendable {
    case number(NumberLiteral)
    case string(StringLiteral)
    case vectorSelector(VectorSelector)
    case matrixSelector(MatrixSelector)
    case subquery(SubqueryExpr)
    case call(Call)
    case aggregate(AggregateExpr)
    case binary(BinaryExpr)
    case unary(UnaryExpr)
    case paren(ParenExpr)

    /// The type the expression evaluates to.
    public var type: ValueType {
        switch self {
        case .number: return .scalar
        case .string: return .string
        case .vectorSelector: return .vector
        case .matrixSelector, .subquery: return .matrix
        case .call(let c): return c.function.returnType
        case .aggregate: return .vector
        case .binary(let b): return b.isScalar ? .scalar : .vector
        case .unary(let u): return u.expr.type
        case .paren(let p): return p.expr.type
        }
    }

    /// Where the expression sits in the query text.
    public var positionRange: PositionRange {
        switch self {
        case .number(let n): return n.position
        case .string(let s): return s.position
        case .vectorSelector(let v): return v.position
        case .matrixSelector(let m): return PositionRange(start: m.vectorSelector.position.start, end: m.endPosition)
        case .subquery(let s): return PositionRange(start: s.expr.positionRange.start, end: s.endPosition)
        case .call(let c): return c.position
        case .aggregate(let a): return a.position
        case .binary(let b): return b.position
        case .unary(let u): return PositionRange(start: u.startPosition, end: u.expr.positionRange.end)
        case .paren(let p): return p.position
        }
    }
}

public struct NumberLiteral: Sendable {
    public var value: Double
    public var position: PositionRange
    /// Written as a duration (`1h` is 3600); the printer writes it back that way.
    public var isDuration: Bool
    public init(value: Double, position: PositionRange, isDuration: Bool = false) {
        self.value = value; self.position = position; self.isDuration = isDuration
    }
}

public struct StringLiteral: Sendable {
    public var value: String
    public var position: PositionRange
    public init(value: String, position: PositionRange) { self.value = value; self.position = position }
}

/// `name{matchers} offset d @ t`. `matchers` includes the `__name__` matcher when a name was
/// written in front of the braces (`name` is then that name).
public struct VectorSelector: Sendable {
    public var name: String?
    public var matchers: [LabelMatcher]
    /// `offset` as written, in milliseconds (negative offsets allowed).
    public var originalOffset: Int64
    /// `@ t` in milliseconds, once resolved (`@ start()`/`@ end()` are resolved by the engine).
    public var timestamp: Int64?
    public var startOrEnd: AtModifierPreprocessor?
    public var position: PositionRange

    public init(name: String?, matchers: [LabelMatcher], originalOffset: Int64 = 0, timestamp: Int64? = nil,
                startOrEnd: AtModifierPreprocessor? = nil, position: PositionRange) {
        self.name = name; self.matchers = matchers; self.originalOffset = originalOffset
        self.timestamp = timestamp; self.startOrEnd = startOrEnd; self.position = position
    }
}

/// `selector[range]`; `range` in milliseconds. `endPosition` is just after `]` (or after the
/// offset/@ modifiers, which belong to the inner selector).
public struct MatrixSelector: Sendable {
    public var vectorSelector: VectorSelector
    public var range: Int64
    public var endPosition: Int
    public init(vectorSelector: VectorSelector, range: Int64, endPosition: Int) {
        self.vectorSelector = vectorSelector; self.range = range; self.endPosition = endPosition
    }
}

/// `expr[range:step] offset d @ t`; `step == 0` means "the engine's default subquery step".
public struct SubqueryExpr: Sendable {
    public var expr: Expr
    public var range: Int64
    public var step: Int64
    public var originalOffset: Int64
    public var timestamp: Int64?
    public var startOrEnd: AtModifierPreprocessor?
    public var endPosition: Int

    public init(expr: Expr, range: Int64, step: Int64, originalOffset: Int64 = 0, timestamp: Int64? = nil,
                startOrEnd: AtModifierPreprocessor? = nil, endPosition: Int) {
        self.expr = expr; self.range = range; self.step = step; self.originalOffset = originalOffset
        self.timestamp = timestamp; self.startOrEnd = startOrEnd; self.endPosition = endPosition
    }
}

public struct Call: Sendable {
    public var function: PromQLFunction
    public var args: [Expr]
    public var position: PositionRange
    public init(function: PromQLFunction, args: [Expr], position: PositionRange) {
        self.function = function; self.args = args; self.position = position
    }
}

public enum AggregateOp: String, Sendable, CaseIterable {
    case sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk
    case countValues = "count_values", quantile, limitk, limitRatio = "limit_ratio"

    /// Whether the aggregation takes a parameter before the vector (`topk(3, x)`).
    public var takesParameter: Bool {
        switch self {
        case .topk, .bottomk, .countValues, .quantile, .limitk, .limitRatio: return true
        default: return false
        }
    }

    /// Behind Prometheus' `promql-experimental-functions` flag.
    public var isExperimental: Bool { self == .limitk || self == .limitRatio }
}

/// `op by|without (labels) (param, expr)`.
public struct AggregateExpr: Sendable {
    public var op: AggregateOp
    public var expr: Expr
    public var param: Expr?
    public var grouping: [String]
    public var without: Bool
    public var position: PositionRange

    public init(op: AggregateOp, expr: Expr, param: Expr?, grouping: [String], without: Bool, position: PositionRange) {
        self.op = op; self.expr = expr; self.param = param; self.grouping = grouping
        self.without = without; self.position = position
    }
}

public enum BinaryOp: String, Sendable, CaseIterable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^", atan2
    case eql = "==", neq = "!=", gtr = ">", lss = "<", gte = ">=", lte = "<="
    case land = "and", lor = "or", lunless = "unless"

    public var isComparison: Bool {
        switch self {
        case .eql, .neq, .gtr, .lss, .gte, .lte: return true
        default: return false
        }
    }

    public var isSetOperator: Bool { self == .land || self == .lor || self == .lunless }

    /// Binding strength, higher binds tighter (Prometheus' `LowestPrec`..`HighestPrec`).
    public var precedence: Int {
        switch self {
        case .lor: return 1
        case .land, .lunless: return 2
        case .eql, .neq, .gtr, .lss, .gte, .lte: return 3
        case .add, .sub: return 4
        case .mul, .div, .mod, .atan2: return 5
        case .pow: return 6
        }
    }

    public var isRightAssociative: Bool { self == .pow }
}

public enum VectorMatchCardinality: String, Sendable {
    case oneToOne = "one-to-one", manyToOne = "many-to-one", oneToMany = "one-to-many", manyToMany = "many-to-many"
}

/// `on(...)`/`ignoring(...)` and `group_left(...)`/`group_right(...)`.
public struct VectorMatching: Sendable {
    public var card: VectorMatchCardinality
    public var matchingLabels: [String]
    /// true for `on(...)`, false for `ignoring(...)` (and for no clause at all).
    public var on: Bool
    /// Extra labels taken from the "one" side with `group_left(...)`/`group_right(...)`.
    public var include: [String]

    public init(card: VectorMatchCardinality, matchingLabels: [String] = [], on: Bool = false, include: [String] = []) {
        self.card = card; self.matchingLabels = matchingLabels; self.on = on; self.include = include
    }
}

public struct BinaryExpr: Sendable {
    public var op: BinaryOp
    public var lhs: Expr
    public var rhs: Expr
    /// Present when both sides are vectors.
    public var matching: VectorMatching?
    public var returnBool: Bool
    /// Worked out once here, so that asking a long chain `a + b + c …` for them does not walk
    /// the whole chain at every node (quadratic time for a 10,000-term sum).
    public let position: PositionRange
    public let isScalar: Bool

    public init(op: BinaryOp, lhs: Expr, rhs: Expr, matching: VectorMatching?, returnBool: Bool) {
        self.op = op; self.lhs = lhs; self.rhs = rhs; self.matching = matching; self.returnBool = returnBool
        position = PositionRange(start: lhs.positionRange.start, end: rhs.positionRange.end)
        isScalar = lhs.type == .scalar && rhs.type == .scalar
    }
}

public enum UnaryOp: String, Sendable { case add = "+", sub = "-" }

public struct UnaryExpr: Sendable {
    public var op: UnaryOp
    public var expr: Expr
    public var startPosition: Int
    public init(op: UnaryOp, expr: Expr, startPosition: Int) { self.op = op; self.expr = expr; self.startPosition = startPosition }
}

public struct ParenExpr: Sendable {
    public var expr: Expr
    public var position: PositionRange
    public init(expr: Expr, position: PositionRange) { self.expr = expr; self.position = position }
}

extension Expr {
    /// The expressions directly below this one, in the order they appear in the query.
    public var children: [Expr] {
        switch self {
        case .number, .string, .vectorSelector, .matrixSelector: return []
        case .subquery(let s): return [s.expr]
        case .call(let c): return c.args
        case .aggregate(let a): return a.param.map { [$0, a.expr] } ?? [a.expr]
        case .binary(let b): return [b.lhs, b.rhs]
        case .unary(let u): return [u.expr]
        case .paren(let p): return [p.expr]
        }
    }

    /// This node with its direct children replaced by `transform(child)`, in `children` order.
    /// Rewrites (such as resolving `@ start()`) are written on it instead of on every case.
    public func mapChildren<E: Error>(_ transform: (Expr) throws(E) -> Expr) throws(E) -> Expr {
        switch self {
        case .number, .string, .vectorSelector, .matrixSelector: return self
        case .subquery(var s): s.expr = try transform(s.expr); return .subquery(s)
        case .call(var c):
            var args: [Expr] = []
            args.reserveCapacity(c.args.count)
            for a in c.args { args.append(try transform(a)) }
            c.args = args
            return .call(c)
        case .aggregate(var a):
            if let p = a.param { a.param = try transform(p) }
            a.expr = try transform(a.expr)
            return .aggregate(a)
        case .binary(var b): b.lhs = try transform(b.lhs); b.rhs = try transform(b.rhs); return .binary(b)
        case .unary(var u): u.expr = try transform(u.expr); return .unary(u)
        case .paren(var p): p.expr = try transform(p.expr); return .paren(p)
        }
    }

    /// Visits every node, parents before children, without recursion (so a tree of any depth
    /// is safe to walk on any thread). `visit` gets each node with the context its parent's
    /// visit returned (the root gets `context`) and returns the context for the node's children:
    /// a depth, or the time range a subquery opens.
    public func walk<Context, E: Error>(with context: Context,
                                        _ visit: (_ node: Expr, _ context: Context) throws(E) -> Context) throws(E) {
        var stack: [(Expr, Context)] = [(self, context)]
        while let (node, context) = stack.popLast() {
            let inner = try visit(node, context)
            for c in node.children.reversed() { stack.append((c, inner)) }
        }
    }

    /// Visits every node, parents before children, without recursion.
    public func walk<E: Error>(_ visit: (_ node: Expr) throws(E) -> Void) throws(E) {
        try walk(with: ()) { (node, _) throws(E) in try visit(node) }
    }

    /// Length of the longest path from this node down to a leaf (a leaf is 1).
    public var depth: Int {
        var deepest = 0
        walk(with: 1) { _, d in
            deepest = Swift.max(deepest, d)
            return d + 1
        }
        return deepest
    }
}
