import StrataEncoding
import StrataModel
import StrataStorage

/// Writes a block `index` in Prometheus' format V2 (tsdb/index/index.go, docs/format/index.md):
/// header, symbol table, 16-byte aligned series, postings lists, postings offset table, TOC.
/// Like Prometheus ≥ 3.7 it writes no legacy label-index sections.
///
/// Series must be added in label order (`Labels.compare`); their ids are `offset / 16`, so ids
/// ascend in the same order and postings lists come out sorted without sorting.
public final class IndexWriter {
    public static let magic: UInt32 = 0xBAAA_D700
    public static let formatV2: UInt8 = 2

    private let file: FileWriter
    /// Symbols as bytes: Swift `String` equality is Unicode-canonical ("é" NFC == NFD), which
    /// would fold distinct label values into one symbol.
    private let symbols: [[UInt8]]
    private let symbolIndex: [[UInt8]: UInt32]
    /// (name symbol << 32 | value symbol) → series ids.
    private var postings: [UInt64: [UInt32]] = [:]
    private var allSeries: [UInt32] = []
    private var toc = TOC()
    private var lastLabels: Labels?
    private var body: [UInt8] = []
    private var entry: [UInt8] = []

    public struct TOC {
        var symbols: UInt64 = 0, series: UInt64 = 0, labelIndices: UInt64 = 0
        var labelIndicesTable: UInt64 = 0, postings: UInt64 = 0, postingsTable: UInt64 = 0
    }

    /// `symbols`: every label name and value used, deduplicated and sorted bytewise.
    public init(path: String, symbols: [[UInt8]]) throws {
        file = try FileWriter(path: path)
        self.symbols = symbols
        var index: [[UInt8]: UInt32] = [:]
        index.reserveCapacity(symbols.count)
        for (i, s) in symbols.enumerated() { index[s] = UInt32(i) }
        symbolIndex = index

        var header: [UInt8] = []
        Varint.appendBE32(&header, Self.magic)
        header.append(Self.formatV2)
        try file.write(header)
        try writeSymbols()
    }

    private func writeSymbols() throws {
        toc.symbols = UInt64(file.position)
        var b: [UInt8] = [0, 0, 0, 0] // length, patched below
        Varint.appendBE32(&b, UInt32(symbols.count))
        for s in symbols {
            Varint.appendUvarint(&b, UInt64(s.count))
            b.append(contentsOf: s)
        }
        let len = UInt32(b.count - 4)
        b[0] = UInt8(len >> 24); b[1] = UInt8(len >> 16 & 0xff); b[2] = UInt8(len >> 8 & 0xff); b[3] = UInt8(len & 0xff)
        Varint.appendBE32(&b, b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) })
        try file.write(b)
    }

    public func addSeries(_ labels: Labels, chunks: [ChunkMeta]) throws {
        if let last = lastLabels, Labels.compare(last, labels) >= 0 {
            throw StorageError(.invalid, "index: series \(labels) added after \(last) (out of order or duplicate)")
        }
        lastLabels = labels
        if toc.series == 0 { try file.pad(to: 16); toc.series = UInt64(file.position) }
        try file.pad(to: 16)
        let offset = file.position
        guard offset / 16 <= Int(UInt32.max) else { throw StorageError(.invalid, "index: series section exceeds 64 GiB") }
        let id = UInt32(offset / 16)

        body.removeAll(keepingCapacity: true)
        Varint.appendUvarint(&body, UInt64(labels.count))
        var missing: [UInt8]?
        labels.forEachRaw { nameBytes, valueBytes in
            let name = Array(nameBytes), value = Array(valueBytes)
            guard let n = symbolIndex[name], let v = symbolIndex[value] else { missing = missing ?? (symbolIndex[name] == nil ? name : value); return }
            Varint.appendUvarint(&body, UInt64(n))
            Varint.appendUvarint(&body, UInt64(v))
            postings[UInt64(n) << 32 | UInt64(v), default: []].append(id)
        }
        if let missing { throw StorageError(.invalid, "index: symbol \(goQuote(String(decoding: missing, as: UTF8.self))) not in the symbol table") }
        allSeries.append(id)

        Varint.appendUvarint(&body, UInt64(chunks.count))
        var prevMaxt: Int64 = 0, prevRef: UInt64 = 0
        for (i, c) in chunks.enumerated() {
            guard c.maxt >= c.mint else { throw StorageError(.invalid, "index: chunk of \(labels) ends (\(c.maxt)) before it starts (\(c.mint))") }
            if i == 0 {
                Varint.appendVarint(&body, c.mint)
            } else {
                guard c.mint > prevMaxt, c.ref > prevRef else { throw StorageError(.invalid, "index: chunks of \(labels) overlap or are out of order") }
                Varint.appendUvarint(&body, UInt64(c.mint - prevMaxt))
            }
            Varint.appendUvarint(&body, UInt64(c.maxt - c.mint))
            if i == 0 { Varint.appendUvarint(&body, c.ref) } else { Varint.appendVarint(&body, Int64(bitPattern: c.ref &- prevRef)) }
            prevMaxt = c.maxt; prevRef = c.ref
        }
        entry.removeAll(keepingCapacity: true)
        Varint.appendUvarint(&entry, UInt64(body.count))
        entry += body
        Varint.appendBE32(&entry, body.withUnsafeBytes { CRC32C.checksum($0) })
        try file.write(entry)
    }

    /// Writes postings, the postings offset table and the TOC, then fsyncs and closes the file.
    public func close() throws {
        if toc.series == 0 { try file.pad(to: 16); toc.series = UInt64(file.position) }
        try file.pad(to: 4)
        toc.postings = UInt64(file.position)
        toc.labelIndices = toc.postings
        // The all-postings list under the empty key comes first, then (name, value) in order;
        // symbol indices sort exactly as the strings do.
        var table: [(name: [UInt8], value: [UInt8], offset: UInt64)] = []
        table.append(([], [], UInt64(file.position)))
        try writePostingsList(allSeries)
        for key in postings.keys.sorted() {
            table.append((symbols[Int(key >> 32)], symbols[Int(key & 0xFFFF_FFFF)], UInt64(file.position)))
            try writePostingsList(postings[key]!)
        }
        postings = [:]

        toc.postingsTable = UInt64(file.position)
        toc.labelIndicesTable = toc.postingsTable
        var b: [UInt8] = [0, 0, 0, 0]
        Varint.appendBE32(&b, UInt32(table.count))
        for e in table {
            b.append(2)
            Varint.appendUvarint(&b, UInt64(e.name.count)); b.append(contentsOf: e.name)
            Varint.appendUvarint(&b, UInt64(e.value.count)); b.append(contentsOf: e.value)
            Varint.appendUvarint(&b, e.offset)
        }
        let len = UInt32(b.count - 4)
        b[0] = UInt8(len >> 24); b[1] = UInt8(len >> 16 & 0xff); b[2] = UInt8(len >> 8 & 0xff); b[3] = UInt8(len & 0xff)
        Varint.appendBE32(&b, b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) })
        try file.write(b)

        var t: [UInt8] = []
        for v in [toc.symbols, toc.series, toc.labelIndices, toc.labelIndicesTable, toc.postings, toc.postingsTable] {
            Varint.appendBE64(&t, v)
        }
        Varint.appendBE32(&t, CRC32C.checksum(t))
        try file.write(t)
        try file.close()
    }

    private func writePostingsList(_ ids: [UInt32]) throws {
        var b: [UInt8] = []
        b.reserveCapacity(12 + ids.count * 4)
        Varint.appendBE32(&b, UInt32(4 + ids.count * 4))
        Varint.appendBE32(&b, UInt32(ids.count))
        for id in ids { Varint.appendBE32(&b, id) }
        Varint.appendBE32(&b, b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) })
        try file.write(b)
    }
}
