import Hummingbird
import StrataModel
import StrataPromQLParser

/// `/api/v1/parse_query?query=…`: the query's syntax tree as JSON, in the shape of Prometheus'
/// `translateAST` (used by Prometheus' UI to explain a query). Object keys are sorted, as Go's
/// JSON encoder writes maps.
extension PrometheusAPI {
    func registerParseQuery(on router: APIRouter<Context>) {
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/api/v1/parse_query", method: method) { req, ctx in
                await self.respond(req, ctx) { p in
                    let expr: Expr
                    do { expr = try PromQLParser.parse(p["query"] ?? "", options: self.options.parser) } catch {
                        throw APIError.badData("invalid parameter \"query\": \(error)")
                    }
                    var w = JSONWriter()
                    w.raw("{\"status\":\"success\",\"data\":")
                    ASTJSON.node(expr).write(to: &w)
                    w.raw("}")
                    return w.bytes
                }
            }
        }
    }
}

/// A JSON value tree, written with sorted object keys.
indirect enum JSONTree {
    case null, bool(Bool), int(Int64), string(String), array([JSONTree]), object([String: JSONTree])

    func write(to w: inout JSONWriter) {
        switch self {
        case .null: w.raw("null")
        case .bool(let b): if b { w.raw("true") } else { w.raw("false") }
        case .int(let i): w.int(i)
        case .string(let s): w.string(s)
        case .array(let a):
            w.byte(UInt8(ascii: "["))
            for (i, v) in a.enumerated() { if i > 0 { w.byte(UInt8(ascii: ",")) }; v.write(to: &w) }
            w.byte(UInt8(ascii: "]"))
        case .object(let o):
            w.byte(UInt8(ascii: "{"))
            for (i, k) in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.string(k); w.byte(UInt8(ascii: ":")); o[k]!.write(to: &w)
            }
            w.byte(UInt8(ascii: "}"))
        }
    }
}

enum ASTJSON {
    static func node(_ e: Expr) -> JSONTree {
        switch e {
        case .aggregate(let a):
            return .object(["type": .string("aggregation"), "op": .string(a.op.rawValue), "expr": node(a.expr),
                            "param": a.param.map(node) ?? .null, "grouping": .array(a.grouping.map { .string($0) }),
                            "without": .bool(a.without)])
        case .binary(let b):
            var matching = JSONTree.null
            if let m = b.matching {
                matching = .object(["card": .string(m.card.rawValue), "labels": .array(m.matchingLabels.map { .string($0) }),
                                    "on": .bool(m.on), "include": .array(m.include.map { .string($0) }),
                                    "fillValues": .object(["lhs": .null, "rhs": .null])])
            }
            return .object(["type": .string("binaryExpr"), "op": .string(b.op.rawValue), "lhs": node(b.lhs), "rhs": node(b.rhs),
                            "matching": matching, "bool": .bool(b.returnBool)])
        case .call(let c):
            let f = c.function
            return .object(["type": .string("call"), "args": .array(c.args.map(node)),
                            "func": .object(["name": .string(f.name), "argTypes": .array(f.argTypes.map { .string(typeName($0)) }),
                                             "variadic": .int(Int64(f.variadic)), "returnType": .string(typeName(f.returnType))])])
        case .matrixSelector(let m):
            var o = selector(m.vectorSelector, type: "matrixSelector")
            o["range"] = .int(m.range); o["rangeExpr"] = .null
            return .object(o)
        case .subquery(let s):
            return .object(["type": .string("subquery"), "expr": node(s.expr), "range": .int(s.range), "rangeExpr": .null,
                            "offset": .int(s.originalOffset), "offsetExpr": .null, "step": .int(s.step), "stepExpr": .null,
                            "timestamp": s.timestamp.map { .int($0) } ?? .null, "startOrEnd": startOrEnd(s.startOrEnd)])
        case .number(let n):
            return .object(["type": .string("numberLiteral"), "val": .string(GoFloat.formatF(n.value))])
        case .paren(let p):
            return .object(["type": .string("parenExpr"), "expr": node(p.expr)])
        case .string(let s):
            return .object(["type": .string("stringLiteral"), "val": .string(s.value)])
        case .unary(let u):
            return .object(["type": .string("unaryExpr"), "op": .string(u.op.rawValue), "expr": node(u.expr)])
        case .vectorSelector(let v):
            return .object(selector(v, type: "vectorSelector"))
        }
    }

    static func selector(_ v: VectorSelector, type: String) -> [String: JSONTree] {
        // Prometheus appends the matcher for a name written before the braces after the others.
        var matchers = v.matchers
        if v.name != nil, let i = matchers.firstIndex(where: { $0.name == "__name__" }) { matchers.append(matchers.remove(at: i)) }
        return ["type": .string(type), "name": .string(v.name ?? ""), "offset": .int(v.originalOffset), "offsetExpr": .null,
         "matchers": .array(matchers.map { .object(["name": .string($0.name), "value": .string($0.value), "type": .string($0.kind.rawValue)]) }),
         "timestamp": v.timestamp.map { .int($0) } ?? .null, "startOrEnd": startOrEnd(v.startOrEnd),
         "anchored": .bool(false), "smoothed": .bool(false)]
    }

    static func startOrEnd(_ p: AtModifierPreprocessor?) -> JSONTree {
        switch p {
        case .start: return .string("start")
        case .end: return .string("end")
        case nil: return .null
        }
    }

    /// Prometheus' `ValueType` names (`vector`, `matrix`), not the documentation names.
    static func typeName(_ t: ValueType) -> String {
        switch t {
        case .scalar: return "scalar"
        case .vector: return "vector"
        case .matrix: return "matrix"
        case .string: return "string"
        }
    }
}
