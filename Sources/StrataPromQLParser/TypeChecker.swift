import StrataModel

/// Prometheus' `checkAST`: type rules the grammar cannot express, checked children first and in
/// the same order, so the first error reported is the one Prometheus reports.
///
/// It also settles vector matching: dropped where a side is not an instant vector, and
/// many-to-many for `and`/`or`/`unless`.
struct TypeChecker {
    let query: String

    @discardableResult
    func check(_ expr: inout Expr, allowEmptySelector: Bool = false) throws(ParseError) -> ValueType {
        switch expr {
        case .number, .string:
            break
        case .vectorSelector(let selector):
            try checkSelector(selector, allowEmpty: allowEmptySelector)
        case .matrixSelector(let matrix):
            try checkSelector(matrix.vectorSelector, allowEmpty: false)
        case .subquery(var subquery):
            let type = try check(&subquery.expr)
            expr = .subquery(subquery)
            if type != .vector {
                throw error("subquery is only allowed on instant vector, got \(goTypeName(type)) instead", at: expr.positionRange)
            }
        case .paren(var paren):
            try check(&paren.expr)
            expr = .paren(paren)
        case .unary(var unary):
            let type = try check(&unary.expr)
            expr = .unary(unary)
            if type != .scalar && type != .vector {
                throw error("unary expression only allowed on expressions of type scalar or instant vector, got \(goQuoteString(type.rawValue))",
                            at: expr.positionRange)
            }
        case .aggregate(var aggregate):
            try expectType(&aggregate.expr, .vector, in: "aggregation expression")
            if var param = aggregate.param {
                try expectType(&param, aggregate.op == .countValues ? .string : .scalar, in: "aggregation parameter")
                aggregate.param = param
            }
            expr = .aggregate(aggregate)
        case .call(var call):
            try checkCall(&call)
            expr = .call(call)
        case .binary(var binary):
            try checkBinary(&binary)
            expr = .binary(binary)
        }
        return expr.type
    }

    private func checkSelector(_ selector: VectorSelector, allowEmpty: Bool) throws(ParseError) {
        if let name = selector.name {
            // The first matcher is the name written before the braces.
            for matcher in selector.matchers.dropFirst() where matcher.name == "__name__" {
                throw error("metric name must not be set twice: \(goQuoteString(name)) or \(goQuoteString(matcher.value))",
                            at: selector.position)
            }
            return
        }
        // Selecting every series by accident (a typo) is refused.
        if !allowEmpty && selector.matchers.allSatisfy(\.matchesEmpty) {
            throw error("vector selector must contain at least one non-empty matcher", at: selector.position)
        }
    }

    private func checkCall(_ call: inout Call) throws(ParseError) {
        let function = call.function
        let declared = function.argTypes.count
        let given = call.args.count
        let name = goQuoteString(function.name)
        if function.variadic == 0 {
            if declared != given {
                throw error("expected \(declared) argument(s) in call to \(name), got \(given)", at: call.position)
            }
        } else if declared - 1 > given {
            throw error("expected at least \(declared - 1) argument(s) in call to \(name), got \(given)", at: call.position)
        } else if function.variadic > 0 && declared - 1 + function.variadic < given {
            throw error("expected at most \(declared - 1 + function.variadic) argument(s) in call to \(name), got \(given)",
                        at: call.position)
        }

        // info()'s second argument is a bare label selector, which may match the empty string.
        var infoLabelSelector = false
        if function.name == "info" && given > 1 {
            let selector = call.args[1]
            if selector.type != .vector {
                throw error("expected type instant vector in call to function \(name), got \(selector.type.rawValue)", at: call.position)
            }
            guard case .vectorSelector(let vs) = selector else {
                throw error("expected label selectors only", at: selector.positionRange)
            }
            if vs.name != nil {
                throw error("expected label selectors only, got vector selector instead", at: selector.positionRange)
            }
            infoLabelSelector = true
        }

        for i in call.args.indices {
            var typeIndex = i
            if i >= declared {
                if function.variadic == 0 { break }
                typeIndex = declared - 1
            }
            let type = try check(&call.args[i], allowEmptySelector: infoLabelSelector && i == 1)
            let wanted = function.argTypes[typeIndex]
            if type != wanted {
                throw error("expected type \(wanted.rawValue) in call to function \(name), got \(type.rawValue)",
                            at: call.args[i].positionRange)
            }
        }
    }

    private func checkBinary(_ binary: inout BinaryExpr) throws(ParseError) {
        let lt = try check(&binary.lhs)
        let rt = try check(&binary.rhs)
        let op = binary.op
        let whole = binary.position

        if binary.returnBool && !op.isComparison {
            throw error("bool modifier can only be used on comparison operators", at: operatorRange(binary))
        }
        if op.isComparison && !binary.returnBool && lt == .scalar && rt == .scalar {
            throw error("comparisons between scalars must use BOOL modifier", at: operatorRange(binary))
        }
        if op.isSetOperator, binary.matching?.card == .oneToOne { binary.matching?.card = .manyToMany }
        if let matching = binary.matching, matching.on {
            for label in matching.matchingLabels where matching.include.contains(label) {
                throw error("label \(goQuoteString(label)) must not occur in ON and GROUP clause at once", at: operatorRange(binary))
            }
        }
        if lt != .scalar && lt != .vector {
            throw error("binary expression must contain only scalar and instant vector types", at: binary.lhs.positionRange)
        }
        if rt != .scalar && rt != .vector {
            throw error("binary expression must contain only scalar and instant vector types", at: binary.rhs.positionRange)
        }
        if lt != .vector || rt != .vector {
            if let matching = binary.matching, !matching.matchingLabels.isEmpty {
                throw error("vector matching only allowed between instant vectors", at: whole)
            }
            binary.matching = nil
        } else if op.isSetOperator, let matching = binary.matching {
            if matching.card == .oneToMany || matching.card == .manyToOne {
                throw error("no grouping allowed for \(goQuoteString(op.rawValue)) operation", at: whole)
            }
        }
        if (lt == .scalar || rt == .scalar) && op.isSetOperator {
            throw error("set operator \(goQuoteString(op.rawValue)) not allowed in binary scalar expression", at: whole)
        }
    }

    private func expectType(_ expr: inout Expr, _ wanted: ValueType, in context: String) throws(ParseError) {
        let type = try check(&expr)
        if type != wanted {
            throw error("expected type \(wanted.rawValue) in \(context), got \(type.rawValue)", at: expr.positionRange)
        }
    }

    /// The operator and its modifiers between the operands, trimmed of spaces (Prometheus' `opRange`).
    private func operatorRange(_ binary: BinaryExpr) -> PositionRange {
        let bytes = Array(query.utf8)
        func isSpace(_ i: Int) -> Bool {
            i >= 0 && i < bytes.count && [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[i])
        }
        var start = binary.lhs.positionRange.end
        while isSpace(start) { start += 1 }
        var end = binary.rhs.positionRange.start - 1
        while isSpace(end) { end -= 1 }
        return PositionRange(start: start, end: end)
    }

    private func error(_ message: String, at range: PositionRange) -> ParseError {
        ParseError(position: range, message: message, query: query)
    }
}

/// Prometheus' internal type names (`matrix`, not `range vector`), used by a few messages.
private func goTypeName(_ type: ValueType) -> String {
    switch type {
    case .scalar: return "scalar"
    case .vector: return "vector"
    case .matrix: return "matrix"
    case .string: return "string"
    }
}
