#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataBlock
import StrataEncoding
import StrataModel

/// A snapshot of the whole head written on a clean shutdown, so the next start loads series and
/// chunks sequentially instead of re-appending every sample of the WAL. It covers WAL segments up
/// to and including `walSegment`; replay continues with the segments after it. The WAL itself is
/// left alone, so `promtool` and a start without the snapshot see the same data.
///
/// Layout (docs/format/head-snapshot.md): header `"STRHSNAP" | version 2 | walSegment BE64 |
/// series BE64 | CRC32C BE32 over the 25 bytes before it`, then per series
/// `len uvarint | body | CRC32C BE32(body)`, then the metric metadata (version 2; version 1
/// snapshots, which end after the series, are still read).
public enum HeadSnapshot {
    public static let fileName = "head.snapshot"
    static let magic = Array("STRHSNAP".utf8)

    public struct Loaded: Sendable {
        public var walSegment: Int
        public var series: Int
        public var samples: Int
        public var metadata = 0
    }

    static let version: UInt8 = 2

    /// Writes the snapshot as `<dir>/head.snapshot` (tmp file, fsync, rename). Everything logged
    /// in WAL segments up to `walSegment` must be in the head: call it with writes stopped (the WAL
    /// closed), or right after `WAL.rotate()` returned `walSegment`. Samples appended while the
    /// snapshot is written may or may not be in it; replay of the later segments skips the ones that are.
    public static func write(_ head: Head, dir: String, walSegment: Int) throws -> Int {
        // The periodic and the shutdown snapshot may overlap; they share the tmp file name.
        try writeLock.withLock { try writeLocked(head, dir: dir, walSegment: walSegment) }
    }

    private static let writeLock = Lock()

    private static func writeLocked(_ head: Head, dir: String, walSegment: Int) throws -> Int {
        let tmp = dir + "/" + fileName + ".tmp"
        let file = try FileWriter(path: tmp)
        var ok = false
        defer { if !ok { try? FileSystem.remove(tmp) } }

        var body: [UInt8] = []
        var entry: [UInt8] = []
        var count = 0
        try file.write(header(walSegment: walSegment, series: head.numSeries))
        // From the hash stripes: a series becomes visible there under the same lock that logs its
        // series record, so every series whose record is in a segment up to `walSegment` is here.
        // In ref order: loading then appends to the postings lists instead of inserting into them.
        for s in head.allSeries().sorted(by: { $0.ref < $1.ref }) {
            body.removeAll(keepingCapacity: true)
            head.stripe(of: s).lock.withLock { encode(s, into: &body) }
            entry.removeAll(keepingCapacity: true)
            Varint.appendUvarint(&entry, UInt64(body.count))
            entry += body
            Varint.appendBE32(&entry, body.withUnsafeBytes { CRC32C.checksum($0) })
            try file.write(entry)
            count += 1
        }
        // Metric metadata (remote write's, per family): without it `/api/v1/metadata` would be
        // empty after a restart until every sender resent its metadata.
        let metadata = head.metricMetadata
        entry.removeAll(keepingCapacity: true)
        Varint.appendUvarint(&entry, UInt64(metadata.count))
        for m in metadata {
            body.removeAll(keepingCapacity: true)
            encode(m, into: &body)
            Varint.appendUvarint(&entry, UInt64(body.count))
            entry += body
            Varint.appendBE32(&entry, body.withUnsafeBytes { CRC32C.checksum($0) })
        }
        try file.write(entry)
        // Patch the series count (series created while writing are not in the snapshot's count).
        try file.patch(at: 0, header(walSegment: walSegment, series: count))
        try file.close()
        ok = true
        try FileSystem.rename(tmp, dir + "/" + fileName)
        try FileSystem.syncDir(dir)
        return count
    }

    /// `"STRHSNAP" | version | walSegment BE64 | series BE64 | CRC32C of the 25 bytes before it`.
    static func header(walSegment: Int, series: Int) -> [UInt8] {
        var h: [UInt8] = magic + [version]
        Varint.appendBE64(&h, UInt64(walSegment))
        Varint.appendBE64(&h, UInt64(series))
        Varint.appendBE32(&h, h.withUnsafeBytes { CRC32C.checksum($0) })
        return h
    }

    /// `type 1 byte | name | help | unit`, each string `uvarint len | bytes`.
    static func encode(_ m: MetricMetadata, into b: inout [UInt8]) {
        b.append(m.type.rawValue)
        for text in [m.metricFamilyName, m.help, m.unit] {
            Varint.appendUvarint(&b, UInt64(text.utf8.count))
            b += text.utf8
        }
    }

    static func decodeMetadata(_ body: UnsafeRawBufferPointer) throws -> MetricMetadata {
        var r = ByteReader(body)
        do {
            let type = MetricMetadata.MetricType(rawValue: try r.byte()) ?? .unknown
            var texts: [String] = []
            for _ in 0 ..< 3 {
                let bytes = try r.bytes(try r.uvarintInt())
                guard let text = String(validating: bytes, as: UTF8.self) else { throw SnapshotError("metadata is not UTF-8") }
                texts.append(text)
            }
            guard r.isAtEnd else { throw SnapshotError("trailing bytes in a metadata entry") }
            return MetricMetadata(metricFamilyName: texts[0], type: type, help: texts[1], unit: texts[2])
        } catch let e as DecodeError {
            throw SnapshotError("truncated or malformed metadata entry: \(e)")
        }
    }

    static func encode(_ s: MemSeries, into b: inout [UInt8]) {
        Varint.appendBE64(&b, s.ref)
        s.withLabelBytes { labels in
            Varint.appendUvarint(&b, UInt64(labels.count))
            b.append(contentsOf: labels)
        }
        Varint.appendUvarint(&b, UInt64(s.closed.count))
        for c in s.closed {
            Varint.appendVarint(&b, c.mint)
            Varint.appendVarint(&b, c.maxt)
            Varint.appendUvarint(&b, UInt64(c.bytes.count))
            b += c.bytes
        }
        if s.headBytes.isEmpty { b.append(0); return }
        b.append(1)
        Varint.appendVarint(&b, s.headMint)
        Varint.appendVarint(&b, s.lastT)
        Varint.appendVarint(&b, s.nextAt)
        Varint.appendBE64(&b, s.lastValueBits)
        s.appender.encodeState(into: &b)
        Varint.appendUvarint(&b, UInt64(s.headBytes.count))
        b += s.headBytes
    }

    /// Loads `<dir>/head.snapshot` into an empty head. Returns nil when there is none; throws when it
    /// is unreadable (the caller then removes it and replays the whole WAL).
    public static func load(into head: Head, dir: String) throws -> Loaded? {
        let path = dir + "/" + fileName
        guard FileSystem.exists(path) else { return nil }
        return try FileSystem.withMappedFile(path) { buf -> Loaded in
            // Two passes: verify every checksum and label set first, so a damaged snapshot
            // changes nothing.
            let (seg, n, metadata) = try walk(buf) { try verifyEntry($0) }
            var samples = 0
            _ = try walk(buf) { body in samples += try decode(body, into: head) }
            for m in metadata { head.metadata.set(m) }
            return Loaded(walSegment: seg, series: n, samples: samples, metadata: metadata.count)
        }
    }

    /// How far a pass over the mapped snapshot reads before the pages behind it are dropped.
    static let dropInterval = 16 << 20

    /// The snapshot's header fields and metadata; calls `body` with each verified series entry.
    static func walk(_ buf: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> (Int, Int, [MetricMetadata]) {
        var r = ByteReader(buf)
        do {
            let m = try r.bytes(8)
            let v = try r.byte()
            guard m.elementsEqual(magic), v == 1 || v == 2 else { throw SnapshotError("not a head snapshot (version 1 or 2)") }
            let seg = try r.be64Int()
            let n = try r.be64Int()
            let crc = try r.be32()
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[0 ..< 25])) == crc else { throw SnapshotError("header checksum mismatch") }
            // Each pass reads the file once: the pages behind it leave memory as it goes, so a
            // restore peaks at the head it builds, not the head plus the whole mapped file.
            var dropped = 0
            for _ in 0 ..< n {
                let len = try r.uvarintInt()
                let entry = try r.bytes(len)
                guard CRC32C.checksum(entry) == (try r.be32()) else { throw SnapshotError("series checksum mismatch at offset \(r.offset)") }
                try body(entry)
                if r.offset - dropped >= dropInterval {
                    FileSystem.dropMappedPages(buf, dropped ..< r.offset)
                    dropped = r.offset
                }
            }
            var metadata: [MetricMetadata] = []
            if v >= 2 {
                for _ in 0 ..< (try r.uvarintInt()) {
                    let entry = try r.bytes(try r.uvarintInt())
                    guard CRC32C.checksum(entry) == (try r.be32()) else { throw SnapshotError("metadata checksum mismatch at offset \(r.offset)") }
                    metadata.append(try decodeMetadata(entry))
                }
            }
            guard r.isAtEnd else { throw SnapshotError("trailing bytes after \(n) series") }
            return (seg, n, metadata)
        } catch let e as DecodeError {
            throw SnapshotError("truncated or malformed: \(e)")
        }
    }

    /// A checksum only proves the bytes are the ones that were written; the head indexes and
    /// compares label blobs by their structure, and a series reads its open chunk's first time
    /// from the chunk, so both are checked before anything is applied (a snapshot refused then
    /// leaves the head untouched for the WAL replay that follows).
    static func verifyEntry(_ body: UnsafeRawBufferPointer) throws {
        var r = ByteReader(body)
        do {
            let ref = try r.be64()
            let labels = try r.bytes(try r.uvarintInt())
            if let why = LabelValidation.validate(labels, requireMetricName: false) { throw SnapshotError("series \(ref): \(why)") }
            for _ in 0 ..< (try r.uvarintInt()) {
                _ = try r.varint(); _ = try r.varint()
                _ = try r.bytes(try r.uvarintInt())
            }
            guard try r.byte() == 1 else { return }
            let headMint = try r.varint()
            _ = try r.varint(); _ = try r.varint(); _ = try r.be64()
            _ = try XORAppender(decodingState: &r)
            guard XORChunk.firstTimestamp(try r.bytes(try r.uvarintInt())) == headMint else {
                throw SnapshotError("series \(ref): open chunk does not start at \(headMint)")
            }
        } catch let e as DecodeError {
            throw SnapshotError("truncated or malformed series entry: \(e)")
        }
    }

    static func decode(_ body: UnsafeRawBufferPointer, into head: Head) throws -> Int {
        var r = ByteReader(body)
        let ref = try r.be64()
        let labels = try r.bytes(try r.uvarintInt())
        let s = try head.getOrCreate(hash: head.labelHash(labels), labels: labels, ref: ref)
        guard s.ref == ref else { throw SnapshotError("series \(ref) appears twice") }
        var samples = 0
        let closedCount = try r.uvarintInt()
        s.closed.reserveCapacity(closedCount)
        for _ in 0 ..< closedCount {
            let mint = try r.varint(), maxt = try r.varint()
            let bytes = Array(try r.bytes(try r.uvarintInt()))
            samples += XORChunk.sampleCount(bytes)
            s.closed.append(ClosedChunk(mint: mint, maxt: maxt, bytes: bytes))
        }
        if try r.byte() == 1 {
            _ = try r.varint()   // head_mint: the chunk's first time (checked by verifyEntry)
            let lastT = try r.varint()
            s.nextAt = try r.varint()
            let lastValueBits = try r.be64()
            s.appender = try XORAppender(decodingState: &r)
            (s.lastT, s.lastValueBits) = (lastT, lastValueBits)   // the appender holds them
            s.headBytes = Array(try r.bytes(try r.uvarintInt()))
            samples += XORChunk.sampleCount(s.headBytes)
        } else if let last = s.closed.last {
            s.lastT = last.maxt
        }
        if s.lastT != .min {
            head.noteTimes(min: s.closed.first?.mint ?? s.headMint, max: s.lastT)
        }
        return samples
    }

    public struct SnapshotError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// The WAL segment a snapshot covers, from its header only.
    public static func peekSegment(dir: String) throws -> Int? {
        let path = dir + "/" + fileName
        guard FileSystem.exists(path) else { return nil }
        return try FileSystem.withMappedFile(path) { buf -> Int? in
            guard buf.count >= 25, buf[0 ..< 8].elementsEqual(magic) else { return nil }
            var r = ByteReader(buf, offset: 9)
            return try r.be64Int()
        }
    }

    public static func remove(dir: String) throws { try FileSystem.remove(dir + "/" + fileName) }
}
