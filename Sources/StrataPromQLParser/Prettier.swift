/// Prometheus' `Pretty()` (`prettier.go`), what `/api/v1/format_query` returns: an expression
/// whose one-line form fits in 100 characters stays on one line; longer ones are split node by
/// node, two spaces of indent per level.
extension Expr {
    /// `width` is the longest one-line form kept on one line (Prometheus: 100).
    public func pretty(level: Int = 0, width: Int = 100) -> String {
        let indent = String(repeating: "  ", count: level)
        let oneLine = description
        let split = oneLine.count > width
        func sub(_ e: Expr, _ l: Int) -> String { e.pretty(level: l, width: width) }
        switch self {
        case .aggregate(let a):
            guard split else { return indent + oneLine }
            var s = indent + aggregateOpText(a) + "(\n"
            if let p = a.param { s += sub(p, level + 1) + ",\n" }
            return s + sub(a.expr, level + 1) + "\n" + indent + ")"
        case .binary(let b):
            guard split else { return indent + oneLine }
            return sub(b.lhs, level + 1) + "\n" + indent + b.op.rawValue + (b.returnBool ? " bool" : "")
                + matchingText(b.matching) + "\n" + sub(b.rhs, level + 1)
        case .call(let c):
            guard split else { return indent + oneLine }
            return indent + c.function.name + "(\n" + c.args.map { sub($0, level + 1) }.joined(separator: ",\n")
                + "\n" + indent + ")"
        case .paren(let p):
            guard split else { return indent + oneLine }
            return indent + "(\n" + sub(p.expr, level + 1) + "\n" + indent + ")"
        case .subquery(let s):
            // As Prometheus: an unsplit subquery is not indented.
            guard split else { return oneLine }
            return sub(s.expr, level) + subqueryTimeSuffix(s)
        case .unary(let u):
            let child = sub(u.expr, level).drop { $0 == " " }
            return indent + u.op.rawValue + child
        case .number, .string, .vectorSelector, .matrixSelector:
            return indent + oneLine
        }
    }
}
