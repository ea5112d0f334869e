import StrataModel
import StrataPromQLParser
import Foundation

extension Evaluator {
    func evalBinary(_ b: BinaryExpr) throws -> Matrix {
        let lt = b.lhs.type, rt = b.rhs.type
        switch (lt, rt) {
        case (.scalar, .scalar):
            return try rangeEval([b.lhs, b.rhs]) { v, _, ts in
                [Element(labels: .empty, v: scalarBinop(b.op, v[0][0].v, v[1][0].v), t: ts)]
            }
        case (.vector, .vector):
            let matching = b.matching ?? VectorMatching(card: b.op.isSetOperator ? .manyToMany : .oneToOne)
            switch b.op {
            case .land:
                return try rangeEval([b.lhs, b.rhs], matching: matching) { v, o, _ in
                    if v[0].isEmpty || v[1].isEmpty { return [] }
                    let right = Set(o[1])
                    return v[0].indices.filter { right.contains(o[0][$0]) }.map { v[0][$0] }
                }
            case .lor:
                return try rangeEval([b.lhs, b.rhs], matching: matching) { v, o, _ in
                    if v[0].isEmpty { return v[1] }
                    if v[1].isEmpty { return v[0] }
                    let left = Set(o[0])
                    return v[0] + v[1].indices.filter { !left.contains(o[1][$0]) }.map { v[1][$0] }
                }
            case .lunless:
                return try rangeEval([b.lhs, b.rhs], matching: matching) { v, o, _ in
                    if v[0].isEmpty || v[1].isEmpty { return v[0] }
                    let right = Set(o[1])
                    return v[0].indices.filter { !right.contains(o[0][$0]) }.map { v[0][$0] }
                }
            default:
                var cache: [ResultMetricKey: Labels] = [:]
                return try rangeEval([b.lhs, b.rhs], matching: matching) { v, o, _ in
                    try vectorBinop(b, matching, v[0], v[1], o[0], o[1], &cache)
                }
            }
        case (.vector, .scalar):
            return try rangeEval([b.lhs, b.rhs]) { v, _, _ in
                vectorScalarBinop(b, v[0], v[1][0].v, swap: false)
            }
        case (.scalar, .vector):
            return try rangeEval([b.lhs, b.rhs]) { v, _, _ in
                vectorScalarBinop(b, v[1], v[0][0].v, swap: true)
            }
        default:
            throw QueryError(.badData, "binary operator \(b.op.rawValue) is not defined between \(lt.rawValue) and \(rt.rawValue)")
        }
    }

    private func vectorScalarBinop(_ b: BinaryExpr, _ vector: [Element], _ scalar: Double, swap: Bool) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(vector.count)
        for var e in vector {
            let (l, r) = swap ? (scalar, e.v) : (e.v, scalar)
            var (value, keep) = vectorElemBinop(b.op, l, r)
            // A comparison keeps the vector's value, whichever side it is on.
            if b.op.isComparison && swap { value = r }
            if b.returnBool {
                value = keep ? 1 : 0
                keep = true
            }
            guard keep else { continue }
            e.v = value
            if changesMetricSchema(b.op) || b.returnBool { e.dropName = true }
            out.append(e)
        }
        return out
    }

    private func vectorBinop(_ b: BinaryExpr, _ matching: VectorMatching,
                             _ lhsIn: [Element], _ rhsIn: [Element], _ lhsOrd: [Int], _ rhsOrd: [Int],
                             _ cache: inout [ResultMetricKey: Labels]) throws -> [Element] {
        if lhsIn.isEmpty || rhsIn.isEmpty { return [] }
        // Work as many-to-one; for one-to-many swap the sides and swap the values back.
        let swapped = matching.card == .oneToMany
        let (lhs, rhs) = swapped ? (rhsIn, lhsIn) : (lhsIn, rhsIn)
        let (lOrd, rOrd) = swapped ? (rhsOrd, lhsOrd) : (lhsOrd, rhsOrd)

        var rightByOrd: [Int: Int] = [:]
        rightByOrd.reserveCapacity(rhs.count)
        for (i, rs) in rhs.enumerated() {
            if let prev = rightByOrd[rOrd[i]] {
                let oneSide = swapped ? "left" : "right"
                let names = LabelNameSet(matching.matchingLabels)
                let matched = matching.on ? rs.labels.keeping(names) : rs.labels.removingWithName(names)
                var d1 = rs.labels.description, d2 = rhs[prev].labels.description
                if d1 > d2 { swap(&d1, &d2) }
                throw QueryError(.execution, "found duplicate series for the match group \(matched) on the \(oneSide) hand-side of the operation: [\(d1), \(d2)];many-to-many matching not allowed: matching labels must be unique on one side")
            }
            rightByOrd[rOrd[i]] = i
        }

        var matchedOneToOne = Set<Int>()
        var matchedManyToOne: [Int: Set<Labels>] = [:]
        var out: [Element] = []
        for (i, ls) in lhs.enumerated() {
            guard let ri = rightByOrd[lOrd[i]] else { continue }
            let rs = rhs[ri]
            let (fl, fr) = swapped ? (rs.v, ls.v) : (ls.v, rs.v)
            var (value, keep) = vectorElemBinop(b.op, fl, fr)
            if b.returnBool { value = keep ? 1 : 0 }
            let metric = resultMetric(ls.labels, rs.labels, b.op, matching, &cache)
            if matching.card == .oneToOne {
                if !matchedOneToOne.insert(lOrd[i]).inserted {
                    throw QueryError(.execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                }
            } else if !matchedManyToOne[lOrd[i], default: []].insert(metric).inserted {
                throw QueryError(.execution, "multiple matches for labels: grouping labels must ensure unique matches")
            }
            if !keep && !b.returnBool { continue }
            out.append(Element(labels: metric, v: value, t: ls.t, dropName: b.returnBool))
        }
        return out
    }

    private func resultMetric(_ lhs: Labels, _ rhs: Labels, _ op: BinaryOp, _ matching: VectorMatching,
                              _ cache: inout [ResultMetricKey: Labels]) -> Labels {
        let key = ResultMetricKey(lhs: lhs, rhs: rhs)
        if let m = cache[key] { return m }
        var m = lhs
        if changesMetricSchema(op) { m = m.withoutMetricName }
        if matching.card == .oneToOne {
            let names = LabelNameSet(matching.matchingLabels)
            m = matching.on ? m.keeping(names) : m.removing(names)
        }
        if !matching.include.isEmpty {
            var builder = LabelsBuilder(m)
            for name in matching.include {
                // Labels named in group_x(...) come from the "one" side.
                if let v = rhs.get(name), !v.isEmpty { builder.set(name, v) } else { builder.delete(name) }
            }
            m = builder.labels()
        }
        cache[key] = m
        return m
    }
}

struct ResultMetricKey: Hashable {
    let lhs: Labels
    let rhs: Labels
}

/// Arithmetic operators change what the value means, so the metric name is dropped.
func changesMetricSchema(_ op: BinaryOp) -> Bool {
    switch op {
    case .add, .sub, .mul, .div, .pow, .mod, .atan2: return true
    default: return false
    }
}

func scalarBinop(_ op: BinaryOp, _ l: Double, _ r: Double) -> Double {
    switch op {
    case .add: return l + r
    case .sub: return l - r
    case .mul: return l * r
    case .div: return l / r
    case .pow: return goPow(l, r)
    case .mod: return fmod(l, r)
    case .eql: return l == r ? 1 : 0
    case .neq: return l != r ? 1 : 0
    case .gtr: return l > r ? 1 : 0
    case .lss: return l < r ? 1 : 0
    case .gte: return l >= r ? 1 : 0
    case .lte: return l <= r ? 1 : 0
    case .atan2: return atan2(l, r)
    case .land, .lor, .lunless: return .nan
    }
}

/// The value and whether the element is kept (comparisons filter, keeping the left value).
func vectorElemBinop(_ op: BinaryOp, _ l: Double, _ r: Double) -> (Double, Bool) {
    switch op {
    case .eql: return (l, l == r)
    case .neq: return (l, l != r)
    case .gtr: return (l, l > r)
    case .lss: return (l, l < r)
    case .gte: return (l, l >= r)
    case .lte: return (l, l <= r)
    default: return (scalarBinop(op, l, r), true)
    }
}

/// Go's `math.Pow` special cases differ from C's `pow` in a few places (e.g. pow(-1, ±Inf) = 1
/// in Go and C99 alike, pow(1, NaN) = 1 in C but NaN in Go).
func goPow(_ x: Double, _ y: Double) -> Double {
    if y == 0 { return 1 }
    if y == 1 { return x }
    if x.isNaN || y.isNaN { return .nan }
    return pow(x, y)
}
