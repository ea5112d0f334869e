import StrataEncoding
import StrataStorage

/// A chunk as a block's index points at it: time range (maxt inclusive) and `BlockChunkRef`.
public struct ChunkMeta: Sendable, Equatable {
    public var mint: Int64
    public var maxt: Int64
    /// `segment index (0-based position in chunks/) << 32 | byte offset`.
    public var ref: UInt64
}

/// Writes a block's `chunks/000001…` segment files (tsdb/chunks/chunks.go): an 8-byte header,
/// then `len uvarint | encoding | data | CRC32C(encoding + data)` per chunk, 512 MiB per segment.
public final class ChunkSegmentWriter {
    public static let magic: UInt32 = 0x85BD_40DD
    public static let headerSize = 8
    public static let defaultSegmentSize = 512 << 20

    public let dir: String
    public let segmentSize: Int
    private var file: FileWriter?
    private var segment = -1
    private(set) var segmentCount = 0
    private var scratch: [UInt8] = []

    public init(dir: String, segmentSize: Int = ChunkSegmentWriter.defaultSegmentSize) throws {
        self.dir = dir
        self.segmentSize = segmentSize
        try FileSystem.mkdirAll(dir)
    }

    public static func segmentName(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 6 - s.count)) + s
    }

    /// Writes one chunk and returns its ref.
    public func write(encoding: UInt8, data: UnsafeRawBufferPointer) throws -> UInt64 {
        scratch.removeAll(keepingCapacity: true)
        Varint.appendUvarint(&scratch, UInt64(data.count))
        let recordSize = scratch.count + 1 + data.count + 4
        if file == nil || file!.position + recordSize > segmentSize && file!.position > Self.headerSize {
            try cut()
        }
        let f = file!
        let offset = f.position
        scratch.append(encoding)
        scratch.append(contentsOf: data)
        let crc = scratch.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[($0.count - data.count - 1)...])) }
        Varint.appendBE32(&scratch, crc)
        try f.write(scratch)
        return UInt64(segment) << 32 | UInt64(offset)
    }

    private func cut() throws {
        try file?.close()
        segment += 1
        let f = try FileWriter(path: dir + "/" + Self.segmentName(segment + 1))
        var header: [UInt8] = []
        Varint.appendBE32(&header, Self.magic)
        header += [1, 0, 0, 0]
        try f.write(header)
        file = f
        segmentCount = segment + 1
    }

    /// Closes (and fsyncs) the last segment and the directory.
    public func close() throws {
        try file?.close()
        file = nil
        try FileSystem.syncDir(dir)
    }
}

/// Reads chunks of a block's segment files through memory maps.
public final class ChunkSegmentReader: @unchecked Sendable {
    public let segments: [MappedFile]

    public init(dir: String) throws {
        let names = try FileSystem.list(dir).filter { $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }.sorted()
        segments = try names.map { try MappedFile(path: dir + "/" + $0) }
        for s in segments {
            var r = ByteReader(s.bytes)
            guard s.bytes.count >= ChunkSegmentWriter.headerSize, (try? r.be32()) == ChunkSegmentWriter.magic else {
                throw StorageError(.corrupt, "\(s.path): not a chunk segment (bad magic)")
            }
            guard s.bytes[4] == 1 else { throw StorageError(.unsupported, "\(s.path): unsupported chunk segment version \(s.bytes[4])") }
        }
    }

    public var totalBytes: Int { segments.reduce(0) { $0 + $1.bytes.count } }

    /// The chunk's encoding and data (a slice of the map: valid while this reader lives).
    public func chunk(_ ref: UInt64) throws -> (encoding: UInt8, data: UnsafeRawBufferPointer) {
        let seg = Int(ref >> 32), off = Int(ref & 0xFFFF_FFFF)
        guard seg < segments.count else { throw StorageError(.notFound, "chunk ref \(ref): segment \(seg) does not exist") }
        let buf = segments[seg].bytes
        guard off >= ChunkSegmentWriter.headerSize, off < buf.count else { throw StorageError(.corrupt, "chunk ref \(ref): offset out of range") }
        var r = ByteReader(buf, offset: off)
        do {
            let len = try r.uvarintInt()
            let enc = try r.byte()
            let data = try r.bytes(len)
            return (enc, data)
        } catch {
            throw StorageError(.corrupt, "\(segments[seg].path): chunk at \(off) is truncated")
        }
    }
}
