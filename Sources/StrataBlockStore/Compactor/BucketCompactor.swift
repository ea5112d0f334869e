import Foundation
import StrataBlock
import StrataModel
import StrataObjectStore
import StrataRuntime

/// One iteration of Thanos' compactor over a bucket (`cmd/thanos/compact.go`), as `strata bucket
/// compact --once` and the compactor in `strata serve --compact` run it:
///
/// 1. compact each group (external labels + resolution, Thanos' group key) until nothing is left
///    to merge: overlapping blocks first (vertical compaction, rather than halting), then blocks
///    that fill one of Thanos' aligned ranges (2h → 8h → 2d → 14d), never the group's newest;
///    downsampled groups too (aggregate chunks copied, overlapping ones merged window by window);
/// 2. downsample (unless `downsampling` is off), in two passes as Thanos does, so that a 5m block
///    the first pass writes gets its 1h copy in the second: a raw block spanning 40h or more
///    becomes a 5m block, a 5m block spanning 10d or more a 1h block, when some of its
///    `compaction.sources` are in no block of the target resolution yet (`BucketDownsampler`).
///    The input stays: each resolution is kept (and retained) on its own;
/// 3. mark blocks past their resolution's retention for deletion;
/// 4. delete blocks whose deletion mark is older than `deleteDelay`, and aborted partial uploads
///    (no `meta.json`, nothing written for `partialUploadAge`).
///
/// Each merge downloads its inputs, writes the merged block, uploads it (`meta.json` last,
/// `source: compactor`) and only then marks the inputs for deletion; a crash between the two
/// leaves the inputs covered by the new block's `compaction.sources`, which hides them from
/// readers, and the next iteration marks them ("outdated"). Whatever step a crash interrupts,
/// the bucket stays readable and the next iteration finishes the job. A downsampled block is
/// uploaded the same way (`meta.json` last) and marks nothing: a crash before its `meta.json` is
/// in the bucket leaves at most a partial upload, and the next iteration downsamples again.
///
/// A group waits (and says why in `Result.skipped`) while an upload into it may be incomplete:
/// this server's shipper has blocks of the stream not yet uploaded, or the bucket holds a partial
/// upload younger than the consistency delay. Fresh blocks (not a compactor's, uploaded less
/// than `consistencyDelay` ago) are left for a later iteration, as Thanos' consistency filter does.
/// Whether a block is covered by another one is decided within its group (its resolution
/// included), as Thanos' deduplicate filter does: a 5m block holds its raw block's sources.
public enum BucketCompactor {
    /// Thanos' default compaction ranges.
    public static let ranges: [Int64] = [2, 8, 48, 336].map { Int64($0) * 3_600_000 }

    public struct Options: Sendable {
        /// How long a block stays marked before it is deleted (ms; `--delete-delay`).
        public var deleteDelay: Int64 = 48 * 3_600_000
        /// Fresh blocks younger than this are not compacted yet (ms; `--consistency-delay`).
        public var consistencyDelay: Int64 = 30 * 60_000
        /// Partial uploads idle this long are aborted ones, and deleted (Thanos' fixed 48h).
        public var partialUploadAge: Int64 = 48 * 3_600_000
        /// Retention per resolution (0, 300000, 3600000 → ms; absent or 0: kept forever).
        public var retention: [Int64: Int64] = [:]
        /// Downsample raw blocks to 5m and 5m blocks to 1h (`--downsampling.disable` turns it off).
        public var downsampling = true
        /// External label sets of streams whose blocks this server's shipper has yet to upload.
        public var pendingUploads: @Sendable () -> [[String: String]] = { [] }
        public init() {}
    }

    public struct Result: Sendable, Equatable {
        /// New block ULID → the blocks merged into it.
        public var compacted: [String: [String]] = [:]
        /// New downsampled block ULID → the block it was made from.
        public var downsampled: [String: String] = [:]
        /// Blocks marked for deletion because another block covers their sources.
        public var outdated: [String] = []
        /// Blocks marked for deletion because they are past their resolution's retention.
        public var expired: [String] = []
        /// Blocks deleted (their mark older than the delete delay), and aborted partial uploads.
        public var deleted: [String] = []
        public var deletedPartial: [String] = []
        /// Groups left for a later iteration, with why (logged: a compactor that skips must say so).
        public var skipped: [String] = []
        public init() {}
    }

    public static func run(_ bucket: any Bucket, workDir: String, options: Options = Options(), stats: CompactorStats? = nil,
                           nowMillis: Int64 = WallClock.nowMillis()) async throws -> Result {
        var result = Result()
        // What a crashed iteration left in the work directory is of no use (only its own
        // ULID-named directories are removed: the directory may be shared).
        try FileSystem.mkdirAll(workDir)
        for name in try FileSystem.list(workDir) where ULID.isValid(name) { try FileSystem.removeAll(workDir + "/" + name) }
        let nowSeconds = nowMillis / 1000
        var (blocks, partials) = try await BucketBlocks.scan(bucket)

        while true {
            let live = blocks.filter { !$0.markers.contains(.deletion) }
            // Garbage first: blocks whose sources another block of their group holds are that
            // block's inputs (a downsampled block holds its raw block's sources: not garbage).
            let visible = BucketBlocks.uncovered(live)
            for e in live where !visible.contains(e.meta.ulid) {
                try await markForDeletion(bucket, e.meta.ulid, details: "outdated block", now: nowSeconds, stats: stats)
                stats?.add(.garbageCollected)
                result.outdated.append(e.meta.ulid)
            }
            let pending = Set(options.pendingUploads().map(BucketBlocks.streamKey))
            let uploading = options.consistencyDelay <= 0 ? nil
                : partials.first { $0.deletionMarkedAt == nil && nowMillis - $0.newestMillis < options.consistencyDelay }
            var merged = false
            for (key, group) in Dictionary(grouping: live.filter { visible.contains($0.meta.ulid) }, by: \.groupKey).sorted(by: { $0.key < $1.key }) {
                guard let labels = group.first?.thanos?.labels, !labels.isEmpty else {
                    note(&result, "\(key): blocks without external labels are not compacted (Thanos refuses them too)")
                    continue
                }
                let resolution = group[0].resolution
                let candidates = group.filter { !$0.markers.contains(.noCompact) && !isFresh($0, nowMillis: nowMillis, delay: options.consistencyDelay) }
                let plan = CompactionPlanner.plan(candidates.map(\.meta), ranges: ranges)
                guard plan.count > 1 else { continue }
                // Shippers upload raw blocks only: only raw groups can have an upload in flight.
                if resolution == 0 && pending.contains(BucketBlocks.streamKey(labels)) {
                    note(&result, "\(key): waiting for this server's shipper to finish uploading blocks of the stream")
                    stats?.add(.groupsSkipped, "reason=\"upload-in-progress\"")
                    continue
                }
                if resolution == 0, let uploading {
                    note(&result, "\(key): waiting for partial upload \(uploading.ulid) (no meta.json yet) to finish or age past the consistency delay")
                    stats?.add(.groupsSkipped, "reason=\"partial-upload\"")
                    continue
                }
                let byTime = plan.sorted { $0.minTime < $1.minTime }
                let overlapping = zip(byTime, byTime.dropFirst()).contains { $1.minTime < $0.maxTime }
                let ulid: String
                do { ulid = try await compact(plan, labels: labels, resolution: resolution, bucket: bucket, workDir: workDir) } catch {
                    stats?.add(.groupCompactionFailures, resolution: resolution)
                    throw error
                }
                stats?.add(.groupCompactions, resolution: resolution)
                if overlapping { stats?.add(.verticalCompactions, resolution: resolution) }
                for (i, input) in plan.enumerated() {
                    try await markForDeletion(bucket, input.ulid, details: "source of compacted block", now: nowSeconds, stats: stats)
                    if i == 0 { CrashPoint.reached("compact.marked-first-input") }
                }
                result.compacted[ulid] = plan.map(\.ulid)
                merged = true
            }
            if !merged { break }
            (blocks, partials) = try await BucketBlocks.scan(bucket)
        }

        // Two passes, each over the bucket as it is then: the second gives 1h copies to the 5m
        // blocks the first wrote. A pass with nothing to do leaves the bucket as it was.
        var pass = 0
        while options.downsampling && pass < 2 {
            pass += 1
            let (jobs, skipped) = BucketDownsampler.plan(blocks, nowMillis: nowMillis, consistencyDelay: options.consistencyDelay,
                                                         deleteDelay: options.deleteDelay)
            for why in skipped { note(&result, why) }
            if jobs.isEmpty { break }
            for job in jobs {
                // Thanos counts attempts, failed ones too, by the input block's resolution.
                stats?.add(.downsamples, resolution: job.from)
                let ulid: String
                do { ulid = try await BucketDownsampler.downsample(job, bucket: bucket, workDir: workDir) } catch {
                    stats?.add(.downsampleFailures, resolution: job.from)
                    throw error
                }
                result.downsampled[ulid] = job.ulid
            }
            (blocks, partials) = try await BucketBlocks.scan(bucket)
        }

        for e in blocks where !e.markers.contains(.deletion) {
            guard let keep = options.retention[e.resolution], keep > 0, nowMillis - e.meta.maxTime > keep else { continue }
            try await markForDeletion(bucket, e.meta.ulid, details: "block exceeding retention of \(formatPrometheusDuration(milliseconds: keep))",
                                      now: nowSeconds, stats: stats)
            result.expired.append(e.meta.ulid)
        }

        // Marks put in this iteration count too: with a zero delay, the inputs go at once.
        let cleaned = try await BucketOperations.cleanup(bucket, deleteDelay: options.deleteDelay, partialAge: options.partialUploadAge,
                                                         nowMillis: nowMillis, stats: stats)
        result.deleted = cleaned.deletedMarked
        result.deletedPartial = cleaned.deletedPartial
        stats?.add(.iterations)
        stats?.lastSuccessMillis.store(WallClock.nowMillis(), ordering: .relaxed)
        return result
    }

    /// Fresh as Thanos' consistency filter has it: uploaded (or, without an upload time, created)
    /// less than `delay` ago, and not written by a compactor or a repair.
    static func isFresh(_ e: BucketBlocks.Entry, nowMillis: Int64, delay: Int64) -> Bool {
        guard delay > 0 else { return false }
        if let source = e.thanos?.source, source.hasPrefix("compactor") || source == "bucket.repair" { return false }
        let uploaded = e.thanos?.uploadTime.flatMap(BlockCatalog.parseRFC3339).map { Int64($0 * 1000) }
        let born = (uploaded ?? 0) > 0 ? uploaded! : Int64(ULID.time(e.meta.ulid) ?? 0)
        return nowMillis - born < delay
    }

    private static func note(_ result: inout Result, _ why: String) {
        if !result.skipped.contains(why) { result.skipped.append(why) }
    }

    private static func markForDeletion(_ bucket: any Bucket, _ ulid: String, details: String, now: Int64, stats: CompactorStats?) async throws {
        if try await BucketOperations.mark(bucket, ulid: ulid, kind: .deletion, details: details, now: now) == .marked {
            stats?.add(.blocksMarked, "marker=\"deletion-mark.json\",reason=\"\"")
        }
    }

    /// Downloads `inputs`, merges them and uploads the result; returns its ULID.
    static func compact(_ inputs: [BlockMeta], labels: [String: String], resolution: Int64 = 0, bucket: any Bucket,
                        workDir: String) async throws -> String {
        let dir = workDir + "/" + ULID.make()
        try FileSystem.mkdirAll(dir + "/in")
        try FileSystem.mkdirAll(dir + "/out")
        defer { try? FileSystem.removeAll(dir) }
        var blocks: [Block] = []
        for m in inputs {
            let path = try await BucketOperations.download(bucket, ulid: m.ulid, into: dir + "/in")
            blocks.append(try Block(dir: path))
        }
        CrashPoint.reached("compact.downloaded")
        let merged = blocks
        var thanos = ThanosMeta(labels: labels, source: "compactor")
        thanos.resolution = resolution
        let meta = try await BlockingThread.run { [thanos] in try BlockCompactor.compact(merged, into: dir + "/out", thanos: thanos) }
        CrashPoint.reached("compact.written")
        let r = try await BucketOperations.upload(path: dir + "/out/" + meta.ulid, bucket: bucket, labels: labels,
                                                  uploadCompacted: true, source: "compactor")
        guard r.uploaded == [meta.ulid] else { throw ShipperError("compacted block \(meta.ulid) was not uploaded: \(r)") }
        CrashPoint.reached("compact.uploaded")
        return meta.ulid
    }
}
