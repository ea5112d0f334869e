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

        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"))
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
        #expect(try await BucketInspection.verify(bucket).isEmpty)

        // The merged block holds every sample of its inputs, in order, once.
        let merged = try Block(dir: try await BucketOperations.download(bucket, ulid: newULID, into: tmp.file("check")))
        var got: [Sample] = []
        for s in try merged.querier(mint: .min, maxt: .max).select([try LabelMatcher(.equal, "i", "2")], hints: SelectHints(mint: .min, maxt: .max)) {
            try s.samples(mint: .min, maxt: .max, into: &got)
        }
        #expect(got == stride(from: Int64(0), to: 8 * Self.hour, by: 60_000).map { Sample(t: $0, v: 2 + Double($0 / 60_000)) })

        // A second pass has nothing to merge; once the delay passes, cleanup deletes the inputs.
        #expect(try await BucketCompactor.run(bucket, workDir: tmp.file("work")) == BucketCompactor.Result())
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
        #expect(try await BucketInspection.verify(bucket).isEmpty, "the sources and the merged block overlap only as sources, which verify accepts")
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"))
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
        let r = try await BucketCompactor.run(bucket, workDir: tmp.file("work"))
        #expect(r.compacted.values.allSatisfy { !$0.contains(db.blocks[1].ulid) }, "\(r)")
    }
}
