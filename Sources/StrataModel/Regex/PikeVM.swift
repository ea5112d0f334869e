// Pike VM: simulates the NFA over the input once, keeping one thread per program
// counter in priority order, each with its own capture slots. O(len(input) × len(program))
// time, no backtracking, no recursion (an explicit stack follows empty transitions).
// Used for whole-match submatch extraction with leftmost-first (Perl/Go) priority.

struct PikeVM {
    private let prog: RegexProgram
    private let nslots: Int

    /// Threads at one input position: a sparse set of pcs (insertion = priority order)
    /// plus the capture slots for each thread, stored by insertion index.
    private struct ThreadList {
        var dense: [Int32]
        var sparse: [Int32]
        var count = 0
        var caps: [Int32]

        init(size: Int, nslots: Int) {
            dense = Array(repeating: 0, count: size)
            sparse = Array(repeating: 0, count: size)
            caps = Array(repeating: -1, count: max(1, size * nslots))
        }
        @inline(__always) func contains(_ pc: Int32) -> Bool {
            let k = Int(sparse[Int(pc)])
            return k < count && dense[k] == pc
        }
        @inline(__always) mutating func insert(_ pc: Int32) -> Int {
            let k = count
            dense[k] = pc
            sparse[Int(pc)] = Int32(k)
            count += 1
            return k
        }
    }

    /// Closure work item: a pc to visit, or (when slot >= 0) a capture slot to restore.
    private struct Work { var pc: Int32; var slot: Int32; var value: Int32 }

    init(_ prog: RegexProgram) {
        self.prog = prog
        nslots = prog.numSlots
    }

    /// Returns capture slots (2 per group, -1 = unset) of the highest-priority thread
    /// that consumes the whole input, or nil.
    func wholeMatch(_ input: UnsafeBufferPointer<UInt8>) -> [Int32]? {
        let size = prog.insts.count
        var clist = ThreadList(size: size, nslots: nslots)
        var nlist = ThreadList(size: size, nslots: nslots)
        var stack: [Work] = []
        stack.reserveCapacity(16)
        var work = [Int32](repeating: -1, count: nslots)
        let n = input.count

        var pos = 0
        var next: (scalar: UInt32, width: Int) = n > 0 ? regexDecode(input, 0) : (regexNoChar, 0)
        addThread(&clist, prog.start, pos: 0, caps: &work, context: regexContext(prev: regexNoChar, next: next.scalar), stack: &stack)

        while pos < n {
            if clist.count == 0 { return nil }
            let c = next.scalar
            let npos = pos + next.width
            next = npos < n ? regexDecode(input, npos) : (regexNoChar, 0)
            let ctx = regexContext(prev: c, next: next.scalar)
            nlist.count = 0
            for k in 0..<clist.count {
                let pc = clist.dense[k]
                let inst = prog.insts[Int(pc)]
                // Match before the end is not a whole match; it simply dies here.
                guard prog.matches(inst, c) else { continue }
                for s in 0..<nslots { work[s] = clist.caps[k * nslots + s] }
                addThread(&nlist, inst.out, pos: npos, caps: &work, context: ctx, stack: &stack)
            }
            swap(&clist, &nlist)
            pos = npos
        }
        // At the end: the first matching thread in priority order wins.
        for k in 0..<clist.count where prog.insts[Int(clist.dense[k])].op == .match {
            return Array(clist.caps[(k * nslots)..<(k * nslots + nslots)])
        }
        return nil
    }

    /// Follows empty transitions from `pc0` in priority order, adding each reached pc once.
    private func addThread(_ list: inout ThreadList, _ pc0: Int32, pos: Int, caps: inout [Int32], context: UInt8, stack: inout [Work]) {
        stack.append(Work(pc: pc0, slot: -1, value: 0))
        while let w = stack.popLast() {
            if w.slot >= 0 { caps[Int(w.slot)] = w.value; continue }
            let pc = w.pc
            if list.contains(pc) { continue }
            let k = list.insert(pc)
            let inst = prog.insts[Int(pc)]
            switch inst.op {
            case .fail:
                break
            case .nop:
                stack.append(Work(pc: inst.out, slot: -1, value: 0))
            case .split:
                stack.append(Work(pc: inst.arg, slot: -1, value: 0))
                stack.append(Work(pc: inst.out, slot: -1, value: 0))
            case .save:
                let slot = Int(inst.arg)
                stack.append(Work(pc: 0, slot: inst.arg, value: caps[slot]))
                caps[slot] = Int32(pos)
                stack.append(Work(pc: inst.out, slot: -1, value: 0))
            case .assertion:
                if UInt8(inst.arg) & context != 0 { stack.append(Work(pc: inst.out, slot: -1, value: 0)) }
            case .match, .rune1, .set, .any, .anyNotNL:
                for s in 0..<nslots { list.caps[k * nslots + s] = caps[s] }
            }
        }
    }
}
