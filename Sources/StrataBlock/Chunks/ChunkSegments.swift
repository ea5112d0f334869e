import StrataEncoding
import StrataModel
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

/// Reads chunks from a block's segment files, each a `ByteSource` (memory maps for a local
/// block).
public final class ChunkSegmentReader<Source: ByteSource>: @unchecked Sendable {
    public let segments: [Source]

    public init(segments: [Source]) throws {
        self.segments = segments
        for s in segments {
            guard s.count >= ChunkSegmentWriter.headerSize else { throw StorageError(.corrupt, "\(s.name): not a chunk segment (too short)") }
            let (magic, version) = try s.withBytes(0 ..< 5) { b in (UInt32(bigEndian: b.loadUnaligned(as: UInt32.self)), b[4]) }
            guard magic == ChunkSegmentWriter.magic else { throw StorageError(.corrupt, "\(s.name): not a chunk segment (bad magic)") }
            guard version == 1 else { throw StorageError(.unsupported, "\(s.name): unsupported chunk segment version \(version)") }
        }
    }

    public var totalBytes: Int { segments.reduce(0) { $0 + $1.count } }

    /// Calls `body` with the chunk's encoding and data (valid only during the call).
    public func withChunk<R>(_ ref: UInt64, _ body: (UInt8, UnsafeRawBufferPointer) throws -> R) throws -> R {
        let seg = Int(ref >> 32), off = Int(ref & 0xFFFF_FFFF)
        guard seg < segments.count else { throw StorageError(.corrupt, "chunk ref \(ref): segment \(seg) does not exist") }
        let source = segments[seg]
        guard off >= ChunkSegmentWriter.headerSize, off < source.count else { throw StorageError(.corrupt, "chunk ref \(ref): offset out of range") }
        // `len uvarint | encoding | data`: the header is at most 5 + 1 bytes.
        let (len, header) = try source.withBytes(off ..< min(off + 6, source.count)) { b -> (Int, Int) in
            var i = 0
            guard let len = LabelBlob.readUvarintChecked(b, &i), i < b.count else {
                throw StorageError(.corrupt, "\(source.name): chunk at \(off) is truncated")
            }
            return (len, i)
        }
        return try source.withChecked(off + header ..< off + header + 1 + len, "chunk") { b in
            try body(b[0], UnsafeRawBufferPointer(rebasing: b[1...]))
        }
    }
}

extension ChunkSegmentReader where Source == MappedFile {
    /// Maps every segment file (`000001`, `000002`, …) of a local block's `chunks/` directory.
    public convenience init(dir: String) throws {
        let names = try FileSystem.list(dir).filter { $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }.sorted()
        try self.init(segments: names.map { try MappedFile(path: dir + "/" + $0) })
    }
}
