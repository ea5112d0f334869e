import StrataEncoding
import StrataModel
import StrataStorage

/// A block's `tombstones` file (tsdb/tombstones/tombstones.go): deleted time ranges per series.
/// `magic 0x0130BA30 BE32 | version 1 | (seriesRef uvarint, mint varint, maxt varint)* | CRC32C`,
/// the CRC covering the entries only. Strata writes it empty and honours what it reads.
public enum Tombstones {
    public static let fileName = "tombstones"
    public static let magic: UInt32 = 0x0130_BA30

    public struct Interval: Sendable, Equatable {
        public var mint: Int64
        public var maxt: Int64
    }

    public static func encode(_ entries: [(ref: SeriesRef, Interval)]) -> [UInt8] {
        var b: [UInt8] = []
        Varint.appendBE32(&b, magic)
        b.append(1)
        var body: [UInt8] = []
        for (ref, iv) in entries.sorted(by: { $0.ref < $1.ref }) {
            Varint.appendUvarint(&body, ref)
            Varint.appendVarint(&body, iv.mint)
            Varint.appendVarint(&body, iv.maxt)
        }
        b += body
        Varint.appendBE32(&b, CRC32C.checksum(body))
        return b
    }

    public static func write(dir: String, _ entries: [(ref: SeriesRef, Interval)] = []) throws {
        let w = try FileWriter(path: dir + "/" + fileName)
        try w.write(encode(entries))
        try w.close()
    }

    /// Reads the file; a missing file means no tombstones.
    public static func read(dir: String) throws -> [SeriesRef: [Interval]] {
        let path = dir + "/" + fileName
        guard FileSystem.exists(path) else { return [:] }
        return try FileSystem.withMappedFile(path) { buf in
            guard buf.count >= 9 else { throw StorageError(.corrupt, "\(path): too short") }
            var r = ByteReader(buf)
            guard (try? r.be32()) == magic else { throw StorageError(.corrupt, "\(path): bad magic") }
            guard buf[4] == 1 else { throw StorageError(.unsupported, "\(path): unsupported version \(buf[4])") }
            let body = UnsafeRawBufferPointer(rebasing: buf[5 ..< buf.count - 4])
            var c = ByteReader(buf, offset: buf.count - 4)
            guard CRC32C.checksum(body) == (try? c.be32()) else { throw StorageError(.corrupt, "\(path): checksum mismatch") }
            var out: [SeriesRef: [Interval]] = [:]
            var e = ByteReader(body)
            do {
                while !e.isAtEnd {
                    let ref = try e.uvarint()
                    out[ref, default: []].append(Interval(mint: try e.varint(), maxt: try e.varint()))
                }
            } catch { throw StorageError(.corrupt, "\(path): malformed entry") }
            return out
        }
    }
}
