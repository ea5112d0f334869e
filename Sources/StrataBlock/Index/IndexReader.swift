import StrataEncoding
import StrataModel
import StrataStorage

/// Reads a block `index` (format V2) through a `ByteSource`: a memory map for local blocks,
/// ranged reads for a block in a bucket. Kept in memory: the offset of every symbol and, per
/// label name, the offsets of its postings-offset-table entries; strings and lists are read from
/// the source when asked for. Every offset read from the file is checked against its length, so
/// a damaged index is a `corrupt` error, never a crash.
public final class IndexReader<Source: ByteSource>: @unchecked Sendable {
    public let source: Source
    private(set) var symbolOffsets: [UInt64] = []
    /// Label name → (entry offsets in the postings offset table, postings list offsets), by value order.
    private var names: [ByteString: NameEntries] = [:] // by bytes, as Prometheus compares names
    private var allPostingsOffset: UInt64 = 0
    public let toc: IndexWriter.TOC

    struct NameEntries {
        /// Offset of each value's uvarint-str in the file (the table may lie beyond 4 GiB).
        var valueOffsets: [UInt64] = []
        var postingsOffsets: [UInt64] = []
    }

    public init(_ source: Source) throws {
        self.source = source
        let size = source.count
        let path = source.name
        guard size >= 5 + 52 else { throw StorageError(.corrupt, "\(path): index too short (\(size) bytes)") }
        let (magic, version) = try source.withBytes(0 ..< 5) { b in (UInt32(bigEndian: b.loadUnaligned(as: UInt32.self)), b[4]) }
        guard magic == IndexWriter.magic else { throw StorageError(.corrupt, "\(path): not an index file (bad magic)") }
        guard version == 2 else { throw StorageError(.unsupported, "\(path): unsupported index format version \(version) (only V2)") }

        // TOC: six BE64 offsets and a CRC over them.
        toc = try source.withBytes(size - 52 ..< size) { b in
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0 ..< 48])) == UInt32(bigEndian: b.loadUnaligned(fromByteOffset: 48, as: UInt32.self)) else {
                throw StorageError(.corrupt, "\(path): TOC checksum mismatch")
            }
            func at(_ i: Int) -> UInt64 { UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
            var t = IndexWriter.TOC()
            t.symbols = at(0); t.series = at(1); t.labelIndices = at(2)
            t.labelIndicesTable = at(3); t.postings = at(4); t.postingsTable = at(5)
            return t
        }
        do {
            try readSymbols()
            try readPostingsTable()
        } catch let e as StorageError { throw e } catch let e as DecodeError {
            throw StorageError(.corrupt, "\(path): malformed index: \(e)")
        } catch {
            throw StorageError.wrapping(error, path)
        }
    }

    /// Calls `body` with the payload of the `len BE32 | payload | CRC32` section at `offset` and
    /// the payload's own offset in the file, after checking the CRC.
    private func withSection<R>(at offset: UInt64, _ what: String, _ body: (UnsafeRawBufferPointer, Int) throws -> R) throws -> R {
        guard offset <= UInt64(source.count) else { throw StorageError(.corrupt, "\(source.name): \(what) offset out of range") }
        let start = Int(offset)
        let len = try source.withChecked(start ..< start + 4, what) { Int(UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self))) }
        return try source.withChecked(start + 4 ..< start + 8 + len, what) { b in
            let payload = UnsafeRawBufferPointer(rebasing: b[0 ..< len])
            guard CRC32C.checksum(payload) == UInt32(bigEndian: b.loadUnaligned(fromByteOffset: len, as: UInt32.self)) else {
                throw StorageError(.corrupt, "\(source.name): \(what) checksum mismatch")
            }
            return try body(payload, start + 4)
        }
    }

    private func readSymbols() throws {
        symbolOffsets = try withSection(at: toc.symbols, "symbol table") { payload, base in
            var r = ByteReader(payload)
            let n = Int(try r.be32())
            guard n <= payload.count else { throw StorageError(.corrupt, "\(source.name): symbol table is malformed") }
            var offsets: [UInt64] = []
            offsets.reserveCapacity(n)
            for _ in 0 ..< n {
                offsets.append(UInt64(base + r.offset))
                _ = try r.bytes(try r.uvarintInt())
            }
            return offsets
        }
    }

    private func readPostingsTable() throws {
        try withSection(at: toc.postingsTable, "postings offset table") { payload, base in
            var r = ByteReader(payload)
            let n = Int(try r.be32())
            var lastName: UnsafeRawBufferPointer?
            var current = NameEntries()
            var currentName = ByteString("")
            for i in 0 ..< n {
                guard try r.uvarint() == 2 else { throw StorageError(.corrupt, "\(source.name): postings offset table entry with key count other than 2") }
                let name = try r.bytes(try r.uvarintInt())
                let valueOffset = base + r.offset
                _ = try r.bytes(try r.uvarintInt())
                let off = try r.uvarint()
                if i == 0 && name.isEmpty { allPostingsOffset = off; continue }
                if lastName == nil || !lastName!.elementsEqual(name) {
                    if lastName != nil { names[currentName] = current }
                    current = NameEntries()
                    currentName = ByteString(String(decoding: name, as: UTF8.self))
                    lastName = name
                }
                current.valueOffsets.append(UInt64(valueOffset))
                current.postingsOffsets.append(off)
            }
            if lastName != nil { names[currentName] = current }
        }
    }

    // MARK: symbols and strings

    /// Calls `body` with the bytes of the `uvarint len | bytes` string at `offset`.
    private func withString<R>(at offset: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let start = Int(offset)
        let (len, header) = try source.withChecked(start ..< min(start + 10, source.count), "string") { b -> (Int, Int) in
            var i = 0
            guard let len = LabelBlob.readUvarintChecked(b, &i) else { throw StorageError(.corrupt, "\(source.name): string at \(start) is malformed") }
            return (len, i)
        }
        return try source.withChecked(start + header ..< start + header + len, "string", body)
    }

    private func string(at offset: UInt64) throws -> String { try withString(at: offset) { String(decoding: $0, as: UTF8.self) } }

    /// Appends symbol `index` as a `uvarint len | bytes` label-blob entry.
    private func appendSymbol(_ index: Int, to blob: inout [UInt8]) throws {
        guard index < symbolOffsets.count else { throw StorageError(.corrupt, "\(source.name): symbol \(index) out of range") }
        try withString(at: symbolOffsets[index]) { s in
            LabelBlob.appendUvarint(&blob, s.count)
            blob.append(contentsOf: s)
        }
    }

    public var symbolCount: Int { symbolOffsets.count }

    /// Every symbol's bytes, in table order (sorted bytewise).
    public func allSymbolBytes() throws -> [[UInt8]] { try symbolOffsets.map { try withString(at: $0) { Array($0) } } }

    public func labelNames() -> [String] { names.keys.map(\.string) }

    public func labelValues(_ name: String) throws -> [String] {
        guard let e = names[ByteString(name)] else { return [] }
        return try e.valueOffsets.map(string(at:))
    }

    // MARK: postings

    private func postingsList(at offset: UInt64) throws -> [SeriesRef] {
        guard offset < UInt64(source.count) else { throw StorageError(.corrupt, "\(source.name): postings list offset \(offset) out of range") }
        let start = Int(offset)
        let (len, n) = try source.withChecked(start ..< start + 8, "postings list") { b in
            (Int(UInt32(bigEndian: b.loadUnaligned(as: UInt32.self))), Int(UInt32(bigEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
        }
        guard len >= 4, n * 4 + 4 == len else { throw StorageError(.corrupt, "\(source.name): postings list at \(offset) is malformed") }
        return try source.withChecked(start + 8 ..< start + 8 + 4 * n, "postings list") { b in
            [SeriesRef](unsafeUninitializedCapacity: n) { out, count in
                for i in 0 ..< n { out[i] = SeriesRef(UInt32(bigEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                count = n
            }
        }
    }

    public func allPostings() throws -> [SeriesRef] { try postingsList(at: allPostingsOffset) }

    public func postings(_ name: String, _ value: String) throws -> [SeriesRef] {
        guard let e = names[ByteString(name)] else { return [] }
        var lo = 0, hi = e.valueOffsets.count
        var value = value
        let found: Int = try value.withUTF8 { v in
            while lo < hi {
                let mid = (lo + hi) / 2
                let cmp = try withString(at: e.valueOffsets[mid]) { LabelBlob.compareBytes($0, UnsafeRawBufferPointer(v)) }
                if cmp == 0 { return mid }
                if cmp < 0 { lo = mid + 1 } else { hi = mid }
            }
            return -1
        }
        if found < 0 { return [] }
        return try postingsList(at: e.postingsOffsets[found])
    }

    /// Union of the postings of every value of `name` that `keep` accepts.
    public func postings(_ name: String, where keep: (String) -> Bool, interrupt: (() throws -> Void)?) throws -> [SeriesRef] {
        guard let e = names[ByteString(name)] else { return [] }
        var lists: [[SeriesRef]] = []
        for (i, vo) in e.valueOffsets.enumerated() {
            if i & 1023 == 0 { try interrupt?() }
            if keep(try string(at: vo)) { lists.append(try postingsList(at: e.postingsOffsets[i])) }
        }
        return Postings.union(lists)
    }

    // MARK: series

    /// The labels and chunk metas of series `ref` (its offset / 16).
    public func series(_ ref: SeriesRef, chunks: inout [ChunkMeta]) throws -> Labels {
        guard ref < UInt64(source.count) / 16 else { throw StorageError(.corrupt, "\(source.name): series \(ref) out of range") }
        let offset = Int(ref) * 16
        let (len, header) = try source.withChecked(offset ..< min(offset + 10, source.count), "series") { b -> (Int, Int) in
            var i = 0
            guard let len = LabelBlob.readUvarintChecked(b, &i) else { throw StorageError(.corrupt, "\(source.name): series \(ref) is malformed") }
            return (len, i)
        }
        return try source.withChecked(offset + header ..< offset + header + len + 4, "series") { b in
            let body = UnsafeRawBufferPointer(rebasing: b[0 ..< len])
            guard CRC32C.checksum(body) == UInt32(bigEndian: b.loadUnaligned(fromByteOffset: len, as: UInt32.self)) else {
                throw StorageError(.corrupt, "\(source.name): series \(ref) checksum mismatch")
            }
            do {
                return try decodeSeries(body, ref, chunks: &chunks)
            } catch is DecodeError {
                throw StorageError(.corrupt, "\(source.name): series \(ref) is malformed")
            }
        }
    }

    private func decodeSeries(_ body: UnsafeRawBufferPointer, _ ref: SeriesRef, chunks: inout [ChunkMeta]) throws -> Labels {
        var b = ByteReader(body)
        let nLabels = try b.uvarintInt()
        guard nLabels <= body.count else { throw StorageError(.corrupt, "\(source.name): series \(ref) is malformed") }
        var blob: [UInt8] = []
        blob.reserveCapacity(nLabels * 16)
        for _ in 0 ..< nLabels * 2 { try appendSymbol(try b.uvarintInt(), to: &blob) }
        chunks.removeAll(keepingCapacity: true)
        let nChunks = try b.uvarintInt()
        guard nChunks <= body.count else { throw StorageError(.corrupt, "\(source.name): series \(ref) is malformed") }
        var maxt: Int64 = 0
        var chunkRef: UInt64 = 0
        for i in 0 ..< nChunks {
            let mint = i == 0 ? try b.varint() : maxt &+ Int64(bitPattern: try b.uvarint())
            maxt = mint &+ Int64(bitPattern: try b.uvarint())
            guard maxt >= mint else { throw StorageError(.corrupt, "\(source.name): series \(ref) has a chunk that ends before it starts") }
            chunkRef = i == 0 ? try b.uvarint() : chunkRef &+ UInt64(bitPattern: try b.varint())
            chunks.append(ChunkMeta(mint: mint, maxt: maxt, ref: chunkRef))
        }
        return Labels(canonicalBytes: blob)
    }
}

extension IndexReader where Source == MappedFile {
    /// Opens the index file at `path` through a memory map.
    public convenience init(path: String) throws { try self.init(try MappedFile(path: path)) }
}
