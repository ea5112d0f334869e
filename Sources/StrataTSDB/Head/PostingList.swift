import StrataModel

/// The sorted series refs of one label pair, in 4 bytes per ref while refs fit.
///
/// A head hands out refs from a counter, so until it has created 4 billion series every ref
/// fits in 32 bits: the postings then take half the memory of 64-bit lists (a series is in one
/// list per label and in the list of all series, ~30 MiB at a million series of seven lists).
/// Refs from 2^32 on go to a second list of full width; every one of them is larger than every
/// ref in the first, so the two read one after the other are still sorted.
struct PostingList {
    private var narrow: [UInt32] = []
    private var wide: [SeriesRef] = []

    var count: Int { narrow.count + wide.count }
    var isEmpty: Bool { narrow.isEmpty && wide.isEmpty }

    mutating func insert(_ ref: SeriesRef) {
        if let small = UInt32(exactly: ref) { Self.insertSorted(&narrow, small) }
        else { Self.insertSorted(&wide, ref) }
    }

    /// Removes every ref in `refs`.
    mutating func remove(_ refs: Set<SeriesRef>) {
        narrow.removeAll { refs.contains(SeriesRef($0)) }
        wide.removeAll { refs.contains($0) }
    }

    /// The refs at full width, sorted: a new array (a query's intersections and selections work on these).
    var refs: [SeriesRef] {
        var out: [SeriesRef] = []
        appendRefs(to: &out)
        return out
    }

    /// Appends the refs at full width to `out` (a union gathers several lists into one array).
    func appendRefs(to out: inout [SeriesRef]) {
        out.reserveCapacity(out.count + count)
        out.append(contentsOf: narrow.lazy.map { SeriesRef($0) })   // copied into the spare capacity in one pass
        out.append(contentsOf: wide)
    }

    /// Refs arrive almost in order (allocated from a counter); insert from the back.
    @inline(__always)
    private static func insertSorted<Ref: FixedWidthInteger>(_ list: inout [Ref], _ ref: Ref) {
        if list.last.map({ $0 < ref }) ?? true { list.append(ref); return }
        var i = list.count - 1
        while i > 0 && list[i - 1] > ref { i -= 1 }
        list.insert(ref, at: i)
    }
}
