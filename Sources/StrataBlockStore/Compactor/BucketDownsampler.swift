import Foundation
import StrataBlock
import StrataObjectStore
import StrataRuntime

/// The downsampling step of Thanos' compactor (`cmd/thanos/downsample.go`, `downsampleBucket`):
/// which blocks of the bucket get a 5m or 1h copy, and making one.
///
/// A pass sees the blocks as Thanos' synced metas do: not fresh (the consistency delay), not
/// marked for deletion longer than half the delete delay ago, not covered by another block of
/// their group (the deduplicate filter), not marked `no-downsample-mark.json`. Of those:
/// - a raw block is downsampled to 5m when it spans at least 40h (`maxTime - minTime`) and one of
///   its `compaction.sources` is in no 5m block's sources;
/// - a 5m block is downsampled to 1h when it spans at least 10d and one of its sources is in no
///   1h block's sources;
/// oldest ULID first. Sources are looked up over the whole bucket (they are ULIDs), as Thanos
/// does. A block with a deletion mark is never downsampled (its sources still count as covered
/// while Thanos would see it).
enum BucketDownsampler {
    struct Job: Sendable, Equatable {
        var ulid: String
        /// The input's resolution (what Thanos labels the downsample metrics with).
        var from: Int64
        var to: Int64
        /// The input's external labels, which its copy keeps.
        var labels: [String: String]
    }

    /// One pass's jobs, with the blocks left out and why (blocks Strata cannot downsample; Thanos
    /// fails the iteration on them).
    static func plan(_ blocks: [BucketBlocks.Entry], nowMillis: Int64, consistencyDelay: Int64,
                     deleteDelay: Int64) -> (jobs: [Job], skipped: [String]) {
        let synced = blocks.filter { e in
            if let marked = e.deletionMarkedAt, nowMillis / 1000 - marked > deleteDelay / 2 / 1000 { return false }
            return !e.markers.contains(.noDownsample) && !BucketCompactor.isFresh(e, nowMillis: nowMillis, delay: consistencyDelay)
        }
        let kept = BucketBlocks.uncovered(synced)
        var skipped: [String] = []
        var sources5m = Set<String>(), sources1h = Set<String>()
        for e in synced where kept.contains(e.meta.ulid) {
            switch e.resolution {
            case 0: break
            case Downsampler.resLevel1: sources5m.formUnion(e.meta.compaction.sources)
            case Downsampler.resLevel2: sources1h.formUnion(e.meta.compaction.sources)
            default: skipped.append("\(e.meta.ulid): resolution \(e.resolution) is none of Thanos' (0, 300000, 3600000); not downsampled")
            }
        }
        var jobs: [Job] = []
        for e in synced.sorted(by: { $0.meta.ulid < $1.meta.ulid }) where kept.contains(e.meta.ulid) && !e.markers.contains(.deletion) {
            let span = e.meta.maxTime - e.meta.minTime
            let to: Int64
            switch e.resolution {
            case 0:
                guard e.meta.compaction.sources.contains(where: { !sources5m.contains($0) }), span >= Downsampler.level1Range else { continue }
                to = Downsampler.resLevel1
            case Downsampler.resLevel1:
                guard e.meta.compaction.sources.contains(where: { !sources1h.contains($0) }), span >= Downsampler.level2Range else { continue }
                to = Downsampler.resLevel2
            default: continue
            }
            guard let labels = e.thanos?.labels, !labels.isEmpty else {
                skipped.append("\(e.meta.ulid): a block without external labels is not downsampled (its copy could not be uploaded)")
                continue
            }
            jobs.append(Job(ulid: e.meta.ulid, from: e.resolution, to: to, labels: labels))
        }
        return (jobs, skipped)
    }

    /// Downloads the block, writes its downsampled copy and uploads it (`meta.json` last, with
    /// the input's external labels and sources, the new resolution, `source: compactor`);
    /// returns the new block's ULID. Nothing is marked: the input stays, as in Thanos.
    static func downsample(_ job: Job, bucket: any Bucket, workDir: String) async throws -> String {
        let dir = workDir + "/" + ULID.make()
        try FileSystem.mkdirAll(dir + "/in")
        try FileSystem.mkdirAll(dir + "/out")
        defer { try? FileSystem.removeAll(dir) }
        let block = try Block(dir: try await BucketOperations.download(bucket, ulid: job.ulid, into: dir + "/in"))
        let meta = try await BlockingThread.run { try Downsampler.downsample(block, resolution: job.to, into: dir + "/out") }
        CrashPoint.reached("downsample.written")
        let r = try await BucketOperations.upload(path: dir + "/out/" + meta.ulid, bucket: bucket, labels: job.labels,
                                                  uploadCompacted: true, source: "compactor")
        guard r.uploaded == [meta.ulid] else { throw ShipperError("downsampled block \(meta.ulid) was not uploaded: \(r)") }
        return meta.ulid
    }
}
