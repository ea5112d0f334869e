#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataBlock
import StrataEncoding
import StrataModel
import StrataStorage

/// WAL checkpoints in Prometheus' format (`tsdb/wlog/checkpoint.go`): a directory
/// `checkpoint.NNNNNNNN` holding WAL segments with what is still needed from segments up to N:
/// the series `keep` says are alive and the samples at or after `mint`. Replay reads the newest
/// checkpoint, then the segments after N.
public enum Checkpoint {
    public struct Stats: Sendable {
        public var seriesKept = 0, seriesDropped = 0
        public var samplesKept = 0, samplesDropped = 0
        public var recordsOther = 0
    }

    public static func dirName(_ n: Int) -> String {
        let s = String(n)
        return "checkpoint." + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// The newest checkpoint in `walDir`: its directory and the last segment it covers.
    public static func last(in walDir: String) throws -> (dir: String, index: Int)? {
        var best: (String, Int)?
        for name in try FileSystem.list(walDir) where name.hasPrefix("checkpoint.") && !name.hasSuffix(".tmp") {
            guard let n = Int(name.dropFirst("checkpoint.".count)) else { continue }
            if best == nil || n > best!.1 { best = (walDir + "/" + name, n) }
        }
        return best
    }

    /// Folds the previous checkpoint (if any) and segments `from...to` into `checkpoint.<to>`.
    /// Written as `checkpoint.<to>.tmp`, fsynced, then renamed, so a crash leaves either the old
    /// checkpoint or the new one. Older checkpoints are removed afterwards; the caller removes the
    /// folded segments (Prometheus' `truncateWAL` order).
    @discardableResult
    public static func create(walDir: String, from: Int, to: Int, mint: Int64,
                              keep: (SeriesRef) -> Bool) throws -> Stats {
        var stats = Stats()
        var sources: [WALSegments.Segment] = []
        let previous = try last(in: walDir)
        if let previous { sources += try WALSegments.list(previous.dir) }
        sources += try WALSegments.list(walDir).filter { $0.index >= from && $0.index <= to }

        let finalDir = walDir + "/" + dirName(to)
        let tmpDir = finalDir + ".tmp"
        try removeAll(tmpDir)
        var options = WALOptions()
        options.fsync = .segment
        let out = try WAL(dir: tmpDir, options: options)

        var series: [WALSeries] = []
        var samples: [WALSample] = []
        var batch: [[UInt8]] = []
        _ = try WALReader(segments: sources).forEachRecord { rec in
            switch WALRecordDecoder.type(rec) {
            case .series:
                series.removeAll(keepingCapacity: true)
                try WALRecordDecoder.series(rec, into: &series)
                var outRec: [UInt8] = [WALRecordType.series.rawValue]
                for s in series {
                    if keep(s.ref) {
                        s.labels.bytes.withUnsafeBytes {
                            WALRecordEncoder.appendSeries(ref: s.ref, labelsBlob: $0, count: s.labels.count, into: &outRec)
                        }
                        stats.seriesKept += 1
                    } else {
                        stats.seriesDropped += 1
                    }
                }
                if outRec.count > 1 { batch.append(outRec) }
            case .samples:
                samples.removeAll(keepingCapacity: true)
                try WALRecordDecoder.samples(rec, into: &samples)
                let kept = samples.filter { $0.t >= mint && keep($0.ref) }
                stats.samplesKept += kept.count
                stats.samplesDropped += samples.count - kept.count
                if !kept.isEmpty {
                    var outRec: [UInt8] = []
                    kept.withUnsafeBufferPointer { WALRecordEncoder.samples($0, into: &outRec) }
                    batch.append(outRec)
                }
            default:
                stats.recordsOther += 1 // tombstones, metadata: not written by Strata yet
            }
            if batch.count >= 64 { try out.log(batch); batch.removeAll(keepingCapacity: true) }
        }
        try out.log(batch)
        try out.close()
        try FileSystem.syncDir(tmpDir)
        try removeAll(finalDir)
        guard rename(tmpDir, finalDir) == 0 else { throw FileSystem.error("rename \(tmpDir)") }
        try FileSystem.syncDir(walDir)
        // Older checkpoints are now redundant.
        for name in try FileSystem.list(walDir) where name.hasPrefix("checkpoint.") {
            let path = walDir + "/" + name
            if path != finalDir, let n = Int(name.dropFirst("checkpoint.".count).prefix(8)), n < to || name.hasSuffix(".tmp") {
                try removeAll(path)
            }
        }
        return stats
    }

    /// Deletes WAL segments numbered up to `index` (after a checkpoint covers them).
    public static func deleteSegments(walDir: String, through index: Int) throws {
        for seg in try WALSegments.list(walDir) where seg.index <= index { try FileSystem.remove(seg.path) }
        try FileSystem.syncDir(walDir)
    }

    static func removeAll(_ path: String) throws {
        guard FileSystem.exists(path) else { return }
        for name in (try? FileSystem.list(path)) ?? [] { try FileSystem.remove(path + "/" + name) }
        if rmdir(path) != 0 && errno != ENOENT { throw FileSystem.error("remove \(path)") }
    }
}
