import StrataBlock
import StrataEncoding
import StrataModel

/// The head's inverted index: label pair → sorted series refs.
///
/// A new series' pairs are found by their bytes in its label blob (`LabelPairTable`), so indexing
/// it makes no String and hashes no String, for each of its labels: that was most of creating a
/// series during WAL replay. Names and values exist as Strings once per distinct pair, for the
/// lookups by name that queries make; they compare by bytes, as Prometheus' do. Lists are sorted
/// arrays of 32-bit refs (`PostingList`), indexed by pair id.
final class MemPostings: @unchecked Sendable {
    private let lock = RWLock()
    private var pairs = LabelPairTable()
    private var lists: [PostingList] = []
    private var byName: [ByteString: [ByteString: Int32]] = [:]
    private var all = PostingList()

    /// Adds a series by its label blob.
    func add(_ ref: SeriesRef, _ blob: UnsafeRawBufferPointer) {
        lock.withWriteLock {
            all.insert(ref)
            Self.forEachPair(blob) { key in
                let hash = XXH64.hash(key)
                let id = pairs.find(key, hash: hash) ?? newPair(key, hash: hash)
                lists[Int(id)].insert(ref)
            }
        }
    }

    /// Removes series (refs with their labels) from every list they are in.
    func delete(_ series: [(ref: SeriesRef, labels: Labels)]) {
        if series.isEmpty { return }
        let refs = Set(series.map(\.ref))
        lock.withWriteLock {
            var gone: [Int32: Set<SeriesRef>] = [:]
            for (ref, labels) in series {
                labels.bytes.withUnsafeBytes { blob in
                    Self.forEachPair(blob) { key in
                        if let id = pairs.find(key, hash: XXH64.hash(key)) { gone[id, default: []].insert(ref) }
                    }
                }
            }
            all.remove(refs)
            for (id, goneRefs) in gone {
                lists[Int(id)].remove(goneRefs)
                if lists[Int(id)].isEmpty { removePair(id) }
            }
        }
    }

    /// Each label's span of a blob: `uvarint len | name | uvarint len | value`.
    @inline(__always)
    private static func forEachPair(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var i = 0
        while i < blob.count {
            let start = i
            let nameLength = LabelBlob.readUvarint(blob, &i)
            i += nameLength
            let valueLength = LabelBlob.readUvarint(blob, &i)
            i += valueLength
            body(UnsafeRawBufferPointer(rebasing: blob[start ..< i]))
        }
    }

    private static func split(_ key: UnsafeRawBufferPointer) -> (name: ByteString, value: ByteString) {
        var i = 0
        let nameLength = LabelBlob.readUvarint(key, &i)
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: key[i ..< i + nameLength]), as: UTF8.self)
        i += nameLength
        let valueLength = LabelBlob.readUvarint(key, &i)
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: key[i ..< i + valueLength]), as: UTF8.self)
        return (ByteString(name), ByteString(value))
    }

    private func newPair(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int32 {
        let id = pairs.insert(key, hash: hash)
        if Int(id) == lists.count { lists.append(PostingList()) }
        let (name, value) = Self.split(key)
        byName[name, default: [:]][value] = id
        return id
    }

    private func removePair(_ id: Int32) {
        let (name, value) = pairs.withBytes(of: id) { Self.split($0) }
        byName[name]?[value] = nil
        if byName[name]?.isEmpty == true { byName[name] = nil }
        pairs.remove(id)
        lists[Int(id)] = PostingList()
    }

    // Lists are taken under the lock (their arrays shared, not copied) and widened after it.

    func allPostings() -> [SeriesRef] { lock.withReadLock { all }.refs }

    func postings(_ name: String, _ value: String) -> [SeriesRef] {
        let list = lock.withReadLock { byName[ByteString(name)]?[ByteString(value)].map { lists[Int($0)] } }
        return list?.refs ?? []
    }

    /// Union of the lists of every value of `name` for which `keep(value)` is true.
    ///
    /// The values are copied out under the lock and matched after releasing it (Prometheus'
    /// `PostingsForLabelMatching`): a slow regex over many values must not hold back the new
    /// series, which need the write lock. `interrupt` runs every 1024 values so a query that
    /// timed out or was cancelled stops matching.
    func postings(_ name: String, where keep: (String) -> Bool, interrupt: (() throws -> Void)? = nil) throws -> [SeriesRef] {
        let values: [(value: ByteString, list: PostingList)] = lock.withReadLock {
            byName[ByteString(name)].map { $0.map { ($0.key, lists[Int($0.value)]) } } ?? []
        }
        var chosen: [PostingList] = []
        for (i, entry) in values.enumerated() {
            if i & 1023 == 0 { try interrupt?() }
            if keep(entry.value.string) { chosen.append(entry.list) }
        }
        if chosen.count == 1 { return chosen[0].refs }
        var union: [SeriesRef] = []
        union.reserveCapacity(chosen.reduce(0) { $0 + $1.count })
        for list in chosen { list.appendRefs(to: &union) }
        Postings.sortUnique(&union)
        return union
    }

    func labelNames() -> [String] { lock.withReadLock { byName.keys.map(\.string) } }

    func labelValues(_ name: String) -> [String] {
        lock.withReadLock { byName[ByteString(name)].map { $0.keys.map(\.string) } ?? [] }
    }

    /// Sizes for the status page: distinct values and their bytes per label name, series per
    /// `name=value` pair, and the number of pairs.
    func stats() -> (values: [String: Int], bytes: [String: Int], pairs: [(String, Int)], numPairs: Int) {
        lock.withReadLock {
            var values: [String: Int] = [:], bytes: [String: Int] = [:]
            var pairs: [(String, Int)] = []
            for (name, byValue) in byName {
                var b = 0
                for (value, id) in byValue {
                    let n = lists[Int(id)].count
                    b += value.string.utf8.count * n
                    pairs.append((name.string + "=" + value.string, n))
                }
                // Names differing only in Unicode normalization share a row here, as in a report.
                values[name.string, default: 0] += byValue.count
                bytes[name.string, default: 0] += b
            }
            return (values, bytes, pairs, pairs.count)
        }
    }
}

extension MemPostings: PostingsIndex {}
