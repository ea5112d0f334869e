// Compiles a RegexNode tree to a Thompson-NFA program over Unicode scalars
// (the shape Go's regexp/syntax compiler produces, so thread priorities, and hence
// leftmost-first submatches, come out the same). Also: Go-compatible UTF-8 decoding
// and the zero-width context flags shared by the Pike VM and the DFA.

struct RegexInst: Sendable {
    enum Op: UInt8, Sendable {
        case fail, match, nop
        case split      // try `out` first, then `arg`
        case save       // record position in slot `arg`
        case assertion  // zero-width; `arg` is a RegexAssertion bit
        case rune1      // one scalar == arg
        case set        // one scalar in sets[arg]
        case any        // any scalar
        case anyNotNL   // any scalar but '\n'
    }
    var op: Op
    var out: Int32 = -1
    var arg: Int32 = 0
}

struct RegexProgram: Sendable {
    var insts: [RegexInst] = []
    var sets: [RegexCharSet] = []
    var start: Int32 = 0
    var numSlots = 2           // 2 per group, group 0 included
    var assertions: UInt8 = 0  // union of the assertion bits used

    /// Go accepts programs of millions of instructions; we cap lower so one selector
    /// cannot make every match cost a huge scan. Far above any real label regex.
    static let maxInsts = 100_000

    @inline(__always)
    func matches(_ inst: RegexInst, _ c: UInt32) -> Bool {
        switch inst.op {
        case .rune1: return c == UInt32(bitPattern: inst.arg)
        case .set: return sets[Int(inst.arg)].contains(c)
        case .any: return true
        case .anyNotNL: return c != 0x0A
        default: return false
        }
    }
}

// MARK: - Compiler

struct RegexCompiler {
    private var prog = RegexProgram()
    private var setIndex: [RegexCharSet: Int32] = [:]
    private let whole: String

    /// A compiled fragment: entry instruction and the dangling exits still to be patched.
    private struct Frag {
        var start: Int32
        var holes: [Int32]   // inst*2 (+1 for `arg`)
        var nullable: Bool
    }

    static func compile(_ node: RegexNode, captureCount: Int, pattern: String) throws(GoRegexpError) -> RegexProgram {
        var c = RegexCompiler(whole: pattern)
        c.prog.numSlots = 2 * (captureCount + 1)
        _ = try c.emit(.fail)  // pc 0 is a dead end, like Go
        let f = try c.compile(node)
        let m = try c.emit(.match)
        c.patch(f.holes, m)
        c.prog.start = f.start
        return c.prog
    }

    private init(whole: String) { self.whole = whole }

    private mutating func emit(_ op: RegexInst.Op, arg: Int32 = 0) throws(GoRegexpError) -> Int32 {
        if prog.insts.count >= RegexProgram.maxInsts { throw GoRegexpError(.large, whole) }
        prog.insts.append(RegexInst(op: op, arg: arg))
        return Int32(prog.insts.count - 1)
    }

    private mutating func patch(_ holes: [Int32], _ target: Int32) {
        for h in holes {
            if h & 1 == 0 { prog.insts[Int(h >> 1)].out = target } else { prog.insts[Int(h >> 1)].arg = target }
        }
    }

    private mutating func single(_ op: RegexInst.Op, arg: Int32 = 0, nullable: Bool) throws(GoRegexpError) -> Frag {
        let pc = try emit(op, arg: arg)
        return Frag(start: pc, holes: [pc << 1], nullable: nullable)
    }

    private mutating func cat(_ a: Frag, _ b: Frag) -> Frag {
        patch(a.holes, b.start)
        return Frag(start: a.start, holes: b.holes, nullable: a.nullable && b.nullable)
    }

    private mutating func alt(_ a: Frag, _ b: Frag) throws(GoRegexpError) -> Frag {
        let pc = try emit(.split, arg: b.start)
        prog.insts[Int(pc)].out = a.start
        return Frag(start: pc, holes: a.holes + b.holes, nullable: a.nullable || b.nullable)
    }

    private mutating func quest(_ a: Frag, greedy: Bool) throws(GoRegexpError) -> Frag {
        let pc = try emit(.split)
        if greedy {
            prog.insts[Int(pc)].out = a.start
            return Frag(start: pc, holes: [pc << 1 | 1] + a.holes, nullable: true)
        }
        prog.insts[Int(pc)].arg = a.start
        return Frag(start: pc, holes: [pc << 1] + a.holes, nullable: true)
    }

    /// A split that loops back into `a` (the exit is the split's other branch).
    private mutating func loop(_ a: Frag, greedy: Bool) throws(GoRegexpError) -> Frag {
        let pc = try emit(.split)
        let hole: Int32
        if greedy { prog.insts[Int(pc)].out = a.start; hole = pc << 1 | 1 } else { prog.insts[Int(pc)].arg = a.start; hole = pc << 1 }
        patch(a.holes, pc)
        return Frag(start: pc, holes: [hole], nullable: true)
    }

    private mutating func plus(_ a: Frag, greedy: Bool) throws(GoRegexpError) -> Frag {
        let l = try loop(a, greedy: greedy)
        return Frag(start: a.start, holes: l.holes, nullable: a.nullable)
    }

    private mutating func star(_ a: Frag, greedy: Bool) throws(GoRegexpError) -> Frag {
        // A loop whose body can match empty is compiled as (x+)? (as Go does), which
        // keeps the empty iteration from winning over a real one.
        if a.nullable { return try quest(plus(a, greedy: greedy), greedy: greedy) }
        return try loop(a, greedy: greedy)
    }

    private enum RepKind { case star, plus, quest }

    /// Go's simplify: x** -> x*, ()* -> (), etc., only when the greediness agrees.
    private mutating func repeatOp(_ kind: RepKind, _ sub: RegexNode, greedy: Bool) throws(GoRegexpError) -> Frag {
        switch (kind, sub) {
        case (_, .empty): return try compile(sub)
        case (.star, .star(_, let g)) where g == greedy: return try compile(sub)
        case (.plus, .plus(_, let g)) where g == greedy: return try compile(sub)
        case (.quest, .quest(_, let g)) where g == greedy: return try compile(sub)
        default: break
        }
        let f = try compile(sub)
        switch kind {
        case .star: return try star(f, greedy: greedy)
        case .plus: return try plus(f, greedy: greedy)
        case .quest: return try quest(f, greedy: greedy)
        }
    }

    private mutating func compile(_ node: RegexNode) throws(GoRegexpError) -> Frag {
        switch node {
        case .empty:
            return try single(.nop, nullable: true)
        case .literal(let c):
            return try single(.rune1, arg: Int32(bitPattern: c), nullable: false)
        case .charSet(let set):
            if set.ranges.count == 1 && set.ranges[0].lo == set.ranges[0].hi {
                return try single(.rune1, arg: Int32(bitPattern: set.ranges[0].lo), nullable: false)
            }
            if set.ranges == [RegexRange(0, regexMaxScalar)] { return try single(.any, nullable: false) }
            let idx: Int32
            if let k = setIndex[set] { idx = k } else {
                idx = Int32(prog.sets.count)
                prog.sets.append(set)
                setIndex[set] = idx
            }
            return try single(.set, arg: idx, nullable: false)
        case .anyChar:
            return try single(.any, nullable: false)
        case .anyCharNotNL:
            return try single(.anyNotNL, nullable: false)
        case .assertion(let a):
            prog.assertions |= a.rawValue
            return try single(.assertion, arg: Int32(a.rawValue), nullable: true)
        case .capture(let k, let sub):
            let open = try single(.save, arg: Int32(2 * k), nullable: true)
            let body = try compile(sub)
            let close = try single(.save, arg: Int32(2 * k + 1), nullable: true)
            return cat(cat(open, body), close)
        case .star(let sub, let g):
            return try repeatOp(.star, sub, greedy: g)
        case .plus(let sub, let g):
            return try repeatOp(.plus, sub, greedy: g)
        case .quest(let sub, let g):
            return try repeatOp(.quest, sub, greedy: g)
        case .repetition(let sub, let lo, let hi, let g):
            return try repetition(sub, lo, hi, g)
        case .concat(let xs):
            var f = try compile(xs[0])
            for x in xs.dropFirst() { f = cat(f, try compile(x)) }
            return f
        case .alternate(let xs):
            var f = try compile(xs[0])
            for x in xs.dropFirst() { f = try alt(f, try compile(x)) }
            return f
        }
    }

    /// x{lo,hi} expanded as Go's simplifier does: lo copies, then nested optional copies
    /// x(x(x)?)? for the rest (built inside-out with a loop, not recursion).
    private mutating func repetition(_ sub: RegexNode, _ lo: Int, _ hi: Int, _ greedy: Bool) throws(GoRegexpError) -> Frag {
        if lo == 0 && hi == 0 { return try single(.nop, nullable: true) }
        if hi == -1 {
            if lo == 0 { return try repeatOp(.star, sub, greedy: greedy) }
            var f: Frag? = nil
            for _ in 0..<(lo - 1) {
                let x = try compile(sub)
                f = f.map { cat($0, x) } ?? x
            }
            let p = try repeatOp(.plus, sub, greedy: greedy)
            return f.map { cat($0, p) } ?? p
        }
        if lo == 1 && hi == 1 { return try compile(sub) }
        var prefix: Frag? = nil
        for _ in 0..<lo {
            let x = try compile(sub)
            prefix = prefix.map { cat($0, x) } ?? x
        }
        guard hi > lo else { return prefix! }
        // The innermost optional copy is emitted first, so its program text comes earlier;
        // only the graph shape matters for priorities.
        var suffix = try repeatOp(.quest, sub, greedy: greedy)
        if hi - lo > 1 {
            for _ in (lo + 1)..<hi {
                let x = try compile(sub)
                suffix = try quest(cat(x, suffix), greedy: greedy)
            }
        }
        return prefix.map { cat($0, suffix) } ?? suffix
    }
}

// MARK: - UTF-8 and match context

/// Decodes the scalar at `i` as Go does: invalid or truncated sequences, surrogates and
/// overlong forms yield U+FFFD with width 1.
@inline(__always)
func regexDecode(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (scalar: UInt32, width: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    return regexDecodeMultibyte(p, i)
}

@usableFromInline
func regexDecodeMultibyte(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (scalar: UInt32, width: Int) {
    let n = p.count - i
    let b0 = UInt32(p[i])
    let bad: (UInt32, Int) = (0xFFFD, 1)
    @inline(__always) func cont(_ k: Int) -> UInt32? {
        let b = UInt32(p[i + k])
        return b & 0xC0 == 0x80 ? b & 0x3F : nil
    }
    if b0 < 0xC2 { return bad }
    if b0 < 0xE0 {
        guard n >= 2, let c1 = cont(1) else { return bad }
        return ((b0 & 0x1F) << 6 | c1, 2)
    }
    if b0 < 0xF0 {
        guard n >= 3, let c1 = cont(1), let c2 = cont(2) else { return bad }
        let v = (b0 & 0x0F) << 12 | c1 << 6 | c2
        if v < 0x800 || (v >= 0xD800 && v <= 0xDFFF) { return bad }
        return (v, 3)
    }
    if b0 < 0xF5 {
        guard n >= 4, let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return bad }
        let v = (b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
        if v < 0x10000 || v > regexMaxScalar { return bad }
        return (v, 4)
    }
    return bad
}

/// Sentinel for "no character" (before the start / after the end).
let regexNoChar: UInt32 = 0xFFFF_FFFF

/// Which zero-width assertions hold between `prev` and `next` (Go's EmptyOpContext).
@inline(__always)
func regexContext(prev: UInt32, next: UInt32) -> UInt8 {
    var f: UInt8 = 0
    if prev == regexNoChar { f |= RegexAssertion.beginText.rawValue | RegexAssertion.beginLine.rawValue }
    else if prev == 0x0A { f |= RegexAssertion.beginLine.rawValue }
    if next == regexNoChar { f |= RegexAssertion.endText.rawValue | RegexAssertion.endLine.rawValue }
    else if next == 0x0A { f |= RegexAssertion.endLine.rawValue }
    let pw = prev != regexNoChar && regexIsWordByte(prev), nw = next != regexNoChar && regexIsWordByte(next)
    f |= pw != nw ? RegexAssertion.wordBoundary.rawValue : RegexAssertion.noWordBoundary.rawValue
    return f
}
