import StrataEncoding
import StrataModel
import StrataStorage

/// Reads a block `index` (format V2) through a memory map. Kept in memory: the offset of every
/// symbol and, per label name, the offsets of its postings-offset-table entries (4 bytes each);
/// strings and lists are decoded from the map when asked for.
public final class IndexReader: @unchecked Sendable {
    public let file: MappedFile
    private var buf: UnsafeRawBufferPointer { file.bytes }
    private(set) var symbolOffsets: [UInt32] = []
    /// Label name → (entry offsets in the postings offset table, postings list offsets), by value order.
    private var names: [ByteString: NameEntries] = [:] // by bytes, as Prometheus compares names
    private var allPostingsOffset: UInt64 = 0
    public let toc: IndexWriter.TOC

    public struct NameEntries {
        /// Offset of each value's uvarint-str in the file (the table may lie beyond 4 GiB).
        var valueOffsets: [UInt64] = []
        var postingsOffsets: [UInt64] = []
    }

    public init(path: String) throws {
        file = try MappedFile(path: path)
        let buf = file.bytes
        guard buf.count >= 5 + 52 else { throw StorageError(.corrupt, "\(path): index too short (\(buf.count) bytes)") }
        var r = ByteReader(buf)
        guard (try? r.be32()) == IndexWriter.magic else { throw StorageError(.corrupt, "\(path): not an index file (bad magic)") }
        guard buf[4] == 2 else { throw StorageError(.unsupported, "\(path): unsupported index format version \(buf[4]) (only V2)") }

        // TOC: six BE64 offsets and a CRC over them.
        let tocStart = buf.count - 52
        r = ByteReader(buf, offset: tocStart)
        var t = IndexWriter.TOC()
        do {
            t.symbols = try r.be64(); t.series = try r.be64(); t.labelIndices = try r.be64()
            t.labelIndicesTable = try r.be64(); t.postings = try r.be64(); t.postingsTable = try r.be64()
            let crc = try r.be32()
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[tocStart ..< tocStart + 48])) == crc else {
                throw StorageError(.corrupt, "\(path): TOC checksum mismatch")
            }
        } catch let e as StorageError { throw e } catch { throw StorageError(.corrupt, "\(path): truncated TOC") }
        toc = t
        do {
            try readSymbols(path)
            try readPostingsTable(path)
        } catch let e as StorageError { throw e } catch {
            throw StorageError(.corrupt, "\(path): malformed index: \(error)")
        }
    }

    /// Reads a `len BE32 | payload | CRC32` section at `offset`, checks the CRC, returns the payload.
    private func section(at offset: UInt64, _ path: String, _ what: String) throws -> UnsafeRawBufferPointer {
        guard offset <= UInt64(buf.count), UInt64(buf.count) - offset >= 4 else { throw StorageError(.corrupt, "\(path): \(what) offset out of range") }
        var r = ByteReader(buf, offset: Int(offset))
        let len = Int(try r.be32())
        let payload = try r.bytes(len)
        let crc = try r.be32()
        guard CRC32C.checksum(payload) == crc else { throw StorageError(.corrupt, "\(path): \(what) checksum mismatch") }
        return payload
    }

    private func readSymbols(_ path: String) throws {
        let payload = try section(at: toc.symbols, path, "symbol table")
        var r = ByteReader(payload)
        let n = Int(try r.be32())
        symbolOffsets.reserveCapacity(n)
        let base = payload.baseAddress! - buf.baseAddress!
        for _ in 0 ..< n {
            symbolOffsets.append(UInt32(base + r.offset))
            let len = try r.uvarintInt()
            _ = try r.bytes(len)
        }
    }

    private func readPostingsTable(_ path: String) throws {
        let payload = try section(at: toc.postingsTable, path, "postings offset table")
        var r = ByteReader(payload)
        let n = Int(try r.be32())
        let base = payload.baseAddress! - buf.baseAddress!
        var lastName: UnsafeRawBufferPointer?
        var current = NameEntries()
        var currentName = ""
        for i in 0 ..< n {
            guard try r.uvarint() == 2 else { throw StorageError(.corrupt, "\(path): postings offset table entry with key count other than 2") }
            let name = try r.bytes(try r.uvarintInt())
            let valueOffset = base + r.offset
            _ = try r.bytes(try r.uvarintInt())
            let off = try r.uvarint()
            if i == 0 && name.isEmpty { allPostingsOffset = off; continue }
            if lastName == nil || !lastName!.elementsEqual(name) {
                if lastName != nil { names[ByteString(currentName)] = current }
                current = NameEntries()
                currentName = String(decoding: name, as: UTF8.self)
                lastName = name
            }
            current.valueOffsets.append(UInt64(valueOffset))
            current.postingsOffsets.append(off)
        }
        if lastName != nil { names[ByteString(currentName)] = current }
    }

    // MARK: symbols and strings

    private func string(at offset: Int) -> UnsafeRawBufferPointer {
        var i = offset
        let len = LabelBlob.readUvarint(buf, &i)
        return UnsafeRawBufferPointer(rebasing: buf[i ..< i + len])
    }

    public func symbol(_ index: Int) throws -> UnsafeRawBufferPointer {
        guard index < symbolOffsets.count else { throw StorageError(.corrupt, "\(file.path): symbol \(index) out of range") }
        return string(at: Int(symbolOffsets[index]))
    }

    public var symbolCount: Int { symbolOffsets.count }

    /// Every symbol's bytes, in table order (sorted bytewise).
    public func allSymbolBytes() -> [[UInt8]] { symbolOffsets.map { Array(string(at: Int($0))) } }

    public func labelNames() -> [String] { names.keys.map(\.string) }

    public func labelValues(_ name: String) -> [String] {
        guard let e = names[ByteString(name)] else { return [] }
        return e.valueOffsets.map { String(decoding: string(at: Int($0)), as: UTF8.self) }
    }

    // MARK: postings

    private func postingsList(at offset: UInt64) throws -> [SeriesRef] {
        guard offset < UInt64(buf.count) else { throw StorageError(.corrupt, "\(file.path): postings list offset \(offset) out of range") }
        var r = ByteReader(buf, offset: Int(offset))
        let len = Int(try r.be32())
        guard len >= 4 else { throw StorageError(.corrupt, "\(file.path): postings list at \(offset) too short") }
        let n = Int(try r.be32())
        guard n <= r.remaining / 4, n * 4 + 4 == len else { throw StorageError(.corrupt, "\(file.path): postings list at \(offset) is malformed") }
        var out = [SeriesRef](repeating: 0, count: n)
        let start = r.offset
        for i in 0 ..< n { out[i] = SeriesRef(UInt32(bigEndian: buf.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self))) }
        return out
    }

    public func allPostings() throws -> [SeriesRef] { try postingsList(at: allPostingsOffset) }

    public func postings(_ name: String, _ value: String) throws -> [SeriesRef] {
        guard let e = names[ByteString(name)] else { return [] }
        var lo = 0, hi = e.valueOffsets.count
        var value = value
        let c: Int = value.withUTF8 { v in
            while lo < hi {
                let mid = (lo + hi) / 2
                let cmp = LabelBlob.compareBytes(string(at: Int(e.valueOffsets[mid])), UnsafeRawBufferPointer(v))
                if cmp == 0 { return mid }
                if cmp < 0 { lo = mid + 1 } else { hi = mid }
            }
            return -1
        }
        if c < 0 { return [] }
        return try postingsList(at: e.postingsOffsets[c])
    }

    /// Union of the postings of every value of `name` that `keep` accepts.
    public func postings(_ name: String, where keep: (String) -> Bool, interrupt: (() throws -> Void)?) throws -> [SeriesRef] {
        guard let e = names[ByteString(name)] else { return [] }
        var lists: [[SeriesRef]] = []
        for (i, vo) in e.valueOffsets.enumerated() {
            if i & 1023 == 0 { try interrupt?() }
            if keep(String(decoding: string(at: Int(vo)), as: UTF8.self)) { lists.append(try postingsList(at: e.postingsOffsets[i])) }
        }
        return Postings.union(lists)
    }

    // MARK: series

    /// The labels and chunk metas of series `ref` (its offset / 16).
    public func series(_ ref: SeriesRef, chunks: inout [ChunkMeta]) throws -> Labels {
        let offset = Int(ref) * 16
        guard offset < buf.count else { throw StorageError(.corrupt, "\(file.path): series \(ref) out of range") }
        var r = ByteReader(buf, offset: offset)
        do {
            let len = try r.uvarintInt()
            let body = try r.bytes(len)
            let crc = try r.be32()
            guard CRC32C.checksum(body) == crc else { throw StorageError(.corrupt, "\(file.path): series \(ref) checksum mismatch") }
            var b = ByteReader(body)
            let nLabels = try b.uvarintInt()
            var blob: [UInt8] = []
            blob.reserveCapacity(nLabels * 16)
            guard nLabels <= body.count else { throw StorageError(.corrupt, "\(file.path): series \(ref) is malformed") }
            for _ in 0 ..< nLabels * 2 {
                let s = try symbol(try b.uvarintInt())
                LabelBlob.appendUvarint(&blob, s.count)
                blob.append(contentsOf: s)
            }
            chunks.removeAll(keepingCapacity: true)
            let nChunks = try b.uvarintInt()
            var maxt: Int64 = 0
            var ref: UInt64 = 0
            guard nChunks <= body.count else { throw StorageError(.corrupt, "\(file.path): series \(ref) is malformed") }
            for i in 0 ..< nChunks {
                let mint = i == 0 ? try b.varint() : maxt &+ Int64(bitPattern: try b.uvarint())
                maxt = mint &+ Int64(bitPattern: try b.uvarint())
                guard maxt >= mint else { throw StorageError(.corrupt, "\(file.path): series \(ref) has a chunk that ends before it starts") }
                ref = i == 0 ? try b.uvarint() : ref &+ UInt64(bitPattern: try b.varint())
                chunks.append(ChunkMeta(mint: mint, maxt: maxt, ref: ref))
            }
            return Labels(canonicalBytes: blob)
        } catch let e as StorageError { throw e } catch {
            throw StorageError(.corrupt, "\(file.path): series \(ref) is malformed")
        }
    }
}
