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
}

extension Head {
    /// Rebuilds the head from the WAL segments in `dir` numbered below `below` (the segment the
    /// writer just opened). A corrupt or torn tail is cut back to the last good record and the
    /// segments after it are removed, as Prometheus' repair does; nothing before it is lost.
    public func replayWAL(dir: String, below: Int = .max, progress: (String) -> Void = { _ in },
                          segmentDone: (_ done: Int, _ of: [Int]) -> Void = { _, _ in }) throws -> WALReplayStats {
        let start = ContinuousClock.now
        var stats = WALReplayStats()
        let segments = try WALSegments.list(dir).filter { $0.index < below }
        stats.segments = segments.count
        var aliases: [SeriesRef: SeriesRef] = [:]   // duplicate series records → first ref
        var seriesBuf: [WALSeries] = []
        var sampleBuf: [WALSample] = []
        var lo = Int64.max, hi = Int64.min
        for (i, seg) in segments.enumerated() {
            do {
                let r = try WALReader(segments: [seg]).forEachRecord { rec in
                    switch WALRecordDecoder.type(rec) {
                    case .series:
                        seriesBuf.removeAll(keepingCapacity: true)
                        try WALRecordDecoder.series(rec, into: &seriesBuf)
                        for s in seriesBuf {
                            let created = try s.labels.bytes.withUnsafeBytes { lb in
                                try getOrCreate(hash: XXH64.hash(lb), labels: lb, ref: s.ref)
                            }
                            if created.ref != s.ref { aliases[s.ref] = created.ref } else { stats.series += 1 }
                        }
                    case .samples:
                        sampleBuf.removeAll(keepingCapacity: true)
                        try WALRecordDecoder.samples(rec, into: &sampleBuf)
                        for smp in sampleBuf {
                            guard let s = series(ref: aliases[smp.ref] ?? smp.ref) else { stats.samplesSkipped += 1; continue }
                            let stripe = self.stripe(of: s)
                            stripe.lock.lock()
                            if s.lastT == .min || smp.t > s.lastT {
                                s.append(t: smp.t, v: smp.v, chunkRange: options.chunkRange, samplesPerChunk: options.samplesPerChunk)
                                stats.samples += 1
                                if smp.t < lo { lo = smp.t }
                                if smp.t > hi { hi = smp.t }
                            } else {
                                stats.samplesSkipped += 1
                            }
                            stripe.lock.unlock()
                        }
                    default:
                        break // tombstones, metadata, exemplars: nothing in the head uses them yet
                    }
                }
                stats.records += r.records
                stats.bytes += r.bytes
            } catch let c as WALCorruption {
                stats.corruption = c
                stats.bytesDropped = try c.repair(dir: dir, keepingFrom: below)
                progress("WAL corruption: \(c.description); kept everything before it, dropped \(stats.bytesDropped) bytes")
                break
            }
            segmentDone(seg.index, segments.map(\.index))
            let elapsed = ContinuousClock.now - start
            let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            progress("WAL segment \(i + 1)/\(segments.count) replayed: \(stats.samples) samples, \(stats.series) series so far, \(secs > 0 ? Int(Double(stats.samples) / secs) : 0) samples/s")
        }
        if hi != .min { noteTimes(min: lo, max: hi) }
        samplesAppended.add(stats.samples, ordering: .relaxed)
        let d = ContinuousClock.now - start
        stats.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return stats
    }
}
