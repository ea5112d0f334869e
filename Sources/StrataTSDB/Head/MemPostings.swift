import StrataBlock
import StrataModel

/// The head's inverted index: label name → value → sorted series refs.
/// Keys are compared by their bytes, as Prometheus does (one per distinct name and value, not per
/// series); lists are plain sorted arrays.
final class MemPostings: @unchecked Sendable {
    private let lock = RWLock()
    private var index: [ByteString: [ByteString: [SeriesRef]]] = [:]
    private var all: [SeriesRef] = []

    func add(_ ref: SeriesRef, _ labels: Labels) {
        var pairs: [(ByteString, ByteString)] = []
        labels.forEach { pairs.append((ByteString($0), ByteString($1))) }
        lock.withWriteLock {
            Self.insertSorted(&all, ref)
            for (n, v) in pairs {
                Self.insertSorted(&index[n, default: [:]][v, default: []], ref)
            }
        }
    }

    /// Refs arrive almost in order (allocated from a counter); insert from the back.
    private static func insertSorted(_ list: inout [SeriesRef], _ ref: SeriesRef) {
        if list.last.map({ $0 < ref }) ?? true { list.append(ref); return }
        var i = list.count - 1
        while i > 0 && list[i - 1] > ref { i -= 1 }
        list.insert(ref, at: i)
    }

    func allPostings() -> [SeriesRef] { lock.withReadLock { all } }

    func remove(refs: Set<SeriesRef>, byPair: [ByteString: [ByteString: Set<SeriesRef>]]) {
        lock.withWriteLock {
            all.removeAll { refs.contains($0) }
            for (name, values) in byPair {
                for (value, gone) in values {
                    index[name]?[value]?.removeAll { gone.contains($0) }
                    if index[name]?[value]?.isEmpty == true { index[name]![value] = nil }
                }
                if index[name]?.isEmpty == true { index[name] = nil }
            }
        }
    }

    func postings(_ name: String, _ value: String) -> [SeriesRef] {
        lock.withReadLock { index[ByteString(name)]?[ByteString(value)] ?? [] }
    }

    /// Union of the lists of every value of `name` for which `keep(value)` is true.
    ///
    /// The values are copied out under the lock and matched after releasing it (Prometheus'
    /// `PostingsForLabelMatching`): a slow regex over many values must not hold back the new
    /// series, which need the write lock. `interrupt` runs every 1024 values so a query that
    /// timed out or was cancelled stops matching.
    func postings(_ name: String, where keep: (String) -> Bool, interrupt: (() throws -> Void)? = nil) throws -> [SeriesRef] {
        let values: [(key: ByteString, value: [SeriesRef])] = lock.withReadLock {
            index[ByteString(name)].map { Array($0) } ?? []
        }
        var lists: [[SeriesRef]] = []
        for (i, entry) in values.enumerated() {
            if i & 1023 == 0 { try interrupt?() }
            if keep(entry.key.string) { lists.append(entry.value) }
        }
        return Postings.union(lists)
    }

    func labelNames() -> [String] { lock.withReadLock { index.keys.map(\.string) } }

    func labelValues(_ name: String) -> [String] {
        lock.withReadLock { index[ByteString(name)].map { $0.keys.map(\.string) } ?? [] }
    }

    /// Sizes for the status page: distinct values and their bytes per label name, series per
    /// `name=value` pair, and the number of pairs.
    func stats() -> (values: [String: Int], bytes: [String: Int], pairs: [(String, Int)], numPairs: Int) {
        lock.withReadLock {
            var values: [String: Int] = [:], bytes: [String: Int] = [:]
            var pairs: [(String, Int)] = []
            for (name, byValue) in index {
                var b = 0
                for (value, refs) in byValue {
                    b += value.string.utf8.count * refs.count
                    pairs.append((name.string + "=" + value.string, refs.count))
                }
                // Names differing only in Unicode normalization share a row here, as in a report.
                values[name.string, default: 0] += byValue.count
                bytes[name.string, default: 0] += b
            }
            return (values, bytes, pairs, pairs.count)
        }
    }
}

extension MemPostings {
    /// Removes series (refs with their labels) from every list they are in.
    func delete(_ series: [(ref: SeriesRef, labels: Labels)]) {
        if series.isEmpty { return }
        var byPair: [ByteString: [ByteString: Set<SeriesRef>]] = [:]
        for (ref, labels) in series { labels.forEach { byPair[ByteString($0), default: [:]][ByteString($1), default: []].insert(ref) } }
        let refs = Set(series.map(\.ref))
        remove(refs: refs, byPair: byPair)
    }
}

extension MemPostings: PostingsIndex {}
