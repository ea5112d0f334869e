/// The first slot of a 64-bit hash in an open-addressing table of 2^(64 − shift) slots: the top
/// bits of the hash times 2^64/φ (Fibonacci hashing), so keys that share their low bits (a
/// stripe's) or count up (refs) still spread. The head's series maps and postings pair table use it.
@inline(__always)
func fibonacciSlot(_ hash: UInt64, shift: UInt64) -> Int { Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> shift) }

/// A slot of a `SeriesMap`: a series and the key it is found by.
protocol SeriesSlot {
    init()
    init(key: UInt64, series: MemSeries)
    var series: MemSeries? { get set }
    /// Read only while `series` is set.
    var key: UInt64 { get }
}

/// A slot that holds its key beside its series, so a lookup compares keys without reading a
/// series record: for label hashes, whose probe runs pass other series on every write.
struct KeyedSlot: SeriesSlot {
    var key: UInt64 = 0
    var series: MemSeries?
    init() {}
    init(key: UInt64, series: MemSeries) { self.key = key; self.series = series }
}

/// A slot keyed by its series' ref, which the record holds: half the size of a `KeyedSlot`
/// (16 MiB at a million series). A ref stripe's keys are one counter's every 4096th value, which
/// Fibonacci hashing spreads almost evenly, so a lookup nearly always finds its series in its
/// first slot and reads no record it did not come for.
struct RefSlot: SeriesSlot {
    var series: MemSeries?
    init() {}
    init(key: UInt64, series: MemSeries) { self.series = series }
    var key: UInt64 { series.unsafelyUnwrapped.ref }
}

typealias SeriesByHash = SeriesMap<KeyedSlot>
typealias SeriesByRef = SeriesMap<RefSlot>

/// A map from a 64-bit key (a label hash, a series ref) to a series, for the head's stripes.
///
/// Open addressing with linear probing over a power-of-two table; a key's first slot is its
/// `fibonacciSlot`. Swift's `Dictionary` runs SipHash over every key: a tenth of creating a
/// series during WAL replay, and part of every write's series lookup. Label hashes are XXH64
/// values already, and refs are counters.
struct SeriesMap<Slot: SeriesSlot> {
    private var slots: [Slot] = []
    private(set) var count = 0
    /// 64 − log2(table size).
    private var shift: UInt64 = 64

    init() {}

    subscript(key: UInt64) -> MemSeries? {
        get {
            guard count > 0 else { return nil }
            return slots.withUnsafeBufferPointer { slots in
                let mask = slots.count - 1
                var i = fibonacciSlot(key, shift: shift)
                while let s = slots[i].series {
                    if slots[i].key == key { return s }
                    i = (i + 1) & mask
                }
                return nil
            }
        }
        set {
            if let newValue { insert(key, newValue) } else { removeValue(forKey: key) }
        }
    }

    var values: [MemSeries] { slots.compactMap(\.series) }

    private mutating func insert(_ key: UInt64, _ value: MemSeries) {
        if (count + 1) * 4 > slots.count * 3 { grow() }   // at most 3/4 full
        let mask = slots.count - 1
        var i = fibonacciSlot(key, shift: shift)
        while slots[i].series != nil {
            if slots[i].key == key { slots[i].series = value; return }
            i = (i + 1) & mask
        }
        slots[i] = Slot(key: key, series: value)
        count += 1
    }

    /// Doubles the table. The series move to the new slots without a retain and a release each
    /// (a few percent of WAL replay, whose stripes grow from empty to hundreds of series).
    private mutating func grow() {
        let size = max(16, slots.count * 2)
        var grown = [Slot](repeating: Slot(), count: size)
        let newShift = UInt64(64 - size.trailingZeroBitCount)
        let mask = size - 1
        grown.withUnsafeMutableBufferPointer { grown in
            slots.withUnsafeMutableBufferPointer { old in
                for i in old.indices where old[i].series != nil {
                    var j = fibonacciSlot(old[i].key, shift: newShift)
                    while grown[j].series != nil { j = (j + 1) & mask }
                    // Move the slot; the old one is left empty, so freeing it releases nothing.
                    (grown.baseAddress! + j).pointee = (old.baseAddress! + i).move()
                    (old.baseAddress! + i).initialize(to: Slot())
                }
            }
        }
        slots = grown
        shift = newShift
    }

    /// Removes the key's entry; the entries after it in its probe run move back, so lookups never
    /// need tombstones.
    @discardableResult
    mutating func removeValue(forKey key: UInt64) -> MemSeries? {
        guard count > 0 else { return nil }
        let mask = slots.count - 1
        var i = fibonacciSlot(key, shift: shift)
        while let found = slots[i].series {
            if slots[i].key != key { i = (i + 1) & mask; continue }
            var hole = i
            var j = (i + 1) & mask
            while slots[j].series != nil {
                // Entry j may fill the hole unless its first slot lies after the hole (up to j).
                let h = fibonacciSlot(slots[j].key, shift: shift)
                if (j - h) & mask >= (j - hole) & mask {
                    slots[hole] = slots[j]
                    hole = j
                }
                j = (j + 1) & mask
            }
            slots[hole] = Slot()
            count -= 1
            return found
        }
        return nil
    }
}
