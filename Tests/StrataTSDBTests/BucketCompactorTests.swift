import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataBlockStore
@testable import StrataObjectStore
@testable import StrataTSDB
@testable import StrataTools

/// `strata bucket compact --once`: Thanos' leveled compaction over shipped 2h blocks.
@Suite struct BucketCompactorTests {
    static let hour: Int64 = 3_600_000

    /// Blocks just shipped are compacted at once (no consistency delay).
    static var immediate: BucketCompactor.Options {
        var o = BucketCompactor.Options()
        o.consistencyDelay = 0
        return o
    }

    /// Five 2h blocks (10h of 4 series, one sample a minute) shipped to a filesystem bucket.
    static func shipped(_ tmp: TempDir) async throws -> (DB, FilesystemBucket) {
        var options = HeadOptions()
        options.chunkRange = 2 * hour
        let head = Head(options: options)
        let app = head.appender()
        for i in 0 ..< 4 {
            app.append(Labels([("__name__", "m"), ("i", String(i))]),
                       stride(from: Int64(0), to: 12 * hour, by: 60_000).map { Sample(t: $0, v: Double(i) + Double($0 / 60_000)) })
        }
        try app.commit()
        var dbOptions = DBOptions()
        dbOptions.blockRanges = []
        let db = try DB(dir: tmp.file("data"), head: head, options: dbOptions)
        _ = try db.compactHead()
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        try await Shipper(dataDir: tmp.file("data"), bucket: bucket, externalLabels: ["tenant_id": "t"]).sync()
        return (db, bucket)
    }

    @Test func fourTwoHourBlocksBecomeOneEightHourBlock() async throws {
        let tmp = try TempDir("bucket-compact"); defer { tmp.remove() }
        let (db, bucket) = try await Self.shipped(tmp)
        let ulids = db.blocks.map(\.ulid)
        #expect(db.blocks.map { $0.maxTime - $0.minTime } == [Int64](repeating: 2 * Self.hour, count: 5))

        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate)
        #expect(r.compacted.count == 1 && r.outdated.isEmpty, "\(r)")
        let (newULID, inputs) = try #require(r.compacted.first)
        #expect(inputs == Array(ulids[0 ..< 4]), "the 8h window's blocks, not the newest")
        let meta = try BlockMeta.parse(Data(try await bucket.get(newULID + "/meta.json")), path: newULID)
        #expect(meta.minTime == 0 && meta.maxTime == 8 * Self.hour && meta.compaction.level == 2)
        #expect(meta.compaction.sources == Array(ulids[0 ..< 4]).sorted())
        #expect(meta.stats.numSamples == 4 * 480 && meta.stats.numSeries == 4)
        let thanos = try #require(ThanosMeta.from(meta))
        #expect(thanos.source == "compactor" && thanos.labels == ["tenant_id": "t"] && thanos.resolution == 0)
        for u in ulids[0 ..< 4] {
            let mark = try BlockMarker.parse(try await bucket.get(u + "/deletion-mark.json"), kind: .deletion)
            #expect(mark.details == "source of compacted block")
        }
        #expect(try await bucket.exists(ulids[4] + "/deletion-mark.json") == false)
        #expect(try await BucketInspection.verify(bucket).problems.isEmpty)

        // The merged block holds every sample of its inputs, in order, once.
        let merged = try Block(dir: try await BucketOperations.download(bucket, ulid: newULID, into: tmp.file("check")))
        var got: [Sample] = []
        for s in try merged.querier(mint: .min, maxt: .max).select([try LabelMatcher(.equal, "i", "2")], hints: SelectHints(mint: .min, maxt: .max)) {
            try s.samples(mint: .min, maxt: .max, into: &got)
        }
        #expect(got == stride(from: Int64(0), to: 8 * Self.hour, by: 60_000).map { Sample(t: $0, v: 2 + Double($0 / 60_000)) })

        // A second pass has nothing to merge; once the delay passes, cleanup deletes the inputs.
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate) == BucketCompactor.Result())
        let later = Int64(Date().timeIntervalSince1970 * 1000) + 49 * Self.hour
        let cleaned = try await BucketOperations.cleanup(bucket, deleteDelay: 48 * Self.hour, partialAge: 48 * Self.hour, nowMillis: later)
        #expect(Set(cleaned.deletedMarked) == Set(ulids[0 ..< 4]))
        #expect(try await BucketBlocks.list(bucket).map(\.meta.ulid) == [newULID, ulids[4]])
    }

    @Test func aCrashBetweenUploadAndMarksIsFinishedByTheNextPass() async throws {
        let tmp = try TempDir("bucket-compact-crash"); defer { tmp.remove() }
        let (db, bucket) = try await Self.shipped(tmp)
        let ulids = db.blocks.map(\.ulid)
        // The merged block uploaded, the inputs not marked yet (the process died there).
        let inputs = try await BucketBlocks.list(bucket).map(\.meta).filter { ulids[0 ..< 4].contains($0.ulid) }
        let newULID = try await BucketCompactor.compact(inputs, labels: ["tenant_id": "t"], bucket: bucket, workDir: tmp.file("work"))
        #expect(try await BucketInspection.verify(bucket).problems.isEmpty, "the sources and the merged block overlap only as sources, which verify accepts")
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate)
        #expect(r.compacted.isEmpty && Set(r.outdated) == Set(ulids[0 ..< 4]), "\(r)")
        for u in ulids[0 ..< 4] {
            #expect(try BlockMarker.parse(try await bucket.get(u + "/deletion-mark.json"), kind: .deletion).details == "outdated block")
        }
        #expect(try await bucket.exists(newULID + "/deletion-mark.json") == false)
    }

    @Test func noCompactMarksAreHonoured() async throws {
        let tmp = try TempDir("bucket-compact-nocompact"); defer { tmp.remove() }
        let (db, bucket) = try await Self.shipped(tmp)
        _ = try await BucketOperations.mark(bucket, ulid: db.blocks[1].ulid, kind: .noCompact, details: "keep")
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate)
        #expect(r.compacted.values.allSatisfy { !$0.contains(db.blocks[1].ulid) }, "\(r)")
    }

    @Test func freshBlocksWaitForTheConsistencyDelay() async throws {
        let tmp = try TempDir("bucket-compact-fresh"); defer { tmp.remove() }
        _ = try await Self.shipped(tmp)
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work")).compacted.isEmpty, "uploaded less than 30m ago")
        let later = WallClock.nowMillis() + 31 * 60_000
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work"), nowMillis: later).compacted.count == 1)
    }

    @Test func aGroupWaitsWhileAnUploadIntoItIsIncomplete() async throws {
        let tmp = try TempDir("bucket-compact-pending"); defer { tmp.remove() }
        let (_, bucket) = try await Self.shipped(tmp)
        var options = Self.immediate
        options.pendingUploads = { [["tenant_id": "t"]] }
        let stats = CompactorStats()
        var r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: options, stats: stats)
        #expect(r.compacted.isEmpty && r.skipped == ["tenant_id=t@0: waiting for this server's shipper to finish uploading blocks of the stream"], "\(r)")
        #expect(stats.value(.groupsSkipped, "reason=\"upload-in-progress\"") == 1)

        // Another writer's partial upload (no meta.json yet, written just now) holds raw groups
        // back until it is older than the consistency delay.
        options = BucketCompactor.Options()
        let now = WallClock.nowMillis() + 3_600_000 // the shipped blocks are an hour old by then
        try await bucket.upload("01JAAAAAAAAAAAAAAAAAAAAAAA/index", bytes: [1, 2, 3])
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(now) / 1000)],
                                              ofItemAtPath: tmp.file("bucket/01JAAAAAAAAAAAAAAAAAAAAAAA/index"))
        r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: options, nowMillis: now)
        #expect(r.compacted.isEmpty && r.skipped.first?.contains("waiting for partial upload 01JAAAAAAAAAAAAAAAAAAAAAAA") == true, "\(r)")
        r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: options, nowMillis: now + 31 * 60_000)
        #expect(r.compacted.count == 1 && r.skipped.isEmpty, "\(r)")
    }

    @Test func retentionPerResolutionMarksOldBlocksAndTheDeleteDelayRemovesThem() async throws {
        let tmp = try TempDir("bucket-compact-retention"); defer { tmp.remove() }
        let (db, bucket) = try await Self.shipped(tmp)
        let ulids = db.blocks.map(\.ulid)
        var options = Self.immediate
        options.retention = [0: 30 * 24 * Self.hour, 300_000: 0]
        options.deleteDelay = 0
        let stats = CompactorStats()
        // 30 days after the 8h block ends: it expires, the newest 2h block (8h-10h) does not yet.
        let now = 8 * Self.hour + 30 * 24 * Self.hour + 1
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: options, stats: stats, nowMillis: now)
        let (merged, inputs) = try #require(r.compacted.first)
        #expect(inputs == Array(ulids[0 ..< 4]) && r.expired == [merged], "\(r)")
        #expect(Set(r.deleted) == Set(ulids[0 ..< 4] + [merged]), "marked in this iteration, deleted in it with a zero delay")
        #expect(try await BucketBlocks.list(bucket).map(\.meta.ulid) == [ulids[4]])
        #expect(stats.value(.groupCompactions, "resolution=\"0\"") == 1 && stats.value(.verticalCompactions, "resolution=\"0\"") == 0)
        #expect(stats.value(.blocksMarked, "marker=\"deletion-mark.json\",reason=\"\"") == 5)
        #expect(stats.value(.blocksCleaned) == 5 && stats.value(.iterations) == 1)
    }

    @Test func overlappingBlocksOfOneStreamAreMergedVertically() async throws {
        let tmp = try TempDir("bucket-compact-vertical"); defer { tmp.remove() }
        let (db, bucket) = try await Self.shipped(tmp)
        // A second writer of the same stream (an HA twin under the same labels) with an extra
        // series; its first 2h block overlaps the first block of the stream.
        var options = HeadOptions()
        options.chunkRange = 2 * Self.hour
        let head = Head(options: options)
        let app = head.appender()
        app.append(Labels([("__name__", "m"), ("i", "9")]), stride(from: Int64(0), to: 4 * Self.hour, by: 60_000).map { Sample(t: $0, v: 9) })
        try app.commit()
        var dbOptions = DBOptions()
        dbOptions.blockRanges = []
        let twin = try DB(dir: tmp.file("twin"), head: head, options: dbOptions)
        _ = try twin.compactHead()
        try #require(twin.blocks.count == 1)
        try await Shipper(dataDir: tmp.file("twin"), bucket: bucket, externalLabels: ["tenant_id": "t"]).sync()
        let stats = CompactorStats()
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        #expect(r.compacted.values.contains { Set($0) == [db.blocks[0].ulid, twin.blocks[0].ulid] }, "\(r)")
        #expect(stats.value(.verticalCompactions, "resolution=\"0\"") == 1)
        #expect(try await BucketInspection.verify(bucket).problems.isEmpty)
    }

    // MARK: downsampling

    /// A raw block of three series, one sample every `step` ms in `[mint, maxt)`, written with
    /// `BlockWriter` (level 3 with `sources` when given, else its own source) and uploaded
    /// under `labels`.
    static func uploadRaw(_ tmp: TempDir, _ bucket: FilesystemBucket, mint: Int64, maxt: Int64, step: Int64,
                          labels: [String: String] = ["tenant_id": "t"], sources: [String]? = nil) async throws -> (meta: BlockMeta, samples: [Labels: [Sample]]) {
        var samples: [Labels: [Sample]] = [:]
        for i in 0 ..< 3 {
            let base = Double(i * 1000)
            let series: [Sample] = stride(from: mint, to: maxt, by: Int(step)).map { (t: Int64) -> Sample in
                let wobble: Int64 = (t / step * 7) % 101
                return Sample(t: t, v: base + Double(wobble))
            }
            samples[Labels([("__name__", "m"), ("i", String(i))])] = series
        }
        var compaction: BlockMeta.Compaction?
        if let sources {
            var c = BlockMeta.Compaction()
            c.level = 3
            c.sources = sources
            compaction = c
        }
        let dir = tmp.file("blocks")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let meta = try BlockWriter.write(parentDir: dir, mint: mint, maxt: maxt,
                                         series: samples.map { BlockSeriesInput(labels: $0.key, chunks: XORChunk.encodeChunks($0.value)) },
                                         compaction: compaction)
        let r = try await BucketOperations.upload(path: dir + "/" + meta.ulid, bucket: bucket, labels: labels, uploadCompacted: true)
        try #require(r.uploaded == [meta.ulid])
        return (meta, samples)
    }

    /// One window of raw samples, computed the plain way.
    struct Window: Equatable {
        var end: Int64
        var lastT: Int64
        var count = 0.0, sum = 0.0, min = Double.infinity, max = -Double.infinity
    }

    static func windows(_ raw: [Sample], _ r: Int64) -> [Window] {
        var out: [Window] = []
        for s in raw {
            let end = s.t - s.t % r + r - 1
            if out.last?.end != end { out.append(Window(end: end, lastT: s.t)) }
            out[out.count - 1].lastT = s.t
            out[out.count - 1].count += 1
            out[out.count - 1].sum += s.v
            out[out.count - 1].min = Swift.min(out[out.count - 1].min, s.v)
            out[out.count - 1].max = Swift.max(out[out.count - 1].max, s.v)
        }
        return out
    }


    /// count/sum/min/max of `chunks` equal the raw samples' per window of `r`, every window once,
    /// in order. With `exactTimes`, each sample is at its window's end, a chunk's last one at
    /// its window's last raw timestamp if that is earlier; otherwise only inside its window.
    static func checkAggregates(_ chunks: [EncodedChunk], raw: [Sample], r: Int64, exactTimes: Bool) throws {
        let model = windows(raw, r)
        var got: [(t: Int64, count: Double, sum: Double, min: Double, max: Double, lastInChunk: Bool)] = []
        for c in chunks {
            #expect(c.encoding == AggrChunk.encoding)
            let count = try AggrChunk.samples(c.bytes, .count), sum = try AggrChunk.samples(c.bytes, .sum)
            let min = try AggrChunk.samples(c.bytes, .min), max = try AggrChunk.samples(c.bytes, .max)
            try #require(sum.count == count.count && min.count == count.count && max.count == count.count)
            for i in count.indices {
                #expect(sum[i].t == count[i].t && min[i].t == count[i].t && max[i].t == count[i].t)
                got.append((count[i].t, count[i].v, sum[i].v, min[i].v, max[i].v, i == count.count - 1))
            }
        }
        try #require(got.count == model.count, "\(got.count) windows, want \(model.count)")
        for (g, w) in zip(got, model) {
            #expect(g.count == w.count && g.sum == w.sum && g.min == w.min && g.max == w.max, "window ending \(w.end)")
            if exactTimes {
                #expect(g.t == (g.lastInChunk ? Swift.min(w.end, w.lastT) : w.end))
            } else {
                #expect(g.t / r == w.end / r)
            }
        }
    }

    static func downloaded(_ bucket: FilesystemBucket, _ ulid: String, _ tmp: TempDir) async throws -> Block {
        try Block(dir: try await BucketOperations.download(bucket, ulid: ulid, into: tmp.file("check")))
    }

    @Test func aRawBlockOf40hOrMoreGetsA5mCopyOnce() async throws {
        let tmp = try TempDir("bucket-downsample"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        // Three days of raw data: a 2d block (level 3, as compaction makes them) and a 1d one.
        let sources = ["01HAAAAAAAAAAAAAAAAAAAAAA1", "01HAAAAAAAAAAAAAAAAAAAAAA2"]
        let (raw, samples) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 48 * Self.hour, step: 60_000, sources: sources)
        let (younger, _) = try await Self.uploadRaw(tmp, bucket, mint: 48 * Self.hour, maxt: 72 * Self.hour, step: 60_000)

        let stats = CompactorStats()
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        #expect(r.compacted.isEmpty && r.outdated.isEmpty && r.skipped.isEmpty, "\(r)")
        let (ulid, input) = try #require(r.downsampled.first)
        #expect(r.downsampled.count == 1 && input == raw.ulid, "the 24h block \(younger.ulid) is too short: \(r)")
        #expect(stats.value(.downsamples, "resolution=\"0\"") == 1, "Thanos labels attempts by the input's resolution")
        #expect(stats.value(.downsamples, "resolution=\"300000\"") == 0 && stats.value(.downsampleFailures, "resolution=\"0\"") == 0)

        let block = try await Self.downloaded(bucket, ulid, tmp)
        let thanos = try #require(ThanosMeta.from(block.meta))
        #expect(thanos.resolution == 300_000 && thanos.source == "compactor" && thanos.labels == ["tenant_id": "t"])
        #expect(block.meta.compaction.sources == sources && block.meta.compaction.level == 3)
        #expect(block.meta.minTime == 0 && block.meta.maxTime == 48 * Self.hour)
        let aggr = try block.encodedChunksBySeries()
        #expect(Set(aggr.keys) == Set(samples.keys))
        for (labels, raw) in samples {
            let chunks = try #require(aggr[labels])
            try Self.checkAggregates(chunks, raw: raw, r: 300_000, exactTimes: true)
            // The last window ends at the last raw sample, not at the window's end.
            #expect(try AggrChunk.samples(try #require(chunks.last).bytes, .count).last?.t == 48 * Self.hour - 60_000)
        }
        #expect(try await BucketInspection.verify(bucket).problems.isEmpty)

        // The raw block's sources are covered now: nothing to do, and the raw block is not
        // taken for an outdated one (its 5m copy holds the same sources, in another group).
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats) == BucketCompactor.Result())
        #expect(stats.value(.downsamples, "resolution=\"0\"") == 1)
        #expect(try await bucket.exists(raw.ulid + "/deletion-mark.json") == false)
        #expect(Set(try await BucketBlocks.list(bucket).map(\.meta.ulid)) == [raw.ulid, younger.ulid, ulid])
    }

    @Test func rawBlocksShorterThan40hAreNotDownsampled() async throws {
        let tmp = try TempDir("bucket-downsample-short"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        // Two streams (no merging between them): 1 ms short of 40h, and exactly 40h.
        let (short, _) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 40 * Self.hour - 1, step: 600_000, labels: ["tenant_id": "a"])
        let (exact, _) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 40 * Self.hour, step: 600_000, labels: ["tenant_id": "b"])
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate)
        #expect(Array(r.downsampled.values) == [exact.ulid], "not \(short.ulid): \(r)")
    }

    @Test func noDownsampleMarksAndTheDisableFlagAreHonoured() async throws {
        let tmp = try TempDir("bucket-downsample-marks"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        let (a, _) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 48 * Self.hour, step: 600_000, labels: ["tenant_id": "a"])
        let (b, _) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 48 * Self.hour, step: 600_000, labels: ["tenant_id": "b"])
        #expect(try await BucketOperations.mark(bucket, ulid: a.ulid, kind: .noDownsample, details: "keep raw only") == .marked)

        var off = Self.immediate
        off.downsampling = false
        let stats = CompactorStats()
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: off, stats: stats).downsampled.isEmpty)
        #expect(stats.value(.downsamples, "resolution=\"0\"") == 0)

        var r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        #expect(Array(r.downsampled.values) == [b.ulid], "\(r)")
        // Without its mark, the block is downsampled at the next iteration.
        #expect(try await BucketOperations.mark(bucket, ulid: a.ulid, kind: .noDownsample, details: "", remove: true) == .removed)
        r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        #expect(Array(r.downsampled.values) == [a.ulid], "\(r)")
        #expect(stats.value(.downsamples, "resolution=\"0\"") == 2)
    }

    @Test func aFiveMinuteBlockOf10dOrMoreGetsA1hCopyInTheSecondPass() async throws {
        let tmp = try TempDir("bucket-downsample-1h"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        let (raw, samples) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 240 * Self.hour, step: 600_000)
        let stats = CompactorStats()
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        try #require(r.downsampled.count == 2, "\(r)")
        #expect(stats.value(.downsamples, "resolution=\"0\"") == 1 && stats.value(.downsamples, "resolution=\"300000\"") == 1)

        var byResolution: [Int64: Block] = [:]
        for ulid in r.downsampled.keys {
            let b = try await Self.downloaded(bucket, ulid, tmp)
            byResolution[ThanosMeta.from(b.meta)?.resolution ?? 0] = b
        }
        let b5 = try #require(byResolution[300_000]), b1h = try #require(byResolution[3_600_000])
        #expect(r.downsampled[b5.ulid] == raw.ulid && r.downsampled[b1h.ulid] == b5.ulid)
        #expect(b1h.meta.compaction.sources == [raw.ulid] && b1h.meta.minTime == 0 && b1h.meta.maxTime == 240 * Self.hour)
        #expect(ThanosMeta.from(b1h.meta)?.source == "compactor")
        let aggr5 = try b5.encodedChunksBySeries(), aggr1h = try b1h.encodedChunksBySeries()
        for (labels, raw) in samples {
            try Self.checkAggregates(try #require(aggr5[labels]), raw: raw, r: 300_000, exactTimes: true)
            try Self.checkAggregates(try #require(aggr1h[labels]), raw: raw, r: 3_600_000, exactTimes: false)
        }
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate).downsampled.isEmpty)
    }

    @Test func twoDayFiveMinuteBlocksAreMergedIntoFourteenDaysAndGetTheir1hCopy() async throws {
        let tmp = try TempDir("bucket-compact-5m"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        // Eight 2d raw blocks (16 days); kept as they are, so each gets its own 5m copy.
        let day: Int64 = 24 * Self.hour
        var raws: [(meta: BlockMeta, samples: [Labels: [Sample]])] = []
        for d in stride(from: Int64(0), to: 16, by: 2) {
            raws.append(try await Self.uploadRaw(tmp, bucket, mint: d * day, maxt: (d + 2) * day, step: 600_000))
            _ = try await BucketOperations.mark(bucket, ulid: raws.last!.meta.ulid, kind: .noCompact, details: "test")
        }
        let first = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate)
        #expect(first.downsampled.count == 8 && first.compacted.isEmpty, "\(first)")

        // The next iteration merges the seven 5m blocks of the first 14 days (not the newest),
        // then downsamples the 14d 5m block to 1h.
        let stats = CompactorStats()
        let second = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        let (merged, inputs) = try #require(second.compacted.first)
        #expect(second.compacted.count == 1 && inputs.count == 7, "\(second)")
        #expect(stats.value(.groupCompactions, "resolution=\"300000\"") == 1 && stats.value(.downsamples, "resolution=\"300000\"") == 1)
        let b5 = try await Self.downloaded(bucket, merged, tmp)
        #expect(ThanosMeta.from(b5.meta)?.resolution == 300_000 && ThanosMeta.from(b5.meta)?.source == "compactor")
        #expect(b5.meta.minTime == 0 && b5.meta.maxTime == 14 * day && Set(b5.meta.compaction.sources) == Set(raws.prefix(7).map(\.meta.ulid)))
        let (oneHour, from) = try #require(second.downsampled.first)
        #expect(second.downsampled.count == 1 && from == merged, "\(second)")
        let b1h = try await Self.downloaded(bucket, oneHour, tmp)
        let aggr5 = try b5.encodedChunksBySeries(), aggr1h = try b1h.encodedChunksBySeries()
        for labels in raws[0].samples.keys {
            let raw = raws.prefix(7).flatMap { $0.samples[labels]! }
            try Self.checkAggregates(try #require(aggr5[labels]), raw: raw, r: 300_000, exactTimes: true)
            try Self.checkAggregates(try #require(aggr1h[labels]), raw: raw, r: 3_600_000, exactTimes: false)
        }
        #expect(try await BucketInspection.verify(bucket).problems.isEmpty)
    }

    @Test func overlappingDownsampledBlocksAreMergedNotLeftAlone() async throws {
        let tmp = try TempDir("bucket-compact-5m-overlap"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        // Two writers of one stream, the same two days each (kept raw), and a later block.
        var raw: [Labels: [Sample]] = [:]
        for (mint, maxt) in [(0, 48), (0, 48), (48, 96)] as [(Int64, Int64)] {
            let (meta, samples) = try await Self.uploadRaw(tmp, bucket, mint: mint * Self.hour, maxt: maxt * Self.hour, step: 600_000)
            _ = try await BucketOperations.mark(bucket, ulid: meta.ulid, kind: .noCompact, details: "test")
            if mint == 0 { raw = samples }
        }
        let first = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate)
        #expect(first.downsampled.count == 3)
        let copies = Set(first.downsampled.keys)
        let stats = CompactorStats()
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        let (merged, inputs) = try #require(r.compacted.first)
        #expect(r.compacted.count == 1 && inputs.count == 2 && copies.isSuperset(of: inputs) && r.skipped.isEmpty, "\(r)")
        #expect(stats.value(.verticalCompactions, "resolution=\"300000\"") == 1)
        let b5 = try await Self.downloaded(bucket, merged, tmp)
        #expect(ThanosMeta.from(b5.meta)?.resolution == 300_000 && b5.meta.minTime == 0 && b5.meta.maxTime == 48 * Self.hour)
        let aggr = try b5.encodedChunksBySeries()
        #expect(Set(aggr.keys) == Set(raw.keys))
        for (labels, samples) in raw {
            // Two copies of the same samples: every window once.
            try Self.checkAggregates(try #require(aggr[labels]), raw: samples, r: 300_000, exactTimes: false)
        }
        // The two raw blocks (marked no-compact) still overlap; the 5m stream no longer does.
        let problems = try await BucketInspection.verify(bucket).problems
        #expect(problems.count == 1 && problems.allSatisfy { $0.contains("@0}") }, "\(problems)")
    }

    @Test func whichBlocksAPassDownsamplesFollowsThanos() {
        let day: Int64 = 24 * Self.hour
        func entry(_ ulid: String, _ resolution: Int64, span: Int64, sources: [String], labels: [String: String] = ["tenant_id": "t"]) -> BucketBlocks.Entry {
            var c = BlockMeta.Compaction()
            c.sources = sources
            var thanos = ThanosMeta(labels: labels, source: "compactor")
            thanos.resolution = resolution
            return BucketBlocks.Entry(meta: BlockMeta(ulid: ulid, minTime: 0, maxTime: span, compaction: c), thanos: thanos)
        }
        let now = WallClock.nowMillis()
        func plan(_ blocks: [BucketBlocks.Entry]) -> [String] {
            BucketDownsampler.plan(blocks, nowMillis: now, consistencyDelay: 30 * 60_000, deleteDelay: 48 * Self.hour).jobs.map(\.ulid)
        }
        // Raw: downsampled while one of its sources is in no 5m block, whichever 5m blocks hold the others.
        #expect(plan([entry("R", 0, span: 2 * day, sources: ["a", "b"]), entry("F", 300_000, span: 2 * day, sources: ["a"])]) == ["R"])
        #expect(plan([entry("R", 0, span: 14 * day, sources: ["a", "b"]), entry("F1", 300_000, span: 2 * day, sources: ["a"]),
                      entry("F2", 300_000, span: 2 * day, sources: ["b"])]) == [])
        // Without sources nothing is missing (Thanos' loop over them finds none).
        #expect(plan([entry("R", 0, span: 2 * day, sources: [])]) == [])
        // 5m → 1h from 10d; 1h blocks are final; oldest ULID first.
        #expect(plan([entry("B", 300_000, span: 10 * day, sources: ["b"]), entry("A", 300_000, span: 10 * day - 1, sources: ["a"]),
                      entry("C", 3_600_000, span: 20 * day, sources: ["c"]), entry("0", 0, span: 40 * Self.hour, sources: ["z"])]) == ["0", "B"])
        #expect(BucketDownsampler.plan([entry("B", 300_000, span: 10 * day, sources: ["b"])], nowMillis: now, consistencyDelay: 0, deleteDelay: 0).jobs
            == [BucketDownsampler.Job(ulid: "B", from: 300_000, to: 3_600_000, labels: ["tenant_id": "t"])])
        // Sources are ULIDs, unique bucket-wide: Thanos looks them up over all blocks, whatever their stream.
        #expect(plan([entry("R", 0, span: 2 * day, sources: ["a"]), entry("F", 300_000, span: 2 * day, sources: ["a"], labels: ["tenant_id": "u"])]) == [])

        // A no-downsample mark keeps a block out, and out of the coverage (as Thanos' filtered metas).
        var marked = entry("R", 0, span: 2 * day, sources: ["a"])
        marked.markers = [.noDownsample]
        #expect(plan([marked]) == [])
        var markedCopy = entry("F", 300_000, span: 2 * day, sources: ["a"])
        markedCopy.markers = [.noDownsample]
        #expect(plan([entry("R", 0, span: 2 * day, sources: ["a"]), markedCopy]) == ["R"])

        // A deletion mark: never downsampled; its sources covered while Thanos' sync still sees
        // the block (marked less than half the delete delay ago).
        var deleted = entry("R", 0, span: 2 * day, sources: ["a"])
        deleted.markers = [.deletion]
        deleted.deletionMarkedAt = now / 1000
        #expect(plan([deleted]) == [])
        var deletedCopy = entry("F", 300_000, span: 2 * day, sources: ["a"])
        deletedCopy.markers = [.deletion]
        deletedCopy.deletionMarkedAt = now / 1000 - 3600
        #expect(plan([entry("R", 0, span: 2 * day, sources: ["a"]), deletedCopy]) == [])
        deletedCopy.deletionMarkedAt = now / 1000 - 25 * 3600
        #expect(plan([entry("R", 0, span: 2 * day, sources: ["a"]), deletedCopy]) == ["R"])

        // A block covered by another of its group (an outdated compaction input) is not a candidate.
        #expect(plan([entry("R1", 0, span: 2 * day, sources: ["a"]), entry("R2", 0, span: 4 * day, sources: ["a", "b"])]) == ["R2"])

        // Fresh blocks wait for the consistency delay; blocks without external labels are left out, with why.
        var fresh = entry("R", 0, span: 2 * day, sources: ["a"])
        fresh.thanos?.source = "sidecar"
        fresh.thanos?.uploadTime = Shipper.rfc3339(Date())
        #expect(plan([fresh]) == [])
        let unlabelled = BucketDownsampler.plan([entry("R", 0, span: 2 * day, sources: ["a"], labels: [:])], nowMillis: now,
                                                consistencyDelay: 0, deleteDelay: 0)
        #expect(unlabelled.jobs.isEmpty && unlabelled.skipped.count == 1)
    }

    @Test func aFailedDownsamplingFailsTheIterationAndIsCounted() async throws {
        let tmp = try TempDir("bucket-downsample-fail"); defer { tmp.remove() }
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        let (raw, _) = try await Self.uploadRaw(tmp, bucket, mint: 0, maxt: 48 * Self.hour, step: 600_000)
        let segment = raw.ulid + "/chunks/000001"
        try await bucket.upload(segment, bytes: [UInt8](repeating: 0, count: try await bucket.get(segment).count))
        let stats = CompactorStats()
        await #expect(throws: (any Error).self) {
            try await BucketCompactor.run(bucket, workDir: tmp.file("work"), options: Self.immediate, stats: stats)
        }
        #expect(stats.value(.downsamples, "resolution=\"0\"") == 1 && stats.value(.downsampleFailures, "resolution=\"0\"") == 1)
        #expect(stats.value(.iterations) == 0)
        #expect(try await BucketBlocks.list(bucket).map(\.meta.ulid) == [raw.ulid], "nothing uploaded")
    }
}
