import CStrataSupport
import Dispatch
import StrataBlock
import StrataEncoding
import StrataModel

/// What a WAL replay did, for logs, metrics and `/api/v1/status/walreplay`.
public struct WALReplayStats: Sendable {
    public var segments = 0
    public var records = 0
    public var bytes = 0
    public var series = 0
    public var samples = 0
    /// Samples for series the WAL never declared, or older than their series' newest sample.
    public var samplesSkipped = 0
    public var corruption: WALCorruption?
    public var bytesDropped = 0
    public var seconds = 0.0
    /// Series and samples loaded from a clean-shutdown head snapshot, and the last WAL segment it covered.
    public var snapshotSeries = 0
    public var snapshotSamples = 0
    public var snapshotSegment: Int?
    public var snapshotError: String?

    public init() {}
}

/// One sample bound for a replay shard, with its series already resolved. The head owns every
/// series for its whole life, so an unretained reference is safe and saves a retain per sample.
/// Each series is applied by one shard only (see `MemSeries` on `Sendable`).
struct ReplaySample: @unchecked Sendable {
    let series: Unmanaged<MemSeries>
    let t: Int64
    let v: Double
}

/// Applies samples for the series of one shard on its own queue. Series are sharded by ref, so
/// each series is touched by exactly one shard and needs no lock.
final class ReplayShard: @unchecked Sendable {
    let queue: DispatchQueue
    let chunkRange: Int64
    let samplesPerChunk: Int
    // Touched only on `queue`.
    var samples = 0, skipped = 0
    var lo = Int64.max, hi = Int64.min

    init(index: Int, chunkRange: Int64, samplesPerChunk: Int) {
        queue = DispatchQueue(label: "strata.wal-replay.\(index)")
        self.chunkRange = chunkRange
        self.samplesPerChunk = samplesPerChunk
    }

    /// How many samples ahead the series is fetched: each sample's series is somewhere else in
    /// memory (a million of them), and waiting for one at a time was most of the replay.
    private static let prefetchDistance = 12

    func apply(_ batch: [ReplaySample]) {
        let ahead = Self.prefetchDistance
        for i in 0 ..< min(ahead, batch.count) { strata_prefetch(batch[i].series.toOpaque()) }
        for (i, smp) in batch.enumerated() {
            if i + ahead < batch.count { strata_prefetch(batch[i + ahead].series.toOpaque()) }
            let s = smp.series.takeUnretainedValue()
            if s.lastT == .min || smp.t > s.lastT {
                s.append(t: smp.t, v: smp.v, chunkRange: chunkRange, samplesPerChunk: samplesPerChunk)
                samples += 1
                if smp.t < lo { lo = smp.t }
                if smp.t > hi { hi = smp.t }
            } else {
                skipped += 1
            }
        }
    }
}

extension Head {
    /// Rebuilds the head from the WAL segments in `dir` numbered below `below` (the segment the
    /// writer just opened). A corrupt or torn tail is cut back to the last good record and the
    /// segments after it are removed, as Prometheus' repair does; nothing before it is lost.
    ///
    /// The calling thread reads and decodes records and creates series; samples go to two shard
    /// queues (by series ref), so decoding and appending use both cores.
    /// Must run before the head takes writes or serves queries: it appends without stripe locks.
    /// With `repair: false` nothing on disk is changed: replay stops at the first damaged record.
    public func replayWAL(dir: String, below: Int = .max, snapshotDir: String? = nil, repair: Bool = true,
                          progress: (String) -> Void = { _ in },
                          segmentDone: (_ done: Int, _ of: [Int]) -> Void = { _, _ in }) throws -> WALReplayStats {
        let start = ContinuousClock.now
        var stats = WALReplayStats()
        // The newest checkpoint first (as one more "segment" list), then the segments after it.
        var checkpoint = try Checkpoint.last(in: dir)
        var after = checkpoint?.index ?? -1
        // A clean-shutdown snapshot replaces everything up to its segment, unless a newer
        // checkpoint has folded (and deleted) segments it does not cover.
        if let snapshotDir {
            do {
                if let cp = checkpoint, let peek = try HeadSnapshot.peekSegment(dir: snapshotDir), peek < cp.index {
                    progress("head snapshot (segment \(peek)) is older than checkpoint \(cp.index); ignoring it")
                } else if let loaded = try HeadSnapshot.load(into: self, dir: snapshotDir) {
                    stats.snapshotSeries = loaded.series
                    stats.snapshotSamples = loaded.samples
                    stats.snapshotSegment = loaded.walSegment
                    checkpoint = nil
                    after = loaded.walSegment
                    progress("loaded head snapshot: \(loaded.series) series, \(loaded.samples) samples, WAL up to segment \(loaded.walSegment)")
                }
            } catch {
                stats.snapshotError = "\(error)"
                progress("head snapshot unusable (\(error)); replaying the whole WAL")
                try HeadSnapshot.remove(dir: snapshotDir)
            }
        }
        let segments = try WALSegments.list(dir).filter { $0.index < below && $0.index > after }
        stats.segments = segments.count
        var sources: [(label: String, segments: [WALSegments.Segment], index: Int?)] = []
        if let checkpoint { sources.append(("checkpoint \(checkpoint.index)", try WALSegments.list(checkpoint.dir), nil)) }
        for seg in segments { sources.append(("segment \(seg.index)", [seg], seg.index)) }
        let shards = (0 ..< 2).map { ReplayShard(index: $0, chunkRange: options.chunkRange, samplesPerChunk: options.samplesPerChunk) }
        let inFlight = DispatchSemaphore(value: 32) // bounds memory held in queued batches

        var aliases: [SeriesRef: SeriesRef] = [:]   // duplicate series records → first ref
        // Refs are dense counters, so replay resolves them through an array, not the striped maps;
        // unretained (the head owns the series) and with each series' shard beside it, so a sample
        // is routed without touching its series.
        var byRef = ContiguousArray<Unmanaged<MemSeries>?>()
        var shardByRef = ContiguousArray<UInt8>()
        func lookup(_ ref: SeriesRef) -> (Unmanaged<MemSeries>, shard: Int)? {
            if ref < byRef.count, let s = byRef[Int(ref)] { return (s, Int(shardByRef[Int(ref)])) }
            guard let s = series(ref: aliases[ref] ?? ref) else { return nil }
            return (.passUnretained(s), Int(s.ref & 1))
        }
        var seriesBuf: [WALSeriesSpan] = []
        var sampleBuf: [WALSample] = []
        var unknown = 0
        func dispatch(_ batch: [ReplaySample], to shard: ReplayShard) {
            if batch.isEmpty { return }
            inFlight.wait()
            shard.queue.async { shard.apply(batch); inFlight.signal() }
        }

        for (i, source) in sources.enumerated() {
            do {
                let r = try WALReader(segments: source.segments).forEachRecord { rec in
                    switch WALRecordDecoder.type(rec) {
                    case .series:
                        seriesBuf.removeAll(keepingCapacity: true)
                        try WALRecordDecoder.seriesSpans(rec, into: &seriesBuf)
                        for s in seriesBuf {
                            let lb = UnsafeRawBufferPointer(rebasing: rec[s.labels])
                            let created = try getOrCreate(hash: labelHash(lb), labels: lb, ref: s.ref)
                            if created.ref != s.ref { aliases[s.ref] = created.ref } else { stats.series += 1 }
                            if s.ref < 1 << 26 {
                                if Int(s.ref) >= byRef.count {
                                    byRef.append(contentsOf: repeatElement(nil, count: Int(s.ref) - byRef.count + 1))
                                    shardByRef.append(contentsOf: repeatElement(0, count: byRef.count - shardByRef.count))
                                }
                                byRef[Int(s.ref)] = .passUnretained(created)
                                shardByRef[Int(s.ref)] = UInt8(created.ref & 1)
                            }
                        }
                    case .samples:
                        sampleBuf.removeAll(keepingCapacity: true)
                        try WALRecordDecoder.samples(rec, into: &sampleBuf)
                        var parts: [[ReplaySample]] = [[], []]
                        parts[0].reserveCapacity(sampleBuf.count / 2 + 16)
                        parts[1].reserveCapacity(sampleBuf.count / 2 + 16)
                        for smp in sampleBuf {
                            guard let (s, shard) = lookup(smp.ref) else { unknown += 1; continue }
                            parts[shard].append(ReplaySample(series: s, t: smp.t, v: smp.v))
                        }
                        dispatch(parts[0], to: shards[0])
                        dispatch(parts[1], to: shards[1])
                    default:
                        break // tombstones, metadata, exemplars: nothing in the head uses them yet
                    }
                }
                stats.records += r.records
                stats.bytes += r.bytes
            } catch let c as WALCorruption {
                // A checkpoint is written whole (tmp dir, fsync, rename); corruption there is not a torn tail.
                guard source.index != nil else { throw c }
                stats.corruption = c
                // Read-only callers (`strata tsdb dump`) stop at the damage and change nothing.
                guard repair else { break }
                stats.bytesDropped = try c.repair(dir: dir, keepingFrom: below)
                progress("WAL corruption: \(c.description); kept everything before it, dropped \(stats.bytesDropped) bytes")
                break
            }
            for s in shards { s.queue.sync {} } // segment boundary: let progress reflect applied samples
            if let index = source.index { segmentDone(index, segments.map(\.index)) }
            let applied = shards.reduce(0) { $0 + $1.samples }
            let secs = Self.seconds(since: start)
            progress("WAL \(source.label) replayed (\(i + 1)/\(sources.count)): \(applied) samples, \(stats.series) series so far, \(secs > 0 ? Int(Double(applied) / secs) : 0) samples/s")
        }
        var lo = Int64.max, hi = Int64.min
        for s in shards {
            s.queue.sync {}
            stats.samples += s.samples
            stats.samplesSkipped += s.skipped
            lo = min(lo, s.lo); hi = max(hi, s.hi)
        }
        stats.samplesSkipped += unknown
        if !aliases.isEmpty { walAliases.withLock { $0.merge(aliases) { old, _ in old } } }
        if hi != .min { noteTimes(min: lo, max: hi) }
        samplesAppended.add(stats.samples, ordering: .relaxed)
        stats.seconds = Self.seconds(since: start)
        return stats
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
