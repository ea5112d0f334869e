import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Synchronization
import Testing
@testable import StrataBlock
@testable import StrataBlockStore
@testable import StrataObjectStore
@testable import StrataTSDB

/// A bucket that records the order of uploads and can be told to fail.
final class RecordingBucket: Bucket, @unchecked Sendable {
    let base = InMemoryBucket()
    let uploads = Mutex<[String]>([])
    let failNames = Mutex<Set<String>>([])
    var kind: String { "recording" }
    func list(_ dir: String, recursive: Bool) async throws -> [String] { try await base.list(dir, recursive: recursive) }
    func get(_ name: String) async throws -> [UInt8] { try await base.get(name) }
    func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] { try await base.getRange(name, offset: offset, length: length) }
    func exists(_ name: String) async throws -> Bool { try await base.exists(name) }
    func attributes(_ name: String) async throws -> ObjectAttributes { try await base.attributes(name) }
    func upload(_ name: String, bytes: [UInt8]) async throws {
        if failNames.withLock({ $0.contains(name) }) { throw ObjectStoreError(.failed, "injected failure for \(name)") }
        uploads.withLock { $0.append(name) }
        try await base.upload(name, bytes: bytes)
    }
    func upload(_ name: String, file path: String) async throws {
        if failNames.withLock({ $0.contains(name) }) { throw ObjectStoreError(.failed, "injected failure for \(name)") }
        uploads.withLock { $0.append(name) }
        try await base.upload(name, file: path)
    }
    func delete(_ name: String) async throws { try await base.delete(name) }
}

@Suite struct ShipperTests {
    static let hour: Int64 = 3_600_000

    /// A data directory with three level-1 blocks (4h of data, 1h blocks) and the DB over it.
    static func dataDir(_ dir: TempDir) throws -> DB {
        var options = HeadOptions()
        options.chunkRange = hour
        let head = Head(options: options)
        let app = head.appender()
        for i in 0 ..< 5 {
            let samples = stride(from: Int64(0), to: 4 * hour, by: 60_000).map { Sample(t: $0, v: Double(i) + Double($0) / 1000) }
            app.append(Labels([("__name__", "m"), ("i", String(i))]), samples)
        }
        try app.commit()
        var dbOptions = DBOptions()
        dbOptions.blockRanges = []
        let db = try DB(dir: dir.path, head: head, options: dbOptions)
        #expect(try db.compactHead().blocks.count == 3)
        return db
    }

    @Test func uploadsEachBlockDataFirstMetaLastWithTheThanosSection() async throws {
        let dir = try TempDir("shipper"); defer { dir.remove() }
        let db = try Self.dataDir(dir)
        let bucket = RecordingBucket()
        let shipper = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["tenant_id": "default-tenant", "replica": "a\"b"])
        let result = try await shipper.sync()
        let ulids = db.blocks.sorted { $0.minTime < $1.minTime }.map(\.ulid)
        #expect(result.uploaded == ulids)
        // Per block: chunks, then index, then meta.json; blocks in time order.
        #expect(bucket.uploads.withLock { $0 } == ulids.flatMap { ["\($0)/chunks/000001", "\($0)/index", "\($0)/meta.json"] })
        for b in db.blocks {
            let meta = try BlockMeta.parse(Data(try await bucket.get(b.ulid + "/meta.json")), path: "bucket")
            #expect(meta.ulid == b.ulid && meta.stats == b.meta.stats && meta.compaction == b.meta.compaction)
            let thanos = try #require(ThanosMeta.from(meta))
            #expect(thanos.labels == ["tenant_id": "default-tenant", "replica": "a\"b"] && thanos.source == "receive" && thanos.resolution == 0)
            #expect(thanos.segmentFiles == ["000001"])
            let index = try await bucket.attributes(b.ulid + "/index").size
            let chunks = try await bucket.attributes(b.ulid + "/chunks/000001").size
            #expect(thanos.files == [.init(relPath: "chunks/000001", sizeBytes: chunks), .init(relPath: "index", sizeBytes: index), .init(relPath: "meta.json", sizeBytes: nil)])
            #expect(thanos.uploadTime?.hasSuffix("Z") == true)
            // The local meta.json is left as it was.
            #expect(ThanosMeta.from(try BlockMeta.read(dir: b.dir)) == nil)
            // The bucket's copy of the index reads as the local one.
            #expect(try await bucket.get(b.ulid + "/index") == [UInt8](try Data(contentsOf: URL(fileURLWithPath: b.dir + "/index"))))
        }
        // The state file, in Thanos' format; a second pass uploads nothing.
        let state = try String(contentsOfFile: dir.file(Shipper.stateFile), encoding: .utf8)
        #expect(state == "{\n\t\"version\": 1,\n\t\"uploaded\": [\n" + ulids.sorted().map { "\t\t\"\($0)\"" }.joined(separator: ",\n") + "\n\t]\n}\n")
        #expect(try await shipper.sync() == Shipper.SyncResult())
        #expect(ulids.allSatisfy(shipper.isUploaded))
        // No staging directory is left behind.
        #expect(!FileManager.default.fileExists(atPath: dir.file("thanos/upload/" + ulids[0])))
    }

    @Test func aFailedUploadStopsThePassAndIsRetriedInOrder() async throws {
        let dir = try TempDir("shipper"); defer { dir.remove() }
        let db = try Self.dataDir(dir)
        let ulids = db.blocks.sorted { $0.minTime < $1.minTime }.map(\.ulid)
        let bucket = RecordingBucket()
        bucket.failNames.withLock { $0 = [ulids[1] + "/meta.json"] }
        let shipper = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["tenant_id": "t"])
        await #expect(throws: ShipperError.self) { try await shipper.sync() }
        #expect(shipper.isUploaded(ulids[0]) && !shipper.isUploaded(ulids[1]) && !shipper.isUploaded(ulids[2]))
        #expect(shipper.stats.failures.load(ordering: .relaxed) == 1)
        // The failed block's data is in the bucket without meta.json: a partial upload, not a block.
        let indexThere = try await bucket.exists(ulids[1] + "/index"), metaThere = try await bucket.exists(ulids[1] + "/meta.json")
        #expect(indexThere && !metaThere)

        // Retention keeps what is not in the bucket yet.
        var options = DBOptions()
        options.retentionTime = 1
        options.blockRanges = []
        options.isShipped = { shipper.isDone($0) }
        let db2 = try DB(dir: dir.path, head: Head(), options: options)
        #expect(try db2.applyRetention() == [ulids[0]])
        #expect(db2.stats.retentionWaitingForUpload.load(ordering: .relaxed) == 1)

        bucket.failNames.withLock { $0 = [] }
        let retry = try await shipper.sync()
        #expect(retry.uploaded == [ulids[1], ulids[2]])
        // The state lists only blocks still on disk (the first was deleted by retention).
        #expect(Shipper.readState(dir.path).sorted() == [ulids[1], ulids[2]].sorted())
    }

    @Test func blocksAlreadyInTheBucketAreNotUploadedAgain() async throws {
        let dir = try TempDir("shipper"); defer { dir.remove() }
        _ = try Self.dataDir(dir)
        let bucket = RecordingBucket()
        let first = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["tenant_id": "t"])
        let uploaded = try await first.sync().uploaded
        // A lost state file (or a crash before it was written): the bucket tells.
        try FileManager.default.removeItem(atPath: dir.file(Shipper.stateFile))
        let before = bucket.uploads.withLock { $0.count }
        let second = try Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["tenant_id": "t"])
        let r = try await second.sync()
        #expect(r.uploaded.isEmpty && r.alreadyInBucket == uploaded)
        #expect(bucket.uploads.withLock { $0.count } == before)
    }

    /// Overlapping blocks (a backfill, a block dropped in) are merged by Prometheus' rules without
    /// shipping; with it they stay as they are: the merge would delete blocks not yet uploaded
    /// and write one the shipper never uploads.
    @Test func blocksAreNotMergedWhileShipping() throws {
        let dir = try TempDir("shipper"); defer { dir.remove() }
        for offset: Int64 in [0, 60_000] {
            let samples = stride(from: offset, to: offset + Self.hour, by: 120_000).map { Sample(t: $0, v: 1) }
            try BlockWriter.write(parentDir: dir.path, mint: offset, maxt: offset + Self.hour,
                                  series: [BlockSeriesInput(labels: Labels([("__name__", "m")]), chunks: XORChunk.encodeChunks(samples))])
        }
        let shipper = try Shipper(dataDir: dir.path, bucket: InMemoryBucket(), externalLabels: ["tenant_id": "t"])
        var options = DBOptions()
        options.isShipped = { shipper.isDone($0) }
        let shipping = try DB(dir: dir.path, head: Head(), options: options)
        #expect(try shipping.compactBlocks().isEmpty && shipping.blocks.count == 2)
        // The same directory without shipping: the overlap is merged into one block.
        let plain = try DB(dir: dir.path, head: Head())
        #expect(try plain.compactBlocks().count == 1 && plain.blocks.count == 1)
    }

    @Test func externalLabelsAreRequired() throws {
        #expect { _ = try Shipper(dataDir: "/tmp", bucket: InMemoryBucket(), externalLabels: [:]) } throws: {
            "\($0)".contains("empty external labels are not allowed")
        }
    }

    @Test func thanosSectionLayout() {
        var t = ThanosMeta(labels: ["b": "2", "a": "<1>"], source: "receive")
        t.segmentFiles = ["000001"]
        t.files = [.init(relPath: "chunks/000001", sizeBytes: 10), .init(relPath: "index", sizeBytes: 5), .init(relPath: "meta.json", sizeBytes: nil)]
        t.uploadTime = "2026-12-04T17:00:00.123Z"
        #expect(t.json() == """
        {
        \t\t"labels": {
        \t\t\t"a": "\\u003c1\\u003e",
        \t\t\t"b": "2"
        \t\t},
        \t\t"downsample": {
        \t\t\t"resolution": 0
        \t\t},
        \t\t"source": "receive",
        \t\t"segment_files": [
        \t\t\t"000001"
        \t\t],
        \t\t"files": [
        \t\t\t{
        \t\t\t\t"rel_path": "chunks/000001",
        \t\t\t\t"size_bytes": 10
        \t\t\t},
        \t\t\t{
        \t\t\t\t"rel_path": "index",
        \t\t\t\t"size_bytes": 5
        \t\t\t},
        \t\t\t{
        \t\t\t\t"rel_path": "meta.json"
        \t\t\t}
        \t\t],
        \t\t"index_stats": {},
        \t\t"upload_time": "2026-12-04T17:00:00.123Z"
        \t}
        """)
    }

    @Test func pendingUploadsAreBlocksNotYetInTheBucket() async throws {
        let dir = try TempDir("shipper-pending"); defer { dir.remove() }
        _ = try Self.dataDir(dir)
        let shipper = try Shipper(dataDir: dir.path, bucket: try FilesystemBucket(directory: dir.file("bucket")), externalLabels: ["a": "b"])
        #expect(shipper.hasPendingUploads(), "blocks written, none uploaded")
        try await shipper.sync()
        #expect(!shipper.hasPendingUploads())
    }
}
