import StrataBlock
import StrataEncoding
import StrataModel
import StrataStorage
import Synchronization

public struct HeadOptions: Sendable {
    /// Block range in ms (2h): chunks never cross a multiple of it, and samples older than
    /// half of it behind the newest sample are out of bounds.
    public var chunkRange: Int64 = 2 * 3600 * 1000
    public var samplesPerChunk = 120
    /// Number of lock stripes (power of two).
    public var stripeCount = 4096
    /// Appends refuse samples newer than the wall clock plus this (ms; 0 = no limit), so one
    /// client with a bad clock cannot push the head's time ahead and make every later write out
    /// of bounds (Thanos' `--tsdb.too-far-in-future.time-window`). Off for the library; the
    /// server turns it on.
    public var tooFarInFutureWindow: Int64 = 0
    /// Told the time range of every committed write (ms), after it is readable: a results cache
    /// drops what the write changed.
    public var onCommit: (@Sendable (_ mint: Int64, _ maxt: Int64) -> Void)?
    /// Applied to every label hash (`Head.labelHash`). Tests clear bits to make different label
    /// sets collide through the real write path; not for users, so not public.
    var labelHashMask: UInt64 = .max

    public init() {}
}

/// The in-memory head block: series, their chunks, and the postings index.
///
/// Writers lock only the stripe of the series they touch (chosen by label hash), so there is no
/// global lock on the append path. Series refs are allocated from a counter and never change.
public final class Head: Sendable {
    public let options: HeadOptions

    final class HashStripe: @unchecked Sendable {
        let lock = Lock()
        /// hash → series; a second series with the same hash goes to `collisions`.
        var byHash = SeriesByHash()
        var collisions: [UInt64: [MemSeries]] = [:]
    }

    final class RefStripe: @unchecked Sendable {
        let lock = Lock()
        var byRef = SeriesByRef()
    }

    let hashStripes: [HashStripe]
    let refStripes: [RefStripe]
    let stripeMask: Int
    let postings = MemPostings()
    /// Makes a request's samples appear at once. Commits apply holding it shared (they touch
    /// disjoint series under their stripe locks, so they need not exclude each other); a querier
    /// copies out its series' chunks holding it exclusively, so it never sees half of a request.
    /// The exclusive side goes first, so a stream of commits cannot starve queries.
    let visibility = RWLock(preferWriters: true)
    /// Held shared by a commit from its WAL write until its samples are applied, and exclusively
    /// around WAL rotation (`withCommitsPaused`): a head snapshot or checkpoint that takes
    /// "everything logged up to segment N" from the head must not miss a commit that logged into
    /// N but has not applied yet.
    let commitsInFlight = RWLock(preferWriters: true)
    let metadata = MetadataStore()
    /// Where appends are logged before they are acknowledged; nil runs the head in memory only.
    public let wal: WAL?

    private let nextRef = Atomic<UInt64>(0)
    let seriesCount = Atomic<Int>(0)
    /// End of the newest block: samples before it are out of bounds.
    let blockMaxTime = Atomic<Int64>(.min)
    private let minTime = Atomic<Int64>(.max)
    private let maxTime = Atomic<Int64>(.min)
    let samplesAppended = Atomic<Int>(0)
    /// WAL series refs that replay folded into another series with the same labels (a series
    /// removed by truncation and created again gets a second record). A checkpoint must keep
    /// them while their series lives: later segments still log samples under the old ref.
    let walAliases = Mutex<[SeriesRef: SeriesRef]>([:])
    /// Open queriers, which head truncation waits for.
    let readers = HeadReaders()
    /// Lowest sample time each open appender may stage (announced before its bounds check) and
    /// has not yet committed: compaction must not cut a block above a staged sample.
    let pendingMinTimes = Mutex<[ObjectIdentifier: Int64]>([:])

    public init(options: HeadOptions = HeadOptions(), wal: WAL? = nil) {
        precondition(options.stripeCount > 0 && options.stripeCount & (options.stripeCount - 1) == 0)
        precondition(options.stripeCount <= 1 << 16, "a series keeps its stripe in 16 bits")
        self.options = options
        self.wal = wal
        hashStripes = (0 ..< options.stripeCount).map { _ in HashStripe() }
        refStripes = (0 ..< options.stripeCount).map { _ in RefStripe() }
        stripeMask = options.stripeCount - 1
    }

    /// Runs `body` (a WAL rotation or close) while no commit is between its WAL write and its
    /// apply, so once it returns, everything logged so far is in the head.
    public func withCommitsPaused<T>(_ body: () throws -> T) rethrows -> T {
        try commitsInFlight.withWriteLock(body)
    }

    public var numSeries: Int { seriesCount.load(ordering: .relaxed) }
    public var numSamplesAppended: Int { samplesAppended.load(ordering: .relaxed) }
    /// Oldest and newest sample timestamps in the head (`.max`/`.min` while empty).
    public var mint: Int64 { minTime.load(ordering: .relaxed) }
    public var maxt: Int64 { maxTime.load(ordering: .relaxed) }

    /// Samples older than this are out of bounds (Prometheus' `appendableMinValidTime`).
    var minValidTime: Int64 {
        let m = maxTime.load(ordering: .relaxed)
        return max(m == .min ? .min : m &- options.chunkRange / 2, blockMaxTime.load(ordering: .relaxed))
    }

    /// After truncation the head starts at `t`, as Prometheus' does (its oldest sample may be later).
    func resetMinTime(to t: Int64) {
        var cur = minTime.load(ordering: .relaxed)
        while cur < t {
            let (done, orig) = minTime.compareExchange(expected: cur, desired: t, ordering: .relaxed)
            if done { break }
            cur = orig
        }
    }

    func noteTimes(min lo: Int64, max hi: Int64) {
        var cur = minTime.load(ordering: .relaxed)
        while lo < cur {
            let (done, orig) = minTime.compareExchange(expected: cur, desired: lo, ordering: .relaxed)
            if done { break }
            cur = orig
        }
        cur = maxTime.load(ordering: .relaxed)
        while hi > cur {
            let (done, orig) = maxTime.compareExchange(expected: cur, desired: hi, ordering: .relaxed)
            if done { break }
            cur = orig
        }
    }

    // MARK: series lookup

    /// The key a series is found by in its stripe's map: the XXH64 of its label bytes. The
    /// series does not store it; truncation, its only other reader, computes it again.
    @inline(__always)
    func labelHash(_ labels: UnsafeRawBufferPointer) -> UInt64 { XXH64.hash(labels) & options.labelHashMask }

    func labelHash(of s: MemSeries) -> UInt64 { s.withLabelBytes { labelHash($0) } }

    /// Finds the series with exactly these label bytes. Caller holds the stripe lock.
    @inline(__always)
    static func find(_ stripe: HashStripe, hash: UInt64, labels: UnsafeRawBufferPointer) -> MemSeries? {
        if let s = stripe.byHash[hash] {
            if sameBytes(s, labels) { return s }
            if let more = stripe.collisions[hash] {
                for c in more where sameBytes(c, labels) { return c }
            }
        }
        return nil
    }

    @inline(__always)
    static func sameBytes(_ s: MemSeries, _ b: UnsafeRawBufferPointer) -> Bool {
        s.withLabelBytes { $0.count == b.count && LabelBlob.compareBytes($0, b) == 0 }
    }

    /// Creates the series (or returns the one another writer created first). Labels must be valid.
    ///
    /// With a WAL, the series record enters the log (buffered) while the stripe lock is held, so it
    /// precedes every samples record that can reference the series, whichever request writes first.
    func getOrCreate(hash: UInt64, labels: UnsafeRawBufferPointer, ref fixedRef: SeriesRef? = nil) throws -> MemSeries {
        let stripe = hashStripes[Int(truncatingIfNeeded: hash) & stripeMask]
        let ref = fixedRef ?? nextRef.add(1, ordering: .relaxed).newValue
        let series = MemSeries.make(ref: ref, hash: hash, labels: labels, stripeMask: stripeMask)
        assert(hash == labelHash(labels), "a series is found by labelHash of its label bytes")
        let existing: MemSeries? = try stripe.lock.withLock {
            if let s = Self.find(stripe, hash: hash, labels: labels) { return s }
            if let wal, fixedRef == nil {
                var rec: [UInt8] = []
                WALRecordEncoder.series(ref: ref, labelsBlob: labels, count: LabelBlob.labelCount(labels), into: &rec)
                try rec.withUnsafeBytes { try wal.logBuffered($0) }
            }
            if stripe.byHash[hash] == nil { stripe.byHash[hash] = series }
            else { stripe.collisions[hash, default: []].append(series) }
            return nil
        }
        if let existing { return existing } // the allocated ref is skipped; refs only need to be unique
        if let fixedRef { raiseNextRef(above: fixedRef) }
        let rs = refStripes[Int(truncatingIfNeeded: ref) & stripeMask]
        rs.lock.withLock { rs.byRef[ref] = series }
        postings.add(ref, labels)
        seriesCount.add(1, ordering: .relaxed)
        // Truncation may have removed the series (another writer's stale samples made it
        // look finished) before it was indexed here: then its removal missed these entries.
        if stripe.lock.withLock({ series.removed }) {
            _ = rs.lock.withLock { rs.byRef.removeValue(forKey: ref) }
            postings.delete([(ref, series.labels)])
        }
        return series
    }

    func raiseNextRef(above ref: SeriesRef) {
        var cur = nextRef.load(ordering: .relaxed)
        while ref > cur {
            let (done, orig) = nextRef.compareExchange(expected: cur, desired: ref, ordering: .relaxed)
            if done { break }
            cur = orig
        }
    }

    /// Whether a WAL series ref still names a series in the head (directly or as a replay alias).
    func isLiveInWAL(_ ref: SeriesRef) -> Bool {
        if series(ref: ref) != nil { return true }
        guard let target = walAliases.withLock({ $0[ref] }) else { return false }
        return series(ref: target) != nil
    }

    func series(ref: SeriesRef) -> MemSeries? {
        let rs = refStripes[Int(truncatingIfNeeded: ref) & stripeMask]
        return rs.lock.withLock { rs.byRef[ref] }
    }

    func stripe(of s: MemSeries) -> HashStripe { hashStripes[Int(s.stripe)] }
}

extension Head: Appendable {
    public func appender() -> any Appender { HeadAppender(head: self) }
}

extension Head: Queryable {
    public func querier(mint: Int64, maxt: Int64) throws -> any Querier { HeadQuerier(head: self, mint: mint, maxt: maxt) }
}

/// Latest metadata per metric family, from remote write.
final class MetadataStore: @unchecked Sendable {
    private let lock = Lock()
    private var byName: [ByteString: MetricMetadata] = [:]

    func set(_ m: MetricMetadata) { lock.withLock { byName[ByteString(m.metricFamilyName)] = m } }
    func all() -> [MetricMetadata] {
        lock.withLock { Array(byName.values) }.sorted { $0.metricFamilyName.utf8.lexicographicallyPrecedes($1.metricFamilyName.utf8) }
    }
}

extension Head {
    /// Metric metadata received so far, sorted by metric family name (serves `/api/v1/metadata`).
    public var metricMetadata: [MetricMetadata] { metadata.all() }
}

extension Head: MetadataSource {}

extension Head: CardinalitySource {
    public func cardinalityStats(limit: Int) -> CardinalityStats {
        func top(_ entries: [(String, Int)]) -> [CardinalityStats.Entry] {
            entries.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(limit).map { .init(name: $0.0, value: $0.1) }
        }
        let p = postings.stats()
        var stats = CardinalityStats()
        stats.numSeries = numSeries
        stats.numLabelPairs = p.numPairs
        stats.minTime = numSeries == 0 ? 0 : mint
        stats.maxTime = numSeries == 0 ? 0 : maxt
        for ref in postings.allPostings() {
            guard let s = series(ref: ref) else { continue }
            stats.chunkCount += stripe(of: s).lock.withLock { s.chunkCount }
        }
        stats.seriesCountByMetricName = top(postings.labelValues("__name__").map { ($0, postings.postings("__name__", $0).count) })
        stats.labelValueCountByLabelName = top(Array(p.values))
        stats.memoryInBytesByLabelName = top(Array(p.bytes))
        stats.seriesCountByLabelValuePair = top(p.pairs)
        return stats
    }
}
