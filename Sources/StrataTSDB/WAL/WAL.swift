#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataBlock
import StrataEncoding
import Synchronization

/// When the WAL calls fsync, and so what a power loss can take (a process crash, `kill -9`, loses
/// nothing in any mode: records are in the kernel before a write is acknowledged).
public enum WALFsyncPolicy: Sendable, Equatable {
    /// fsync before every acknowledgement; concurrent requests share one fsync (group commit).
    case always
    /// fsync at most this often (ms) from a background loop; a power loss can take that much.
    case interval(Int64)
    /// fsync only when a segment is closed, as Prometheus does; a power loss can take the open segment.
    case segment
}

public struct WALOptions: Sendable {
    public var segmentSize = 128 << 20
    /// Compress records with snappy when that makes them smaller (Prometheus' default since 2.20).
    public var compress = true
    public var fsync: WALFsyncPolicy = .interval(1000)
    public init() {}
}

public struct WALError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
    static func errno(_ what: String) -> WALError { WALError("\(what): \(String(cString: strerror(Glibc.errno)))") }
}

/// Prometheus' write-ahead log format (`tsdb/wlog`): numbered segment files of 32 KiB pages holding
/// CRC32C-checked record fragments. Appends only; every `log` call ends with the new bytes written
/// to the kernel, so a crash of the process loses nothing that `log` returned for.
public final class WAL: @unchecked Sendable {
    public static let pageSize = 32 * 1024
    static let headerSize = 7

    public let dir: String
    public let options: WALOptions
    private let lock = Lock()
    private let syncLock = Lock() // serialises fsyncs; held without `lock`, so writers go on meanwhile
    private let flushLock = Lock() // one group writer at a time; appends go on under `lock` meanwhile

    // Guarded by `lock`.
    private var fd: Int32 = -1
    public private(set) var segmentIndex: Int
    private var page: [UInt8]
    private var pageAlloc = 0
    private var pageFlushed = 0
    private var donePages = 0
    private var snappyScratch: [UInt8] = []
    private var writeSeq: UInt64 = 0   // bumps on every flush to the kernel
    private var appendSeq: UInt64 = 0  // bumps on every `log` call
    private var flushedSeq: UInt64 = 0 // the last `log` call whose bytes are all in the kernel
    private var syncedSeq: UInt64 = 0  // what the last fsync covered
    private var closed = false
    // Failure handling. After a failed write (a full disk) the file may end inside a record and
    // the buffer holds records nobody will acknowledge. The next `log` first cuts the segment back
    // to the last point where every record was whole, so the log never holds a torn record ahead
    // of later ones (replay would stop there and drop everything after it).
    private var broken = false
    private var goodSegment = -1      // segment and offset of the last whole-record flush
    private var goodOffset = 0
    private var epoch: UInt64 = 0     // bumps on every cut: records buffered before it are gone
    /// Series records buffered since the last whole-record flush: a cut must write them again,
    /// since their series exist in the head whether or not the write that created them failed.
    private var unflushedSeries: [(bytes: [UInt8], compressed: Bool)] = []

    /// Counters for /metrics (read without the lock: approximate while writes go on).
    public let stats = WALStats()

    /// Opens the WAL in `dir` and starts a new segment after the last existing one (as Prometheus
    /// does, so a torn tail of an old segment is never appended to).
    public init(dir: String, options: WALOptions = WALOptions()) throws {
        precondition(options.segmentSize % Self.pageSize == 0 && options.segmentSize >= 2 * Self.pageSize)
        self.dir = dir
        self.options = options
        try FileSystem.mkdirAll(dir)
        let existing = try WALSegments.list(dir)
        segmentIndex = (existing.last?.index ?? -1) + 1
        page = [UInt8](repeating: 0, count: Self.pageSize)
        try openSegment(segmentIndex)
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    private func openSegment(_ index: Int) throws {
        let path = WALSegments.path(dir, index)
        let f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard f >= 0 else { throw WALError.errno("create WAL segment \(path)") }
        fd = f
        try FileSystem.syncDir(dir)
    }

    /// Writes records in order and hands them to the kernel before returning. With the `always`
    /// policy it also waits for an fsync covering them.
    public func log(_ records: [[UInt8]]) throws {
        if records.isEmpty { return }
        // Compress before taking the lock, so concurrent requests compress in parallel.
        let prepared = records.map(prepare)
        let (mine, myEpoch): (UInt64, UInt64) = try lock.withLock {
            guard !closed else { throw WALError("WAL is closed") }
            try recoverIfBroken()
            do {
                for (bytes, compressed) in prepared { try bytes.withUnsafeBytes { try logRecord($0, compressed: compressed) } }
            } catch { broken = true; throw error }
            appendSeq &+= 1
            return (appendSeq, epoch)
        }
        // Group write: whoever gets here first writes every request's buffered bytes in one
        // write(2); the others find theirs already written and return without a syscall.
        let seq: UInt64 = try flushLock.withLock {
            try lock.withLock {
                if epoch != myEpoch { throw WALError("write-ahead log: an earlier write failed and this one was discarded") }
                if flushedSeq < mine {
                    do { if pageAlloc > pageFlushed { try flushPage(clear: false) } } catch { broken = true; throw error }
                    flushedSeq = appendSeq
                    // Every buffered record was whole (appends hold `lock`), so this is a safe point.
                    goodSegment = segmentIndex
                    goodOffset = donePages * Self.pageSize + pageFlushed
                    unflushedSeries.removeAll()
                }
                return writeSeq
            }
        }
        if case .always = options.fsync { try sync(upTo: seq) }
    }

    /// After a failed write: cuts the segment back to the last whole-record point (or opens the
    /// segment a failed rotation could not), drops what was buffered after it, and buffers the
    /// series records of that span again. Throws, staying broken, while the disk still refuses.
    private func recoverIfBroken() throws {
        guard broken else { return }
        // A failed rotation leaves no descriptor and a segment with nothing good in it yet.
        let target = goodSegment == segmentIndex ? goodOffset : 0
        if fd < 0 {
            try openSegment(segmentIndex)
        } else {
            guard ftruncate(fd, off_t(target)) == 0, lseek(fd, off_t(target), SEEK_SET) == off_t(target) else {
                throw WALError.errno("cut WAL segment \(segmentIndex) back after a failed write")
            }
        }
        donePages = target / Self.pageSize
        pageAlloc = target % Self.pageSize
        pageFlushed = pageAlloc
        for i in pageAlloc ..< Self.pageSize { page[i] = 0 }
        epoch &+= 1
        broken = false
        stats.writeFailures.add(1, ordering: .relaxed)
        do {
            for r in unflushedSeries { try r.bytes.withUnsafeBytes { try logRecord($0, compressed: r.compressed) } }
        } catch { broken = true; throw error }
    }

    /// The record as it will be stored: snappy-compressed when enabled and smaller.
    private func prepare(_ record: [UInt8]) -> (bytes: [UInt8], compressed: Bool) {
        guard options.compress && record.count > 64 else { return (record, false) }
        let c = Snappy.compress(record)
        return c.count < record.count ? (c, true) : (record, false)
    }

    /// Buffers a record without flushing (it reaches the kernel with the next `log`). Used for
    /// series records, which must precede any samples record that references them.
    public func logBuffered(_ record: UnsafeRawBufferPointer) throws {
        let (bytes, compressed) = prepare(Array(record))
        try lock.withLock {
            guard !closed else { throw WALError("WAL is closed") }
            try recoverIfBroken()
            do { try bytes.withUnsafeBytes { try logRecord($0, compressed: compressed) } } catch { broken = true; throw error }
            unflushedSeries.append((bytes, compressed))
        }
    }

    private func logRecord(_ rec: UnsafeRawBufferPointer, compressed: Bool) throws {
        if Self.pageSize - pageAlloc < Self.headerSize { try flushPage(clear: true) }
        do {
            // A record never crosses segments: start a new one if it does not fit in this one.
            let pagesPerSegment = options.segmentSize / Self.pageSize
            var left = Self.pageSize - pageAlloc - Self.headerSize
            left += (Self.pageSize - Self.headerSize) * (pagesPerSegment - donePages - 1)
            if rec.count > left { try nextSegment() }

            var rest = rec
            var first = true
            repeat {
                let l = min(rest.count, Self.pageSize - pageAlloc - Self.headerSize)
                let part = UnsafeRawBufferPointer(rebasing: rest[0 ..< l])
                var type: UInt8
                if first && l == rest.count { type = 1 }        // full
                else if l == rest.count { type = 4 }            // last
                else if first { type = 2 }                      // first
                else { type = 3 }                               // middle
                if compressed { type |= 0x08 }
                let crc = CRC32C.checksum(part)
                page[pageAlloc] = type
                page[pageAlloc + 1] = UInt8(l >> 8); page[pageAlloc + 2] = UInt8(l & 0xff)
                page[pageAlloc + 3] = UInt8(crc >> 24); page[pageAlloc + 4] = UInt8((crc >> 16) & 0xff)
                page[pageAlloc + 5] = UInt8((crc >> 8) & 0xff); page[pageAlloc + 6] = UInt8(crc & 0xff)
                if l > 0 {
                    page.withUnsafeMutableBytes { p in
                        p.baseAddress!.advanced(by: pageAlloc + Self.headerSize).copyMemory(from: part.baseAddress!, byteCount: l)
                    }
                }
                pageAlloc += l + Self.headerSize
                if Self.pageSize - pageAlloc < Self.headerSize { try flushPage(clear: true) }
                rest = UnsafeRawBufferPointer(rebasing: rest[l...])
                first = false
            } while rest.count > 0
        }
    }

    /// Writes the page's unwritten bytes; `clear` pads it to 32 KiB and starts a new page.
    private func flushPage(clear: Bool) throws {
        let full = clear || Self.pageSize - pageAlloc < Self.headerSize
        if full { pageAlloc = Self.pageSize }
        try page.withUnsafeBytes { p in
            var off = pageFlushed
            while off < pageAlloc {
                let n = write(fd, p.baseAddress!.advanced(by: off), pageAlloc - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    pageFlushed = off
                    throw WALError.errno("write WAL segment \(segmentIndex)")
                }
                off += n
            }
        }
        stats.bytesWritten.add(pageAlloc - pageFlushed, ordering: .relaxed)
        pageFlushed = pageAlloc
        writeSeq &+= 1
        if full {
            for i in 0 ..< Self.pageSize { page[i] = 0 }
            pageAlloc = 0
            pageFlushed = 0
            donePages += 1
        }
    }

    private func nextSegment() throws {
        if pageAlloc > 0 { try flushPage(clear: true) }
        // The closed segment is fsynced now under every policy: it will not change again.
        try stats.timedFsync(orThrow: WALError.errno("fsync WAL segment \(segmentIndex)")) { fsync(fd) == 0 }
        stats.segmentsCreated.add(1, ordering: .relaxed)
        _ = Glibc.close(fd)
        fd = -1 // until the next segment opens: a failed open must not leave a stale descriptor
        syncedSeq = writeSeq
        segmentIndex += 1
        donePages = 0
        try openSegment(segmentIndex)
    }

    /// Closes the current segment (padded, fsynced), starts the next, and returns the closed
    /// segment's index: everything logged so far is in segments up to it.
    public func rotate() throws -> Int {
        try lock.withLock {
            guard !closed else { throw WALError("WAL is closed") }
            try recoverIfBroken()
            let closedIndex = segmentIndex
            do { try nextSegment() } catch { broken = true; throw error }
            flushedSeq = appendSeq
            goodSegment = segmentIndex
            goodOffset = 0
            unflushedSeries.removeAll()
            return closedIndex
        }
    }

    /// fsync the current segment if anything was written since the last fsync.
    public func sync() throws { try sync(upTo: lock.withLock { writeSeq }) }

    /// Group commit: one caller fsyncs while the others wait on `syncLock`, then find their
    /// writes already covered and return without a second fsync.
    private func sync(upTo seq: UInt64) throws {
        try syncLock.withLock {
            // A duplicate descriptor stays valid even if a writer rotates (and closes) the segment
            // meanwhile; rotation fsyncs the old segment itself.
            let (f, current, done): (Int32, UInt64, Bool) = lock.withLock {
                syncedSeq >= seq || fd < 0 ? (-1, writeSeq, true) : (dup(fd), writeSeq, false)
            }
            if done { return }
            defer { _ = Glibc.close(f) }
            if f < 0 { throw WALError.errno("fsync WAL") }
            try stats.timedFsync(orThrow: WALError.errno("fsync WAL")) { fsync(f) == 0 }
            lock.withLock { if current > syncedSeq { syncedSeq = current } }
        }
    }

    /// Flushes and fsyncs the open segment and closes the WAL.
    public func close() throws {
        try lock.withLock {
            if closed { return }
            closed = true
            try recoverIfBroken()
            guard fd >= 0 else { return }
            if pageAlloc > pageFlushed { try flushPage(clear: false) }
            if fsync(fd) != 0 { throw WALError.errno("fsync WAL") }
            Glibc.close(fd)
            fd = -1
        }
    }
}

/// What the WAL has done since it was opened.
public final class WALStats: Sendable {
    public let bytesWritten = Atomic<Int>(0)
    public let fsyncs = Atomic<Int>(0)
    /// Total fsync time in nanoseconds.
    public let fsyncNanos = Atomic<Int>(0)
    public let segmentsCreated = Atomic<Int>(0)
    /// Writes that failed (a full disk, an I/O error) and were cut back out of the log.
    public let writeFailures = Atomic<Int>(0)

    func timedFsync(orThrow error: @autoclosure () -> WALError, _ op: () -> Bool) throws {
        let start = ContinuousClock.now
        let ok = op()
        let d = ContinuousClock.now - start
        fsyncs.add(1, ordering: .relaxed)
        fsyncNanos.add(Int(d.components.seconds) * 1_000_000_000 + Int(d.components.attoseconds / 1_000_000_000), ordering: .relaxed)
        if !ok { throw error() }
    }
}

/// Segment files: `dir/00000000`, 8 decimal digits.
public enum WALSegments {
    public struct Segment: Sendable { public let index: Int; public let path: String }

    public static func path(_ dir: String, _ index: Int) -> String {
        let s = String(index)
        return dir + "/" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    public static func list(_ dir: String) throws -> [Segment] {
        try FileSystem.list(dir).compactMap { name -> Segment? in
            guard name.count == 8, name.allSatisfy(\.isNumber), let i = Int(name) else { return nil }
            return Segment(index: i, path: dir + "/" + name)
        }.sorted { $0.index < $1.index }
    }
}
