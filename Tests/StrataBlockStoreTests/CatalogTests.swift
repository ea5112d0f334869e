import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataBlockStore
@testable import StrataObjectStore
@testable import StrataTSDB

/// The SQLite block catalog: created, migrated, replaced when damaged, rebuilt from the data
/// directory and the bucket, and kept in step by the shipper.
@Suite struct CatalogTests {
    static func userVersion(_ path: String) throws -> Int64 {
        let c = try SQLiteConnection(path: path)
        var v: Int64 = -1
        try c.query("PRAGMA user_version") { v = $0.int(0) }
        return v
    }

    @Test func createdMigratedAndReopened() throws {
        let dir = try TempDir("catalog"); defer { dir.remove() }
        let first = try BlockCatalog(dataDir: dir.path)
        #expect(first.recreatedBecause == "no catalog yet")
        #expect(try Self.userVersion(first.path) == Int64(BlockCatalog.migrations.count))
        var journal = ""
        try SQLiteConnection(path: first.path).query("PRAGMA journal_mode") { journal = $0.text(0) ?? "" }
        #expect(journal == "wal")
        var meta = BlockMeta(ulid: "01JAAAAAAAAAAAAAAAAAAAAAAA", minTime: 0, maxTime: 10)
        meta.stats.numSamples = 5
        try first.recordLocal(meta, sizeBytes: 100)
        let again = try BlockCatalog(dataDir: dir.path)
        #expect(again.recreatedBecause == nil)
        #expect(try again.blocks().map(\.ulid) == ["01JAAAAAAAAAAAAAAAAAAAAAAA"])
        #expect(try again.block("01JAAAAAAAAAAAAAAAAAAAAAAA")?.state == .local)
    }

    @Test(arguments: ["garbage", "newer"])
    func aDamagedOrNewerCatalogIsMovedAsideAndStartsEmpty(_ damage: String) throws {
        let dir = try TempDir("catalog"); defer { dir.remove() }
        let path = dir.path + "/" + BlockCatalog.fileName
        do {
            let c = try BlockCatalog(dataDir: dir.path)
            try c.recordLocal(BlockMeta(ulid: "01JAAAAAAAAAAAAAAAAAAAAAAA", minTime: 0, maxTime: 10), sizeBytes: 1)
        }
        if damage == "garbage" {
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try Data((0 ..< 8192).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: path))
        } else {
            try SQLiteConnection(path: path).exec("PRAGMA user_version = 99")
        }
        let c = try BlockCatalog(dataDir: dir.path)
        let reason = try #require(c.recreatedBecause)
        #expect(reason.contains("moved aside"), "\(reason)")
        #expect(damage != "newer" || reason.contains("newer"), "\(reason)")
        #expect(FileManager.default.fileExists(atPath: path + ".corrupt"))
        #expect(try c.blocks().isEmpty)
        #expect(try Self.userVersion(path) == Int64(BlockCatalog.migrations.count))
    }

    @Test func theShipperRecordsEveryAttemptAndARebuiltCatalogAgrees() async throws {
        let dir = try TempDir("catalog-ship"); defer { dir.remove() }
        let db = try ShipperTests.dataDir(dir)
        let bucket = RecordingBucket()
        bucket.failNames.withLock { $0 = [db.blocks[1].ulid + "/index"] }
        let catalog = try BlockCatalog(dataDir: dir.path)
        let shipper = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["tenant_id": "t"], catalog: catalog)
        await #expect(throws: ShipperError.self) { try await shipper.sync() }
        bucket.failNames.withLock { $0 = [] }
        try await shipper.sync()
        let ulids = db.blocks.map(\.ulid)
        let rows = try catalog.blocks()
        #expect(rows.map(\.ulid) == ulids)
        #expect(rows.allSatisfy { $0.state == .uploaded && $0.isLocal && $0.inBucket && $0.labels == ["tenant_id": "t"] && $0.uploadedAt != nil })
        #expect(rows.allSatisfy { $0.bucketMetaJSON?.contains("\"thanos\"") == true && $0.sizeBytes > 0 })
        #expect(try catalog.attempts(ulids[0]).map(\.outcome) == ["uploaded"])
        let second = try catalog.attempts(ulids[1])
        #expect(second.map(\.outcome) == ["failed", "uploaded"])
        #expect(second[0].error?.contains("injected failure") == true)

        // Deleted, the catalog is rebuilt: the data directory and the bucket give the same rows,
        // and nothing is uploaded again.
        for f in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: catalog.path + f) }
        let uploadsBefore = bucket.uploads.withLock { $0.count }
        let rebuilt = try BlockCatalog(dataDir: dir.path)
        #expect(rebuilt.recreatedBecause != nil)
        #expect(try await rebuilt.scanBucket(bucket) == 3)
        let again = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["tenant_id": "t"], catalog: rebuilt)
        let r = try await again.sync()
        #expect(r.uploaded.isEmpty)
        #expect(bucket.uploads.withLock { $0.count } == uploadsBefore)
        let rebuiltRows = try rebuilt.blocks()
        #expect(rebuiltRows.map(\.ulid) == ulids)
        #expect(rebuiltRows.allSatisfy { $0.state == .uploaded && $0.isLocal && $0.inBucket && $0.labels == ["tenant_id": "t"] })
        #expect(rebuiltRows.map(\.bucketMetaJSON) == rows.map(\.bucketMetaJSON))

        // Retention deletes a block locally: the row stays for the bucket copy.
        try rebuilt.removedLocally(ulids[0])
        #expect(try rebuilt.block(ulids[0])?.isLocal == false)
        #expect(try rebuilt.block(ulids[0])?.state == .uploaded)
    }

    @Test func aCorruptBlockIsSkippedOnceAndDoesNotHoldBackTheOthers() async throws {
        let dir = try TempDir("catalog-corrupt"); defer { dir.remove() }
        let db = try ShipperTests.dataDir(dir)
        let ulids = db.blocks.map(\.ulid)
        // The first block's index loses its second half (rewritten: the file is mapped by the DB).
        let index = dir.path + "/" + ulids[0] + "/index"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: index))
        try FileManager.default.removeItem(atPath: index)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: index))
        let bucket = RecordingBucket()
        let catalog = try BlockCatalog(dataDir: dir.path)
        let shipper = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["a": "b"], catalog: catalog)
        let first = try await shipper.sync()
        #expect(Array(first.corrupt.keys) == [ulids[0]])
        #expect(first.uploaded == Array(ulids[1...]))
        #expect(shipper.stats.corrupted.load(ordering: .relaxed) == 1)
        #expect(try catalog.block(ulids[0])?.state == .corrupt)
        #expect(try catalog.attempts(ulids[0]).first?.error?.hasPrefix("verification: ") == true)
        // Not retried (and not counted again), neither by this shipper nor after a restart; and
        // kept locally.
        #expect(try await shipper.sync().corrupt.isEmpty)
        let restarted = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["a": "b"], catalog: try BlockCatalog(dataDir: dir.path))
        #expect(try await restarted.sync() == Shipper.SyncResult())
        #expect(shipper.stats.corrupted.load(ordering: .relaxed) == 1)
        #expect(!shipper.isDone(db.blocks[0].meta))
        #expect(try await bucket.list("", recursive: false) == ulids[1...].map { $0 + "/" })
    }

    @Test func theBucketScanReadsMarksSkipsPartialUploadsAndNoticesDeletions() async throws {
        let dir = try TempDir("catalog-scan"); defer { dir.remove() }
        let db = try ShipperTests.dataDir(dir)
        let bucket = InMemoryBucket()
        let shipper = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["a": "b"])
        try await shipper.sync()
        let ulids = db.blocks.map(\.ulid)
        try await bucket.upload(ulids[1] + "/" + BlockMarker.Kind.deletion.rawValue,
                                bytes: Array(BlockMarker(kind: .deletion, id: ulids[1], time: 1_700_000_000).json().utf8))
        try await bucket.upload(ulids[2] + "/" + BlockMarker.Kind.noCompact.rawValue,
                                bytes: Array(BlockMarker(kind: .noCompact, id: ulids[2], time: 1_700_000_001).json().utf8))
        try await bucket.upload("01JAAAAAAAAAAAAAAAAAAAAAAA/index", bytes: [1, 2, 3]) // partial
        let catalog = try BlockCatalog(dataDir: dir.path)
        #expect(try await catalog.scanBucket(bucket, now: 42) == 3)
        #expect(try catalog.state("bucket_scanned_at") == "42.0")
        let rows = Dictionary(uniqueKeysWithValues: try catalog.blocks().map { ($0.ulid, $0) })
        #expect(rows.count == 3 && rows["01JAAAAAAAAAAAAAAAAAAAAAAA"] == nil)
        #expect(rows[ulids[1]]?.deletionMarkedAt == 1_700_000_000 && rows[ulids[1]]?.noCompactMarkedAt == nil)
        #expect(rows[ulids[2]]?.noCompactMarkedAt == 1_700_000_001)
        #expect(rows[ulids[0]]?.labels == ["a": "b"] && rows[ulids[0]]?.isLocal == false && rows[ulids[0]]?.uploadedAt != nil)

        for name in try await bucket.list(ulids[0] + "/", recursive: true) { try await bucket.delete(name) }
        #expect(try await catalog.scanBucket(bucket) == 2)
        #expect(try catalog.block(ulids[0])?.state == .deleted)
        try catalog.pruneDeleted()
        #expect(try catalog.block(ulids[0]) == nil)
    }

    @Test func markersAreWrittenAsThanosWritesThem() throws {
        #expect(BlockMarker(kind: .deletion, id: "01X", time: 5).json() == #"{"id":"01X","version":1,"deletion_time":5}"#)
        #expect(BlockMarker(kind: .noCompact, id: "01X", details: "d", time: 6).json()
            == #"{"id":"01X","version":1,"details":"d","no_compact_time":6,"reason":"manual"}"#)
        #expect(try BlockMarker.parse(Array(#"{"id":"01X","version":1,"no_downsample_time":7,"reason":"manual"}"#.utf8), kind: .noDownsample)
            == BlockMarker(kind: .noDownsample, id: "01X", time: 7))
        #expect(throws: StorageError.self) { try BlockMarker.parse(Array(#"{"id":"01X","version":2}"#.utf8), kind: .deletion) }
    }
}
