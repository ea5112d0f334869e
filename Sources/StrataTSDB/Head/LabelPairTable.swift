import StrataModel

/// Dense ids for distinct label pairs, found by the pair's bytes as a label blob holds them
/// (`uvarint len | name | uvarint len | value`): no String and no allocation per lookup.
///
/// Open addressing with linear probing on the bytes' XXH64 (first slot: `fibonacciSlot`);
/// each pair's bytes are kept once in an arena, which a lookup compares with the blob's span.
/// Ids of removed pairs are reused, so arrays indexed by id stay as long as the most pairs ever
/// held at once. Not thread-safe: `MemPostings` holds its lock around every call.
struct LabelPairTable {
    /// Id + 1 of the pair in each slot; 0 is an empty slot.
    private var slots: [Int32] = []
    /// 64 − log2(slots.count).
    private var shift: UInt64 = 64
    /// By id: the bytes' hash, and where the bytes are in `arena` (length 0: a free id).
    private var hashes: [UInt64] = []
    private var spans: [(start: UInt32, length: UInt32)] = []
    private var arena: [UInt8] = []
    /// Arena bytes of removed pairs, reclaimed by compacting once they are half of it.
    private var garbage = 0
    private var freeIDs: [Int32] = []
    private(set) var count = 0

    /// One past the largest id handed out so far: the size arrays indexed by id need.
    var idLimit: Int { hashes.count }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int { fibonacciSlot(hash, shift: shift) }

    /// The pair's bytes in the arena, for the duration of `body`.
    @inline(__always)
    func withBytes<T>(of id: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let span = spans[Int(id)]
        return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[Int(span.start) ..< Int(span.start) + Int(span.length)])) }
    }

    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int32? {
        guard count > 0 else { return nil }
        let mask = slots.count - 1
        var i = home(hash)
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            let id = s - 1
            if hashes[Int(id)] == hash && withBytes(of: id, { LabelBlob.compareBytes($0, key) == 0 }) { return id }
            i = (i + 1) & mask
        }
    }

    /// Adds a pair that `find` did not find and returns its new id.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int32 {
        if (count + 1) * 2 > slots.count { grow() }   // at most half full: misses end early
        let id: Int32
        if let free = freeIDs.popLast() {
            id = free
        } else {
            id = Int32(hashes.count)
            hashes.append(0)
            spans.append((0, 0))
        }
        hashes[Int(id)] = hash
        spans[Int(id)] = (UInt32(arena.count), UInt32(key.count))
        arena.append(contentsOf: key)
        place(id)
        count += 1
        return id
    }

    private mutating func place(_ id: Int32) {
        let mask = slots.count - 1
        var i = home(hashes[Int(id)])
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = id + 1
    }

    private mutating func grow() {
        let size = max(64, slots.count * 2)
        slots = Array(repeating: 0, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        for id in spans.indices where spans[id].length > 0 { place(Int32(id)) }
    }

    /// Removes the pair; entries after it in its probe run move back, so lookups need no tombstones.
    mutating func remove(_ id: Int32) {
        let mask = slots.count - 1
        var i = home(hashes[Int(id)])
        while slots[i] != id + 1 { i = (i + 1) & mask }
        var hole = i
        var j = (i + 1) & mask
        while slots[j] != 0 {
            let h = home(hashes[Int(slots[j] - 1)])
            if (j - h) & mask >= (j - hole) & mask {
                slots[hole] = slots[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        slots[hole] = 0
        count -= 1
        garbage += Int(spans[Int(id)].length)
        spans[Int(id)] = (0, 0)
        freeIDs.append(id)
        if garbage > 1 << 16 && garbage * 2 > arena.count { compact() }
    }

    private mutating func compact() {
        var packed: [UInt8] = []
        packed.reserveCapacity(arena.count - garbage)
        for id in spans.indices where spans[id].length > 0 {
            let start = UInt32(packed.count)
            withBytes(of: Int32(id)) { packed.append(contentsOf: $0) }
            spans[id].start = start
        }
        arena = packed
        garbage = 0
    }
}
