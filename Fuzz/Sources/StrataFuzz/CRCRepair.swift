import StrataBlock
import StrataEncoding
import StrataModel

/// Recomputes the checksums a mutated input would otherwise fail, so the fuzzer explores the
/// decoding behind them. Each walks the layout as the reader does and gives up where it would.
enum CRCRepair {
    /// Every fragment of a WAL segment: `type u8 | len BE16 | CRC32C BE32 | data`.
    static func walSegment(_ b: inout [UInt8], pageSize: Int) {
        let header = 7
        var pos = 0
        while pos < b.count {
            let pageEnd = (pos / pageSize + 1) * pageSize
            if pageEnd - pos < header || b[pos] & 0x07 == 0 { pos = pageEnd; continue }
            guard pos + header <= b.count else { return }
            let length = Int(b[pos + 1]) << 8 | Int(b[pos + 2])
            let start = pos + header
            guard start + length <= min(pageEnd, b.count) else { return }
            putCRC(&b, start ..< start + length, at: pos + 3)
            pos = start + length
        }
    }

    /// A block index: the TOC, the symbol table and postings offset table sections
    /// (`len BE32 | payload | CRC32C`) and the series of the all-postings list
    /// (`uvarint len | body | CRC32C`, at `ref * 16`).
    static func index(_ b: inout [UInt8], maxSeries: Int = IndexHarness.maxSeries) {
        let n = b.count
        guard n >= 57 else { return }
        func be64(_ at: Int) -> UInt64 { b[at ..< at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        func section(_ offset: UInt64) {
            guard offset <= UInt64(n), Int(offset) + 4 <= n else { return }
            let start = Int(offset)
            let len = b[start ..< start + 4].reduce(0) { $0 << 8 | Int($1) }
            guard start + 8 + len <= n else { return }
            putCRC(&b, start + 4 ..< start + 4 + len, at: start + 4 + len)
        }
        section(be64(n - 52))        // symbols
        section(be64(n - 52 + 40))   // postings offset table
        putCRC(&b, n - 52 ..< n - 4, at: n - 4)
        guard let reader = try? IndexReader(InMemoryBytes(b, name: "fuzz")),
              let refs = try? reader.allPostings() else { return }
        for ref in refs.prefix(maxSeries) {
            guard ref < UInt64(n) / 16 else { continue }
            let offset = Int(ref) * 16
            var i = 0
            let len: Int? = b.withUnsafeBytes { LabelBlob.readUvarintChecked(UnsafeRawBufferPointer(rebasing: $0[offset ..< min(offset + 10, n)]), &i) }
            guard let len, offset + i + len + 4 <= n else { continue }
            putCRC(&b, offset + i ..< offset + i + len, at: offset + i + len)
        }
        putCRC(&b, n - 52 ..< n - 4, at: n - 4)
    }

    static func putCRC(_ b: inout [UInt8], _ range: Range<Int>, at: Int) {
        let crc = b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
        b[at] = UInt8(crc >> 24); b[at + 1] = UInt8(crc >> 16 & 0xff)
        b[at + 2] = UInt8(crc >> 8 & 0xff); b[at + 3] = UInt8(crc & 0xff)
    }
}
