/// A map from a 64-bit key (a label hash, a series ref) to a series, for the head's stripes.
///
/// Open addressing with linear probing over a power-of-two table; a key's first slot is the top
/// bits of the key times 2^64/φ (Fibonacci hashing). Swift's `Dictionary` runs SipHash over every
/// key: a tenth of creating a series during WAL replay, and part of every write's series lookup.
/// Label hashes are XXH64 values already, and refs are counters that the multiplication spreads;
/// the top bits matter because a stripe's keys share their low bits.
struct SeriesMap {
    private var keys: [UInt64] = []
    private var slots: [MemSeries?] = []
    private(set) var count = 0
    /// 64 − log2(table size).
    private var shift: UInt64 = 64

    init() {}

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    subscript(key: UInt64) -> MemSeries? {
        get {
            guard count > 0 else { return nil }
            let mask = slots.count - 1
            var i = home(key)
            while let s = slots[i] {
                if keys[i] == key { return s }
                i = (i + 1) & mask
            }
            return nil
        }
        set {
            if let newValue { insert(key, newValue) } else { removeValue(forKey: key) }
        }
    }

    var values: [MemSeries] { slots.compactMap { $0 } }

    private mutating func insert(_ key: UInt64, _ value: MemSeries) {
        if (count + 1) * 4 > slots.count * 3 { grow() }   // at most 3/4 full
        let mask = slots.count - 1
        var i = home(key)
        while slots[i] != nil {
            if keys[i] == key { slots[i] = value; return }
            i = (i + 1) & mask
        }
        keys[i] = key
        slots[i] = value
        count += 1
    }

    private mutating func grow() {
        let (oldKeys, oldSlots) = (keys, slots)
        let size = max(16, slots.count * 2)
        keys = Array(repeating: 0, count: size)
        slots = Array(repeating: nil, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for i in oldSlots.indices { if let s = oldSlots[i] { insert(oldKeys[i], s) } }
    }

    /// Removes the key's entry; the entries after it in its probe run move back, so lookups never
    /// need tombstones.
    @discardableResult
    mutating func removeValue(forKey key: UInt64) -> MemSeries? {
        guard count > 0 else { return nil }
        let mask = slots.count - 1
        var i = home(key)
        while let found = slots[i] {
            if keys[i] != key { i = (i + 1) & mask; continue }
            var hole = i
            var j = (i + 1) & mask
            while slots[j] != nil {
                // Entry j may fill the hole unless its first slot lies after the hole (up to j).
                let h = home(keys[j])
                if (j - h) & mask >= (j - hole) & mask {
                    keys[hole] = keys[j]
                    slots[hole] = slots[j]
                    hole = j
                }
                j = (j + 1) & mask
            }
            slots[hole] = nil
            count -= 1
            return found
        }
        return nil
    }
}
