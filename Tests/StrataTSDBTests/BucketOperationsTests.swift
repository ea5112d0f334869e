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

/// `strata bucket inspect|upload|download|mark|cleanup` over a real filesystem bucket.
@Suite struct BucketOperationsTests {
    static let hour: Int64 = 3_600_000

    /// Three level-1 blocks of 1h (4h of 4 series; the last hour stays in the head).
    static func dataDir(_ dir: String) throws -> DB {
        var options = HeadOptions()
        options.chunkRange = hour
        let head = Head(options: options)
        let app = head.appender()
        for i in 0 ..< 4 {
            app.append(Labels([("__name__", "m"), ("i", String(i))]),
                       stride(from: Int64(0), to: 4 * hour, by: 60_000).map { Sample(t: $0, v: Double(i) + Double($0)) })
        }
        try app.commit()
        var dbOptions = DBOptions()
        dbOptions.blockRanges = []
        let db = try DB(dir: dir, head: head, options: dbOptions)
        _ = try db.compactHead()
        return db
    }

    @Test func uploadInspectDownload() async throws {
        let tmp = try TempDir("bucket-ops"); defer { tmp.remove() }
        let db = try Self.dataDir(tmp.file("data"))
        let ulids = db.blocks.map(\.ulid)
        #expect(ulids.count == 3)
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))

        // One block by its directory, then the whole data directory: the first is not uploaded twice.
        let one = try await BucketOperations.upload(path: tmp.file("data") + "/" + ulids[1] + "/", bucket: bucket, labels: ["team": "a"], uploadCompacted: false)
        #expect(one.uploaded == [ulids[1]])
        let all = try await BucketOperations.upload(path: tmp.file("data"), bucket: bucket, labels: ["team": "a"], uploadCompacted: false)
        #expect(all.uploaded == [ulids[0], ulids[2]])
        let meta = try #require(ThanosMeta.from(try BlockMeta.parse(Data(try await bucket.get(ulids[0] + "/meta.json")), path: "")))
        #expect(meta.source == "bucket.upload" && meta.labels == ["team": "a"])
        await #expect(throws: ShipperError.self) {
            _ = try await BucketOperations.upload(path: tmp.file("nothing"), bucket: bucket, labels: ["team": "a"], uploadCompacted: false)
        }

        let table = try await BucketInspection.inspect(bucket, output: .table)
        let lines = table.split(separator: "\n")
        #expect(lines.count == 5 && lines[0].hasPrefix("| ULID ") && lines[0].contains("| UNTIL-DOWN |") && lines[1].hasPrefix("|---"), "\(table)")
        let cells = lines[2].split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells == [ulids[0], "01-01-1970 00:00:00", "01-01-1970 01:00:00", "1h0m0s", "39h0m0s", "4", "240", "4", "1", "false",
                          "team=a", "0s", "bucket.upload"], "\(table)")
        let csv = try await BucketInspection.inspect(bucket, output: .csv)
        #expect(csv.split(separator: "\n").first == "ULID,FROM,UNTIL,RANGE,UNTIL-DOWN,#SERIES,#SAMPLES,#CHUNKS,COMP-LEVEL,COMP-FAILED,LABELS,RESOLUTION,SOURCE")
        #expect(csv.split(separator: "\n").count == 4)
        #expect(try await BucketInspection.inspect(bucket, selector: ["team": "b"], output: .tsv).split(separator: "\n").count == 1)
        #expect(BucketInspection.grouped(1_234_567) == "1,234,567" && BucketInspection.grouped(999) == "999")

        // Downloaded, the block is the local one byte for byte (and reads), meta.json aside.
        let target = try await BucketOperations.download(bucket, ulid: ulids[2], into: tmp.file("down"))
        for f in ["index", "chunks/000001"] {
            #expect(FileManager.default.contents(atPath: target + "/" + f) == FileManager.default.contents(atPath: tmp.file("data") + "/" + ulids[2] + "/" + f), "\(f)")
        }
        #expect(try Block(dir: target).meta.stats.numSamples == 240)
        await #expect(throws: ShipperError.self) { _ = try await BucketOperations.download(bucket, ulid: ulids[2], into: tmp.file("down")) }
        await #expect(throws: ShipperError.self) { _ = try await BucketOperations.download(bucket, ulid: "01JAAAAAAAAAAAAAAAAAAAAAAA", into: tmp.file("down")) }
    }

    @Test func markAndCleanup() async throws {
        let tmp = try TempDir("bucket-clean"); defer { tmp.remove() }
        let db = try Self.dataDir(tmp.file("data"))
        let ulids = db.blocks.map(\.ulid)
        let bucket = try FilesystemBucket(directory: tmp.file("bucket"))
        _ = try await BucketOperations.upload(path: tmp.file("data"), bucket: bucket, labels: ["a": "b"], uploadCompacted: false)
        let now = Int64(Date().timeIntervalSince1970)
        let hourS: Int64 = 3600

        #expect(try await BucketOperations.mark(bucket, ulid: ulids[0], kind: .deletion, details: "old", now: now - 49 * hourS) == .marked)
        #expect(try await bucket.get(ulids[0] + "/deletion-mark.json") == Array(#"{"id":"\#(ulids[0])","version":1,"details":"old","deletion_time":\#(now - 49 * hourS)}"#.utf8))
        #expect(try await BucketOperations.mark(bucket, ulid: ulids[0], kind: .deletion, details: "again", now: now) == .alreadyMarked)
        #expect(try await BucketOperations.mark(bucket, ulid: ulids[1], kind: .deletion, details: "recent", now: now - hourS) == .marked)
        #expect(try await BucketOperations.mark(bucket, ulid: ulids[2], kind: .noCompact, details: "keep", now: now) == .marked)
        #expect(try await BucketOperations.mark(bucket, ulid: ulids[2], kind: .noCompact, details: "", remove: true) == .removed)
        #expect(try await BucketOperations.mark(bucket, ulid: ulids[2], kind: .noCompact, details: "", remove: true) == .notMarked)
        await #expect(throws: ShipperError.self) {
            _ = try await BucketOperations.mark(bucket, ulid: "01JAAAAAAAAAAAAAAAAAAAAAAA", kind: .deletion, details: "x")
        }
        await #expect(throws: ShipperError.self) { _ = try await BucketOperations.mark(bucket, ulid: "not-a-ulid", kind: .deletion, details: "x") }

        // Partial uploads: one old (by its ULID time; the filesystem gives today's dates, so the
        // age is taken from the newer of the two) and one fresh.
        let nowMillis = now * 1000
        let oldPartial = ULID.make(milliseconds: UInt64(nowMillis - 72 * Self.hour))
        let freshPartial = ULID.make(milliseconds: UInt64(nowMillis - Self.hour))
        try await bucket.upload(oldPartial + "/index", bytes: [1])
        try await bucket.upload(freshPartial + "/index", bytes: [1])

        // The old partial upload's files were written just now: by its newest object, it is fresh.
        let r = try await BucketOperations.cleanup(bucket, deleteDelay: 48 * Self.hour, partialAge: 48 * Self.hour, nowMillis: nowMillis)
        #expect(r.deletedMarked == [ulids[0]])
        #expect(r.deletedPartial.isEmpty, "file dates are newer than the ULID time: \(r.deletedPartial)")
        #expect(try await bucket.list(ulids[0] + "/", recursive: true).isEmpty)
        #expect(try await bucket.exists(ulids[1] + "/meta.json"), "marked an hour ago: kept")
        let later = try await BucketOperations.cleanup(bucket, deleteDelay: 48 * Self.hour, partialAge: 48 * Self.hour,
                                                       nowMillis: nowMillis + 49 * Self.hour)
        #expect(Set(later.deletedPartial) == [oldPartial, freshPartial] && later.deletedMarked == [ulids[1]])
        #expect(try await BucketBlocks.list(bucket).map(\.meta.ulid) == [ulids[2]])
    }
}
