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
}
