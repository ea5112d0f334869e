// DFA for the boolean whole-match hot path (RE2's approach): each DFA state is a set of
// NFA program counters; transitions are computed from the NFA on demand per input
// character class and memoized in a bounded table.
//
// At compile time the DFA is explored eagerly up to a budget. If it completes, the table is
// immutable and shared by all threads with no locking. Otherwise a match that reaches an
// unexplored transition continues with a private, per-call lazy cache seeded with the current
// state; that cache is flushed when full. Every step then costs at most O(len(program)), so
// matching stays linear whatever the pattern.

/// Input alphabet: scalars are grouped into classes that no instruction (and no assertion)
/// can tell apart, so the table has one column per class rather than per scalar.
struct RegexAlphabet: Sendable {
    let starts: [UInt32]      // class k = starts[k] ..< starts[k+1]
    let ascii: [UInt16]       // class of each ASCII byte
    var count: Int { starts.count }

    init(_ prog: RegexProgram) {
        var b: Set<UInt32> = [0]
        func cut(_ lo: UInt32, _ hi: UInt32) { b.insert(lo); if hi < regexMaxScalar { b.insert(hi + 1) } }
        for inst in prog.insts {
            switch inst.op {
            case .rune1: let c = UInt32(bitPattern: inst.arg); cut(c, c)
            case .set: for r in prog.sets[Int(inst.arg)].ranges { cut(r.lo, r.hi) }
            case .anyNotNL: cut(0x0A, 0x0A)
            default: break
            }
        }
        let wordBits = RegexAssertion.wordBoundary.rawValue | RegexAssertion.noWordBoundary.rawValue
        if prog.assertions & wordBits != 0 { for r in regexWordClass.ranges { cut(r.lo, r.hi) } }
        let lineBits = RegexAssertion.beginLine.rawValue | RegexAssertion.endLine.rawValue
        if prog.assertions & lineBits != 0 { cut(0x0A, 0x0A) }
        starts = b.sorted()
        var a = [UInt16](repeating: 0, count: 128)
        var k = 0
        for c in 0..<128 {
            while k + 1 < starts.count && starts[k + 1] <= UInt32(c) { k += 1 }
            a[c] = UInt16(k)
        }
        ascii = a
    }

    @inline(__always)
    func classOf(_ c: UInt32) -> Int {
        if c < 0x80 { return Int(ascii[Int(c)]) }
        var lo = 0, hi = starts.count
        while hi - lo > 1 {
            let m = (lo + hi) >> 1
            if starts[m] <= c { lo = m } else { hi = m }
        }
        return lo
    }
}

/// States and memoized transitions. `trans[state * classes + cls]` holds the target state
/// pre-multiplied by `classes` (so the hot loop does no multiply), or -1 when not yet computed.
/// State 0 is the dead state (no live threads).
struct RegexDFACache {
    private struct Key: Hashable { var pcs: [Int32]; var prev: UInt8 }

    let prog: RegexProgram
    let alphabet: RegexAlphabet
    let maxEntries: Int
    private(set) var trans: [Int32] = []
    private(set) var accept: [Bool] = []
    private var sets: [[Int32]] = []
    private var prevKind: [UInt8] = []
    private var index: [Key: Int32] = [:]
    // Scratch for closures (reused; sized to the program).
    private var dense: [Int32] = []
    private var sparse: [Int32] = []
    private var stack: [Int32] = []

    var stateCount: Int { sets.count }

    /// What preceded the current position, as far as assertions care.
    static let prevStart: UInt8 = 0, prevNewline: UInt8 = 1, prevWord: UInt8 = 2, prevOther: UInt8 = 3

    init(prog: RegexProgram, alphabet: RegexAlphabet, maxEntries: Int) {
        self.prog = prog
        self.alphabet = alphabet
        self.maxEntries = maxEntries
        reset()
    }

    mutating func reset() {
        trans.removeAll(keepingCapacity: true)
        accept.removeAll(keepingCapacity: true)
        sets.removeAll(keepingCapacity: true)
        prevKind.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        _ = insert([], prev: 0)  // dead state
        for k in 0..<alphabet.count { trans[k] = 0 }
    }

    private var hasAssertions: Bool { prog.assertions != 0 }

    private static func prevScalar(_ kind: UInt8) -> UInt32 {
        switch kind {
        case prevStart: return regexNoChar
        case prevNewline: return 0x0A
        case prevWord: return 0x61
        default: return 0x20
        }
    }

    /// Start state for a whole-string match.
    mutating func startState() -> Int32? {
        var seed = [prog.start]
        let pcs = closure(&seed, context: nil)
        return state(pcs, prev: Self.prevStart)
    }

    /// Add (or find) a state; nil when the table budget is exhausted.
    mutating func state(_ pcs: [Int32], prev: UInt8) -> Int32? {
        if pcs.isEmpty { return 0 }
        let key = Key(pcs: pcs, prev: hasAssertions ? prev : 0)
        if let s = index[key] { return s }
        if trans.count + alphabet.count > maxEntries { return nil }
        return insert(pcs, prev: key.prev)
    }

    private mutating func insert(_ pcs: [Int32], prev: UInt8) -> Int32 {
        let s = Int32(sets.count)
        sets.append(pcs)
        prevKind.append(prev)
        index[Key(pcs: pcs, prev: prev)] = s
        trans.append(contentsOf: repeatElement(-1, count: alphabet.count))
        // Accepting at the end of input: a Match is reachable with end-of-text context.
        var seeds = pcs
        let atEnd = hasAssertions ? closure(&seeds, context: regexContext(prev: Self.prevScalar(prev), next: regexNoChar)) : pcs
        accept.append(atEnd.contains { prog.insts[Int($0)].op == .match })
        return s
    }

    /// The NFA set and predecessor kind of a state (to reseed a fresh cache).
    func contents(_ s: Int32) -> ([Int32], UInt8) { (sets[Int(s)], prevKind[Int(s)]) }

    /// Computes and records the transition of state `s` on class `cls`.
    /// Returns the target state, or nil if a new state would exceed the budget.
    mutating func computeTransition(_ s: Int32, _ cls: Int) -> Int32? {
        let rep = alphabet.starts[cls]
        var current = sets[Int(s)]
        if hasAssertions {
            // Assertions between the previous character and `rep` can be decided now.
            current = closure(&current, context: regexContext(prev: Self.prevScalar(prevKind[Int(s)]), next: rep))
        }
        var seeds: [Int32] = []
        for pc in current {
            let inst = prog.insts[Int(pc)]
            if prog.matches(inst, rep) { seeds.append(inst.out) }
        }
        let next = closure(&seeds, context: nil)
        let kind: UInt8 = rep == 0x0A ? Self.prevNewline : regexIsWordByte(rep) ? Self.prevWord : Self.prevOther
        guard let t = state(next, prev: kind) else { return nil }
        trans[Int(s) * alphabet.count + cls] = t * Int32(alphabet.count)
        return t
    }

    /// Follows empty transitions from `seeds`. With `context == nil` assertions are kept
    /// unresolved in the result; otherwise those that hold are followed and the rest dropped.
    /// Returns the sorted consuming/match (and unresolved assertion) pcs.
    private mutating func closure(_ seeds: inout [Int32], context: UInt8?) -> [Int32] {
        if dense.count != prog.insts.count {
            dense = Array(repeating: 0, count: prog.insts.count)
            sparse = Array(repeating: 0, count: prog.insts.count)
        }
        var n = 0
        var out: [Int32] = []
        stack.removeAll(keepingCapacity: true)
        stack.append(contentsOf: seeds.reversed())
        while let pc = stack.popLast() {
            let k = Int(sparse[Int(pc)])
            if k < n && dense[k] == pc { continue }
            dense[n] = pc; sparse[Int(pc)] = Int32(n); n += 1
            let inst = prog.insts[Int(pc)]
            switch inst.op {
            case .fail: break
            case .nop, .save: stack.append(inst.out)
            case .split: stack.append(inst.arg); stack.append(inst.out)
            case .assertion:
                if let ctx = context {
                    if UInt8(inst.arg) & ctx != 0 { stack.append(inst.out) }
                } else {
                    out.append(pc)
                }
            case .match, .rune1, .set, .any, .anyNotNL:
                out.append(pc)
            }
        }
        out.sort()
        return out
    }
}

/// The shared, immutable part: alphabet plus the eagerly explored cache.
struct RegexDFA: Sendable {
    let alphabet: RegexAlphabet
    let trans: [Int32]
    let accept: [Bool]
    let start: Int32          // pre-multiplied
    let complete: Bool
    private let seedSets: [[Int32]]
    private let seedPrev: [UInt8]
    private let prog: RegexProgram

    /// Table entries explored at compile time: keeps compiling a few ms at worst.
    static let defaultEagerBudget = 1 << 14
    /// Per-call cache entries before a flush.
    static let defaultLazyBudget = 1 << 17
    private let lazyBudget: Int

    init(_ prog: RegexProgram, eagerBudget: Int = defaultEagerBudget, lazyBudget: Int = defaultLazyBudget) {
        self.prog = prog
        alphabet = RegexAlphabet(prog)
        // Room for at least a few states whatever the alphabet size.
        self.lazyBudget = max(lazyBudget, 4 * alphabet.count)
        var cache = RegexDFACache(prog: prog, alphabet: alphabet, maxEntries: max(eagerBudget, 3 * alphabet.count))
        let s0 = cache.startState()!  // the first real state always fits
        var complete = true
        var q: Int32 = 1
        explore: while Int(q) < cache.stateCount {
            for cls in 0..<alphabet.count where cache.computeTransition(q, cls) == nil {
                complete = false
                break explore
            }
            q += 1
        }
        start = s0 * Int32(alphabet.count)
        trans = cache.trans
        accept = cache.accept
        self.complete = complete
        var sets: [[Int32]] = [], prev: [UInt8] = []
        if !complete {
            for s in 0..<cache.stateCount {
                let (pcs, p) = cache.contents(Int32(s))
                sets.append(pcs); prev.append(p)
            }
        }
        seedSets = sets
        seedPrev = prev
    }

    func wholeMatch(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let nc = alphabet.count
        return trans.withUnsafeBufferPointer { t in
            alphabet.ascii.withUnsafeBufferPointer { ascii in
                var s = Int(start)
                var i = 0
                let n = p.count
                while i < n {
                    let b = p[i]
                    let cls: Int
                    let w: Int
                    if b < 0x80 {
                        cls = Int(ascii[Int(b)]); w = 1
                    } else {
                        let d = regexDecodeMultibyte(p, i)
                        cls = alphabet.classOf(d.scalar); w = d.width
                    }
                    let nx = t[s + cls]
                    if nx < 0 {
                        return continueLazily(p, at: i, state: Int32(s / nc))
                    }
                    if nx == 0 { return false }
                    s = Int(nx)
                    i += w
                }
                return accept[s / nc]
            }
        }
    }

    /// Slow path past the eagerly explored region: private cache, flushed when full.
    private func continueLazily(_ p: UnsafeBufferPointer<UInt8>, at start: Int, state: Int32) -> Bool {
        var cache = RegexDFACache(prog: prog, alphabet: alphabet, maxEntries: lazyBudget)
        var s = cache.state(seedSets[Int(state)], prev: seedPrev[Int(state)])!
        let nc = alphabet.count
        var i = start
        while i < p.count {
            let d = regexDecode(p, i)
            let cls = alphabet.classOf(d.scalar)
            var nx = cache.trans[Int(s) * nc + cls]
            if nx >= 0 {
                s = nx / Int32(nc)
            } else if let t = cache.computeTransition(s, cls) {
                s = t
            } else {
                // Cache full: start over holding only the current state.
                let (pcs, prev) = cache.contents(s)
                cache.reset()
                s = cache.state(pcs, prev: prev)!
                s = cache.computeTransition(s, cls)!
            }
            nx = s
            if nx == 0 { return false }
            i += d.width
        }
        return cache.accept[Int(s)]
    }
}
