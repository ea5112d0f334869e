import StrataModel

/// PromQL text of an expression, exactly as Prometheus' `String()` methods print it (`printer.go`),
/// so the query API, annotations and tests show what Prometheus shows. Printing and parsing
/// again gives the same text.
extension Expr: CustomStringConvertible {
    public var description: String {
        switch self {
        case .number(let n):
            return n.isDuration ? durationText(seconds: n.value) : GoFloat.formatF(n.value)
        case .string(let s):
            return goQuoteString(s.value)
        case .vectorSelector(let vs):
            return selectorText(vs) + atText(vs.timestamp, vs.startOrEnd) + offsetText(vs.originalOffset)
        case .matrixSelector(let m):
            let vs = m.vectorSelector
            return selectorText(vs) + "[\(formatPrometheusDuration(milliseconds: m.range))]"
                + atText(vs.timestamp, vs.startOrEnd) + offsetText(vs.originalOffset)
        case .subquery(let s):
            return s.expr.description + subqueryTimeSuffix(s)
        case .call(let c):
            return c.function.name + "(" + c.args.map(\.description).joined(separator: ", ") + ")"
        case .aggregate(let a):
            return aggregateText(a)
        case .binary(let b):
            return b.lhs.description + " " + b.op.rawValue + (b.returnBool ? " bool" : "") + matchingText(b.matching)
                + " " + b.rhs.description
        case .unary(let u):
            return u.op.rawValue + u.expr.description
        case .paren(let p):
            return "(" + p.expr.description + ")"
        }
    }
}

/// `name{matchers}` with the matchers sorted, leaving out the `__name__` matcher the name stands for.
private func selectorText(_ vs: VectorSelector) -> String {
    let name = vs.name ?? ""
    let matchers = vs.matchers
        .filter { !($0.name == "__name__" && $0.kind == .equal && !name.isEmpty && $0.value == name) }
        .map { (needsQuotedName($0.name) ? goQuoteString($0.name) : $0.name) + $0.kind.rawValue + goQuoteString($0.value) }
        .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return matchers.isEmpty ? name : name + "{" + matchers.joined(separator: ",") + "}"
}

private func aggregateText(_ a: AggregateExpr) -> String {
    let param = a.param.map { $0.description + ", " } ?? ""
    return aggregateOpText(a) + "(" + param + a.expr.description + ")"
}

/// `sum by (job) ` — Prometheus' `ShortString()` of an aggregation.
func aggregateOpText(_ a: AggregateExpr) -> String {
    var text = a.op.rawValue
    if a.without {
        text += " without (" + labelListText(a.grouping) + ") "
    } else if !a.grouping.isEmpty {
        text += " by (" + labelListText(a.grouping) + ") "
    }
    return text
}

/// `[range:step] @ t offset d` after a subquery's expression.
func subqueryTimeSuffix(_ s: SubqueryExpr) -> String {
    let step = s.step == 0 ? "" : formatPrometheusDuration(milliseconds: s.step)
    return "[\(formatPrometheusDuration(milliseconds: s.range)):\(step)]" + atText(s.timestamp, s.startOrEnd) + offsetText(s.originalOffset)
}

func matchingText(_ matching: VectorMatching?) -> String {
    guard let m = matching else { return "" }
    let grouped = m.card == .manyToOne || m.card == .oneToMany
    var text = ""
    if !m.matchingLabels.isEmpty || m.on || grouped {
        text += (m.on ? " on (" : " ignoring (") + labelListText(m.matchingLabels) + ")"
    }
    if grouped {
        text += (m.card == .manyToOne ? " group_left (" : " group_right (") + labelListText(m.include) + ")"
    }
    return text
}

func atText(_ timestamp: Int64?, _ startOrEnd: AtModifierPreprocessor?) -> String {
    if let timestamp { return " @ " + formatScaled(timestamp, scale: 3) }
    switch startOrEnd {
    case .start: return " @ start()"
    case .end: return " @ end()"
    case nil: return ""
    }
}

func offsetText(_ offset: Int64) -> String {
    if offset > 0 { return " offset " + formatPrometheusDuration(milliseconds: offset) }
    if offset < 0 { return " offset -" + formatPrometheusDuration(milliseconds: -offset) }
    return ""
}

private func durationText(seconds: Double) -> String {
    seconds < 0 ? "-" + formatPrometheusDuration(milliseconds: secondsToMilliseconds(-seconds))
        : formatPrometheusDuration(milliseconds: secondsToMilliseconds(seconds))
}

/// Label names in `by (…)`, `on (…)`, …: quoted unless valid in the classic (pre-UTF-8) syntax.
func labelListText(_ labels: [String]) -> String {
    labels.map { needsQuotedName($0) ? goQuoteString($0) : $0 }.joined(separator: ", ")
}

/// Whether a label name must be quoted: not `[a-zA-Z_][a-zA-Z0-9_]*`.
private func needsQuotedName(_ name: String) -> Bool {
    if name.isEmpty { return true }
    for (i, c) in name.utf8.enumerated() {
        let isLetter = c == UInt8(ascii: "_") || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
        let isDigit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
        if !(isLetter || (i > 0 && isDigit)) { return true }
    }
    return false
}
