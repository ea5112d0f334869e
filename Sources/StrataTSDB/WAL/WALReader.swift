import StrataBlock
import StrataEncoding

/// Where and why reading the WAL stopped early. `offset` is the end of the last complete record in
/// `segment`: everything before it is good.
public struct WALCorruption: Error, CustomStringConvertible, Sendable {
    public let segment: Int
    public let offset: Int
    public let reason: String
    public var description: String { "WAL segment \(segment) is corrupt at offset \(offset): \(reason)" }
}

/// Reads records from WAL segments in order, checking every fragment's CRC32C.
public struct WALReader {
    public let segments: [WALSegments.Segment]

    public init(segments: [WALSegments.Segment]) { self.segments = segments }

    public init(dir: String) throws { segments = try WALSegments.list(dir) }

    public struct Stats: Sendable { public var records = 0; public var bytes = 0 }

    /// Calls `body` with each record (decompressed, valid only during the call).
    public func forEachRecord(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Stats {
        var stats = Stats()
        var scratch: [UInt8] = []
        var decoded: [UInt8] = []
        for seg in segments {
            try FileSystem.withMappedFile(seg.path) { buf in
                stats.bytes += buf.count
                try Self.read(segment: seg.index, buf, &scratch, &decoded, dropReadPages: true) { rec in
                    stats.records += 1
                    try body(rec)
                }
            }
        }
        return stats
    }

    /// Reads the records of one segment's bytes `buf` in order, checking every fragment's CRC32C,
    /// and calls `emit` with each (decompressed, valid only during the call). `segment` is the
    /// segment's number, for the `WALCorruption` thrown at the first damaged fragment; `scratch`
    /// and `decoded` are buffers reused across calls. `pageSize` is the writer's page size
    /// (`WAL.pageSize`); the fuzz harness (Fuzz/) also reads with small pages, so inputs of a few
    /// KiB reach the page-boundary rules. `dropReadPages`, only for a buffer from
    /// `FileSystem.withMappedFile`, lets the pages of records already delivered leave memory every
    /// 16 MiB: replaying a WAL of 128 MiB segments would otherwise keep the whole segment
    /// resident on top of the head it builds.
    public static func read(segment: Int, _ buf: UnsafeRawBufferPointer, _ scratch: inout [UInt8], _ decoded: inout [UInt8],
                            pageSize: Int = WAL.pageSize, dropReadPages: Bool = false,
                            _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(pageSize > WAL.headerSize, "a page must hold a fragment header")
        var dropped = 0
        func delivered(upTo end: Int) {
            if dropReadPages && end - dropped >= 16 << 20 {
                FileSystem.dropMappedPages(buf, dropped ..< end)
                dropped = end
            }
        }
        var pos = 0
        var recordStart = 0       // where the record being assembled began
        var inRecord = false
        var compressed = false
        scratch.removeAll(keepingCapacity: true)
        func corrupt(_ why: String) -> WALCorruption { WALCorruption(segment: segment, offset: recordStart, reason: why) }

        while pos < buf.count {
            let pageEnd = (pos / pageSize + 1) * pageSize
            if pageEnd - pos < WAL.headerSize {
                // Too small for a header: the writer pads the rest of the page with zeros.
                for i in pos ..< min(pageEnd, buf.count) where buf[i] != 0 { throw corrupt("non-zero byte in page padding") }
                pos = pageEnd
                continue
            }
            let typeByte = buf[pos]
            let kind = typeByte & 0x07
            if kind == 0 {
                // Page terminator: the rest of the page must be zero.
                for i in pos ..< min(pageEnd, buf.count) where buf[i] != 0 { throw corrupt("non-zero byte in padded page") }
                pos = pageEnd
                continue
            }
            guard kind <= 4, typeByte & ~0x0F == 0 else { throw corrupt("invalid record type \(typeByte)") }
            guard pos + WAL.headerSize <= buf.count else { throw corrupt("torn fragment header") }
            let length = Int(buf[pos + 1]) << 8 | Int(buf[pos + 2])
            let crc = UInt32(buf[pos + 3]) << 24 | UInt32(buf[pos + 4]) << 16 | UInt32(buf[pos + 5]) << 8 | UInt32(buf[pos + 6])
            let dataStart = pos + WAL.headerSize
            guard dataStart + length <= pageEnd else { throw corrupt("fragment crosses a page boundary") }
            guard dataStart + length <= buf.count else { throw corrupt("torn fragment: \(dataStart + length - buf.count) bytes missing") }
            let data = UnsafeRawBufferPointer(rebasing: buf[dataStart ..< dataStart + length])
            guard CRC32C.checksum(data) == crc else { throw corrupt("checksum mismatch") }

            switch kind {
            case 1: // full
                if inRecord { throw corrupt("full fragment inside a record") }
                recordStart = pos
                compressed = typeByte & 0x08 != 0
                pos = dataStart + length
                try deliver(data, compressed, &decoded, emit, corrupt)
                recordStart = pos
                delivered(upTo: pos)
            case 2: // first
                if inRecord { throw corrupt("first fragment inside a record") }
                recordStart = pos
                inRecord = true
                compressed = typeByte & 0x08 != 0
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: data)
                pos = dataStart + length
            case 3, 4: // middle, last
                if !inRecord { throw corrupt("\(kind == 3 ? "middle" : "last") fragment without a first") }
                scratch.append(contentsOf: data)
                pos = dataStart + length
                if kind == 4 {
                    inRecord = false
                    try scratch.withUnsafeBytes { try deliver($0, compressed, &decoded, emit, corrupt) }
                    recordStart = pos
                    delivered(upTo: pos)
                }
            default:
                throw corrupt("invalid record type \(typeByte)")
            }
        }
        if inRecord { throw corrupt("record not finished at end of segment") }
    }

    private static func deliver(_ rec: UnsafeRawBufferPointer, _ compressed: Bool, _ decoded: inout [UInt8],
                                _ emit: (UnsafeRawBufferPointer) throws -> Void,
                                _ corrupt: (String) -> WALCorruption) throws {
        if !compressed { try emit(rec); return }
        do { try Snappy.decompress(rec, into: &decoded) } catch { throw corrupt("snappy: \(error)") }
        try decoded.withUnsafeBytes { try emit($0) }
    }
}

extension WALCorruption {
    /// Repairs the WAL as Prometheus does: keep everything before the corruption (truncate that
    /// segment there) and delete every later segment. Returns the bytes dropped.
    public func repair(dir: String, keepingFrom keep: Int = .max) throws -> Int {
        var dropped = 0
        for seg in try WALSegments.list(dir) where seg.index < keep {
            if seg.index == segment {
                let size = try FileSystem.size(seg.path)
                dropped += size - offset
                try FileSystem.truncate(seg.path, to: offset)
            } else if seg.index > segment {
                dropped += try FileSystem.size(seg.path)
                try FileSystem.remove(seg.path)
            }
        }
        try FileSystem.syncDir(dir)
        return dropped
    }
}
