import StrataBlock
import StrataModel
import StrataStorage

/// A chunk that is complete and never changes again.
public struct ClosedChunk: Sendable {
    public let mint: Int64
    public let maxt: Int64
    public let bytes: [UInt8]

    @inline(__always)
    func overlaps(mint: Int64, maxt: Int64) -> Bool { self.maxt >= mint && self.mint <= maxt }
}

/// The chunks of a head series a reader took: the open chunk's bytes alone, or a list. One
/// word either way (the case sits in the reference's spare bits).
enum HeadChunks: Sendable {
    case open([UInt8])
    case list([ClosedChunk])
}

/// One series in the head: its state, and its label blob after it in the same allocation.
///
/// A label set of its own would be a Swift array: a 32-byte header and a malloc chunk of its
/// own (128 bytes for the ~75 bytes of a typical set); after the record it costs its bytes. At a
/// million series that is 48 MiB. Readers that need a `Labels` get a copy (`labels`); lookups,
/// hashing, sorting and the snapshot read the bytes in place (`withLabelBytes`).
///
/// All mutable state is guarded by the lock of the hash stripe the series lives in; nothing
/// here is touched without it. The label bytes never change. (`ManagedBuffer` cannot be
/// `Sendable`; the types that carry a series across threads are `@unchecked Sendable` for it.)
final class MemSeries: ManagedBuffer<MemSeries.State, UInt8> {
    struct State {
        let ref: SeriesRef
        var closed: [ClosedChunk] = []
        var headBytes: [UInt8] = []
        /// The open chunk's encoder, which also keeps the newest sample (`lastT`, `lastValueBits`)
        /// across chunks.
        var appender = XORAppender(lastT: .min)
        // The flags and the stripe sit in the appender's 29 bytes' tail, the newest sample lives
        // in the appender, and the label hash and the open chunk's first time are derived: 84
        // bytes, the label blob right after them.
        var flags: UInt8 = 0
        let stripe: UInt16
        var nextAt: Int64 = .min
        var stagedT: Int64 = .min
        var stagedValueBits: UInt64 = 0
        /// Bytes of the label blob after the record.
        let labelByteCount: UInt32
    }

    /// A new series with a copy of the label blob `labels`. `hash` is the head's `labelHash` of
    /// the labels, `stripeMask` its stripe count − 1.
    static func make(ref: SeriesRef, hash: UInt64, labels: UnsafeRawBufferPointer, stripeMask: Int = 0xFFFF) -> MemSeries {
        precondition(stripeMask <= Int(UInt16.max))
        precondition(labels.count <= Int(UInt32.max), "label set of \(labels.count) bytes")
        let stripe = UInt16(truncatingIfNeeded: Int(truncatingIfNeeded: hash) & stripeMask)
        let buffer = create(minimumCapacity: labels.count) { _ in
            State(ref: ref, stripe: stripe, labelByteCount: UInt32(labels.count))
        }
        let series = unsafeDowncast(buffer, to: MemSeries.self)
        if let source = labels.baseAddress {
            series.withUnsafeMutablePointerToElements { $0.initialize(from: source.assumingMemoryBound(to: UInt8.self), count: labels.count) }
        }
        return series
    }

    static func make(ref: SeriesRef, hash: UInt64, labels: Labels, stripeMask: Int = 0xFFFF) -> MemSeries {
        labels.bytes.withUnsafeBytes { make(ref: ref, hash: hash, labels: $0, stripeMask: stripeMask) }
    }

    /// The label blob, in place, for the duration of `body`.
    @inline(__always)
    func withLabelBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let count = Int(header.labelByteCount)
        return try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    /// A copy of the label set (an allocation: hot paths read `withLabelBytes`).
    var labels: Labels { withLabelBytes { Labels(canonicalBytes: Array($0)) } }

    var ref: SeriesRef { header.ref }
    /// The hash stripe the series lives in (its lock guards everything mutable here).
    var stripe: UInt16 { header.stripe }

    var closed: [ClosedChunk] {
        get { header.closed }
        _modify { yield &header.closed }
    }
    var headBytes: [UInt8] {
        get { header.headBytes }
        _modify { yield &header.headBytes }
    }
    var appender: XORAppender {
        get { header.appender }
        _modify { yield &header.appender }
    }
    /// Timestamp at which the head chunk must be cut (Prometheus' `nextAt`).
    var nextAt: Int64 {
        get { header.nextAt }
        set { header.nextAt = newValue }
    }
    /// Newest sample; `.min` when the series has none.
    var lastT: Int64 {
        get { header.appender.lastT }
        set { header.appender.lastT = newValue }
    }
    var lastValueBits: UInt64 {
        get { header.appender.lastValueBits }
        set { header.appender.lastValueBits = newValue }
    }
    /// Newest sample an appender has staged but not yet applied (`.min`: none). Appends check
    /// order against it too, and truncation keeps a series with staged samples.
    var stagedT: Int64 {
        get { header.stagedT }
        set { header.stagedT = newValue }
    }
    var stagedValueBits: UInt64 {
        get { header.stagedValueBits }
        set { header.stagedValueBits = newValue }
    }
    private var flags: UInt8 {
        get { header.flags }
        set { header.flags = newValue }
    }

    /// Set when truncation removed the series from the head; a writer holding it looks it up again.
    var removed: Bool {
        get { flags & 1 != 0 }
        set { flags = newValue ? flags | 1 : flags & ~1 }
    }
    /// Set when a truncation found the series without any sample: the next one removes it if it
    /// is still empty (a writer creating it has long finished by then; its samples were refused).
    var emptyAtTruncation: Bool {
        get { flags & 2 != 0 }
        set { flags = newValue ? flags | 2 : flags & ~2 }
    }

    /// The open chunk's first time, read from its bytes; `.min` without an open chunk.
    var headMint: Int64 { XORChunk.firstTimestamp(headBytes) ?? .min }

    var hasHeadChunk: Bool { !headBytes.isEmpty }

    /// Appends an in-order sample, cutting chunks with Prometheus 2.42's rules.
    @inline(__always)
    func append(t: Int64, v: Double, chunkRange: Int64, samplesPerChunk: Int) {
        if headBytes.isEmpty {
            cutHeadChunk(mint: t, chunkRange: chunkRange)
        } else {
            let n = appender.count
            if n == samplesPerChunk / 4 {
                nextAt = Self.computeChunkEndTime(start: headMint, cur: lastT, max: nextAt)
            }
            if t >= nextAt || n >= samplesPerChunk * 2 {
                cutHeadChunk(mint: t, chunkRange: chunkRange)
            }
        }
        if headBytes.capacity &- headBytes.count < Self.maxSampleBytes { growHeadChunk() }
        // Through the pointer: the appender and the chunk are two parts of one stored property.
        withUnsafeMutablePointerToHeader { state in
            state.pointee.appender.append(t: t, v: v, to: &state.pointee.headBytes)   // now lastT and lastValueBits
        }
    }

    /// Room for one more XOR sample: a 68-bit timestamp and a 77-bit value field, and the byte
    /// bstream may leave empty (a sample needing more would only let the array grow by itself).
    static let maxSampleBytes = 20

    /// Grows the open chunk by half instead of letting the array double. A doubled chunk is on
    /// average a quarter empty and leaves its old buffer as a hole that series growing in step
    /// rarely reuse. At a million series of 60 samples RSS after ingest: 895 MiB doubling as the
    /// array does, 848 doubling here, 805-806 growing by half, 805-814 by a quarter; but a quarter
    /// made WAL replay 20% more CPU (more reallocations, malloc's free-chunk merging), where half
    /// measured as doubling (14.4-15.8 against 13.8-17.2 CPU-s, alternating runs).
    @inline(never)
    private func growHeadChunk() {
        headBytes.reserveCapacity(headBytes.count + Swift.max(Self.maxSampleBytes, headBytes.count / 2))
    }

    private func cutHeadChunk(mint: Int64, chunkRange: Int64) {
        if !headBytes.isEmpty {
            closed.append(ClosedChunk(mint: headMint, maxt: lastT, bytes: Self.trimmed(headBytes)))
        }
        headBytes = XORChunk.newBytes()
        appender.restart()
        nextAt = Self.rangeForTimestamp(mint, chunkRange)
    }

    /// A closed chunk's bytes without the room the open chunk kept for growing (a sixth of its
    /// bytes on average, more past a doubling): it stays in the head for hours. One copy per
    /// chunk of ~120 samples.
    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.capacity - bytes.count < 16 { return bytes }   // below malloc's rounding
        return [UInt8](unsafeUninitializedCapacity: bytes.count) { out, n in
            n = out.initialize(fromContentsOf: bytes)
        }
    }

    /// Forgets the head chunk (its samples are in a block now); the next sample starts a new one.
    func dropHeadChunk() {
        headBytes = []
        appender.restart()
        nextAt = .min
    }

    /// End of the block range that contains `t` (Go integer division truncates like Swift's).
    /// Saturates at `Int64.max` for the last range instead of trapping (a sample at 2^63-1 is legal).
    static func rangeForTimestamp(_ t: Int64, _ width: Int64) -> Int64 {
        let (end, overflow) = ((t / width) * width).addingReportingOverflow(width)
        return overflow ? .max : end
    }

    static func computeChunkEndTime(start: Int64, cur: Int64, max: Int64) -> Int64 {
        // Timestamps may be anywhere in Int64 (a hostile client sends 2^63-1): no arithmetic may trap.
        let (span, o1) = cur.subtractingReportingOverflow(start)
        let (total, o2) = max.subtractingReportingOverflow(start)
        let (quarter, o3) = (span &+ 1).multipliedReportingOverflow(by: 4)
        if o1 || o2 || o3 || quarter <= 0 { return max }
        let n = total / quarter
        if n <= 1 { return max }
        return start + total / n
    }

    /// The chunks overlapping [mint, maxt], copied out for a reader (arrays are shared, not copied).
    func chunks(mint: Int64, maxt: Int64) -> [ClosedChunk] {
        switch readChunks(mint: mint, maxt: maxt) {
        case nil: return []
        case .open: return openChunk.map { [$0] } ?? []
        case .list(let list): return list
        }
    }

    /// `chunks(mint:maxt:)` for a reader, nil when none overlaps: when the open chunk is the only
    /// one that does (most series have no other), its bytes alone, shared, with no list allocated
    /// per selected series (32 MiB of a query over 580k series).
    func readChunks(mint: Int64, maxt: Int64) -> HeadChunks? {
        var list = closed.filter { $0.overlaps(mint: mint, maxt: maxt) }   // no allocation when none does
        let open = openChunk.flatMap { $0.overlaps(mint: mint, maxt: maxt) ? $0 : nil }
        if list.isEmpty { return open.map { .open($0.bytes) } }
        if let open { list.append(open) }
        return .list(list)
    }

    /// The open chunk as a reader takes it (its bytes shared; its first time read from them once).
    private var openChunk: ClosedChunk? {
        headBytes.isEmpty ? nil : ClosedChunk(mint: headMint, maxt: lastT, bytes: headBytes)
    }

    var chunkCount: Int { closed.count + (headBytes.isEmpty ? 0 : 1) }
}
