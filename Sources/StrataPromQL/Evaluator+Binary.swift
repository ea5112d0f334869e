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
            let inputs = [try eval(b.lhs).matrix, try eval(b.rhs).matrix]
            let (seriesOrdinals, signatureCount) = signatureOrdinals(inputs, matching)
            // Per-signature scratch shared by all steps: which ordinals the other side has.
            var present = [Bool](repeating: false, count: signatureCount)
            func mark(_ ords: [Int], _ value: Bool) { for o in ords { present[o] = value } }
            switch b.op {
            case .land:
                return try rangeEval(inputs: inputs, ordinals: seriesOrdinals) { v, o, _ in
                    if v[0].isEmpty || v[1].isEmpty { return [] }
                    mark(o[1], true); defer { mark(o[1], false) }
                    return v[0].indices.filter { present[o[0][$0]] }.map { v[0][$0] }
                }
            case .lor:
                return try rangeEval(inputs: inputs, ordinals: seriesOrdinals) { v, o, _ in
                    if v[0].isEmpty { return v[1] }
                    if v[1].isEmpty { return v[0] }
                    mark(o[0], true); defer { mark(o[0], false) }
                    return v[0] + v[1].indices.filter { !present[o[1][$0]] }.map { v[1][$0] }
                }
            case .lunless:
                return try rangeEval(inputs: inputs, ordinals: seriesOrdinals) { v, o, _ in
                    if v[0].isEmpty || v[1].isEmpty { return v[0] }
                    mark(o[1], true); defer { mark(o[1], false) }
                    return v[0].indices.filter { !present[o[0][$0]] }.map { v[0][$0] }
                }
            default:
                var join = VectorJoin(signatureCount: signatureCount)
                return try rangeEval(inputs: inputs, ordinals: seriesOrdinals) { v, o, _ in
                    try join.apply(b, matching, v[0], v[1], o[0], o[1])
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
}

/// One-to-one and many-to-one matching of two vectors at one step, with scratch arrays indexed by
/// join-signature ordinal and result labels cached per (left series, right series) pair, so the
/// steps of a range query do not rehash label sets.
struct VectorJoin {
    private var rightIndex: [Int]
    private var matched: [Bool]
    private var matchedMetrics: [Int: Set<Labels>] = [:]
    private var resultLabels: [Int64: Labels] = [:]

    init(signatureCount: Int) {
        rightIndex = [Int](repeating: -1, count: signatureCount)
        matched = [Bool](repeating: false, count: signatureCount)
    }

    mutating func apply(_ b: BinaryExpr, _ matching: VectorMatching, _ lhsIn: [Element], _ rhsIn: [Element],
                        _ lhsOrd: [Int], _ rhsOrd: [Int]) throws -> [Element] {
        if lhsIn.isEmpty || rhsIn.isEmpty { return [] }
        // Work as many-to-one; for one-to-many swap the sides and swap the values back.
        let swapped = matching.card == .oneToMany
        let (lhs, rhs) = swapped ? (rhsIn, lhsIn) : (lhsIn, rhsIn)
        let (lOrd, rOrd) = swapped ? (rhsOrd, lhsOrd) : (lhsOrd, rhsOrd)
        defer {
            for o in rOrd { rightIndex[o] = -1 }
            for o in lOrd { matched[o] = false }
            matchedMetrics.removeAll(keepingCapacity: true)
        }

        for (i, rs) in rhs.enumerated() {
            let prev = rightIndex[rOrd[i]]
            if prev >= 0 {
                let oneSide = swapped ? "left" : "right"
                let names = LabelNameSet(matching.matchingLabels)
                let group = matching.on ? rs.labels.keeping(names) : rs.labels.removingWithName(names)
                var d1 = rs.labels.description, d2 = rhs[prev].labels.description
                if d1 > d2 { swap(&d1, &d2) }
                throw QueryError(.execution, "found duplicate series for the match group \(group) on the \(oneSide) hand-side of the operation: [\(d1), \(d2)];many-to-many matching not allowed: matching labels must be unique on one side")
            }
            rightIndex[rOrd[i]] = i
        }

        var out: [Element] = []
        out.reserveCapacity(lhs.count)
        for (i, ls) in lhs.enumerated() {
            let ri = rightIndex[lOrd[i]]
            guard ri >= 0 else { continue }
            let rs = rhs[ri]
            let (fl, fr) = swapped ? (rs.v, ls.v) : (ls.v, rs.v)
            var (value, keep) = vectorElemBinop(b.op, fl, fr)
            if b.returnBool { value = keep ? 1 : 0 }
            let metric = resultMetric(ls, rs, b.op, matching)
            if matching.card == .oneToOne {
                if matched[lOrd[i]] {
                    throw QueryError(.execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                }
                matched[lOrd[i]] = true
            } else if !matchedMetrics[lOrd[i], default: []].insert(metric).inserted {
                throw QueryError(.execution, "multiple matches for labels: grouping labels must ensure unique matches")
            }
            if !keep && !b.returnBool { continue }
            out.append(Element(labels: metric, v: value, t: ls.t, dropName: b.returnBool))
        }
        return out
    }

    private mutating func resultMetric(_ ls: Element, _ rs: Element, _ op: BinaryOp, _ matching: VectorMatching) -> Labels {
        let key = Int64(ls.source) << 32 | Int64(UInt32(bitPattern: rs.source))
        if let m = resultLabels[key] { return m }
        var m = ls.labels
        if changesMetricSchema(op) { m = m.withoutMetricName }
        if matching.card == .oneToOne {
            let names = LabelNameSet(matching.matchingLabels)
            m = matching.on ? m.keeping(names) : m.removing(names)
        }
        if !matching.include.isEmpty {
            var builder = LabelsBuilder(m)
            for name in matching.include {
                // Labels named in group_x(...) come from the "one" side.
                if let v = rs.labels.get(name), !v.isEmpty { builder.set(name, v) } else { builder.delete(name) }
            }
            m = builder.labels()
        }
        resultLabels[key] = m
        return m
    }
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
