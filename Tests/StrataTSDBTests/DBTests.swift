import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

@Suite struct DBCompactionTests {
    @Test func headCompactionCutsAlignedBlocksAndQueriesSeeEverySampleOnce() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        // 4h of data with 1h blocks: blocks are cut while the head spans more than 1.5h, so 3 of them.
        let (head, expected) = filledHead(series: 20, from: 0, to: 4 * hour)
        let db = try DB(dir: dir.path, head: head)
        #expect(head.compactable)
        let r = try db.compactHead()
        #expect(r.blocks.map(\.minTime) == [0, hour, 2 * hour])
        #expect(r.blocks.map(\.maxTime) == [hour, 2 * hour, 3 * hour])
        #expect(r.blocks.allSatisfy { $0.stats.numSeries == 20 && $0.compaction.level == 1 })
        #expect(!head.compactable)
        #expect(head.mint == 3 * hour)
        #expect(db.blocks.count == 3)
        // The head no longer holds the compacted range, but the DB still answers for it.
        #expect(try readAll(head, maxt: 3 * hour - 1).isEmpty)
        #expect(try readAll(db) == expected)
        // Samples in a compacted range are now out of bounds.
        let late = append(head, Labels([("__name__", "late")]), [(hour + 5, 1)])
        #expect(late.firstFailure?.failure == .outOfBounds)

        // Reopening the directory finds the same blocks.
        let db2 = try DB(dir: dir.path, head: Head())
        #expect(db2.blocks.map(\.ulid) == db.blocks.map(\.ulid))
        #expect(try readAll(db2).mapValues(\.count) == expected.mapValues { $0.filter { $0.t < 3 * hour }.count })
    }

    @Test func seriesThatStoppedAreRemovedFromTheHead() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        var options = HeadOptions(); options.chunkRange = hour
        let head = Head(options: options)
        _ = append(head, Labels([("__name__", "gone")]), [(0, 1), (60_000, 2)])
        for t in stride(from: Int64(0), to: 3 * hour, by: 60_000) { _ = append(head, Labels([("__name__", "stays")]), [(t, 1)]) }
        let db = try DB(dir: dir.path, head: head)
        let r = try db.compactHead()
        #expect(r.truncate.seriesRemoved == 1)
        #expect(head.numSeries == 1)
        #expect(try head.querier(mint: .min, maxt: .max).labelValues("__name__", []) == ["stays"])
        #expect(try db.querier(mint: .min, maxt: .max).labelValues("__name__", []) == ["gone", "stays"])
        // A new series with the removed one's labels starts fresh.
        #expect(append(head, Labels([("__name__", "gone")]), [(3 * hour, 5)]).accepted == 1)
        #expect(try readAll(db)[Labels([("__name__", "gone")])]?.count == 3)
    }

    @Test func walIsCheckpointedAndReplayPlusBlocksGiveTheSameData() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        var opts = WALOptions()
        opts.segmentSize = 8 * WAL.pageSize
        let wal = try WAL(dir: dir.file("wal"), options: opts)
        let (head, expected) = filledHead(series: 40, from: 0, to: 5 * hour, wal: wal)
        let db = try DB(dir: dir.path, head: head)
        let r = try db.compactHead()
        #expect(r.blocks.count == 4)
        #expect(r.checkpoint != nil)
        #expect(try Checkpoint.last(in: dir.file("wal")) != nil)
        try wal.close()

        // A restart: blocks open, the WAL (checkpoint + later segments) replays, and the head is
        // truncated to what the blocks do not hold.
        var hopts = HeadOptions(); hopts.chunkRange = hour
        let head2 = Head(options: hopts)
        let db2 = try DB(dir: dir.path, head: head2)
        _ = try head2.replayWAL(dir: dir.file("wal"))
        db2.truncateHeadToBlocks()
        #expect(try readAll(db2) == expected)
        #expect(head2.mint >= 4 * hour)
    }

    @Test func leftoversOfACrashAreRemovedAndUnreadableBlocksRefused() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        let (head, _) = filledHead(series: 2, from: 0, to: 3 * hour)
        let db = try DB(dir: dir.path, head: head)
        _ = try db.compactHead()
        try FileSystem.mkdirAll(dir.file("01HQ00000000000000000000AA.tmp-for-creation/chunks"))
        try FileSystem.mkdirAll(dir.file("01HQ00000000000000000000AB.tmp-for-deletion"))
        try FileSystem.mkdirAll(dir.file("wal"))
        let db2 = try DB(dir: dir.path, head: Head())
        #expect(db2.blocks.count == 2)
        #expect(!FileSystem.exists(dir.file("01HQ00000000000000000000AA.tmp-for-creation")))
        #expect(!FileSystem.exists(dir.file("01HQ00000000000000000000AB.tmp-for-deletion")))
        // A block directory whose meta.json is missing or broken is skipped and reported, as
        // Prometheus does; the other blocks are served.
        try FileSystem.mkdirAll(dir.file("01HQ00000000000000000000AC"))
        try FileSystem.mkdirAll(dir.file("01HQ00000000000000000000AD"))
        try "{\"version\": 1, \"ulid\": ".write(toFile: dir.file("01HQ00000000000000000000AD/meta.json"), atomically: false, encoding: .utf8)
        let db3 = try DB(dir: dir.path, head: Head())
        #expect(db3.blocks.count == 2)
        #expect(db3.skippedBlocks.map(\.ulid) == ["01HQ00000000000000000000AC", "01HQ00000000000000000000AD"])
        #expect(db3.skippedBlocks.allSatisfy { $0.reason.contains("meta.json") })
        // Any other unreadable part of a block is an error, not silently missing data.
        let good = db3.blocks[0].ulid
        try FileSystem.removeAll(dir.file(good + "/index"))
        #expect { try DB(dir: dir.path, head: Head()) } throws: { "\($0)".contains(good) }
    }

    @Test func timeRetentionDeletesOldBlocksThroughARename() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        let (head, _) = filledHead(series: 3, from: 0, to: 6 * hour, step: 60_000)
        var options = DBOptions()
        options.retentionTime = 2 * hour
        let db = try DB(dir: dir.path, head: head, options: options)
        _ = try db.compactHead()
        #expect(db.blocks.map(\.maxTime) == [hour, 2 * hour, 3 * hour, 4 * hour, 5 * hour])
        // Newest block ends at 5h: blocks ending 2h or more before it go.
        let deleted = try db.applyRetention()
        #expect(deleted.count == 3)
        #expect(db.blocks.map(\.maxTime) == [4 * hour, 5 * hour])
        #expect(try FileSystem.list(dir.path).filter { ULID.isValid($0) }.count == 2)
        #expect(try readAll(db).values.allSatisfy { $0.first!.t >= 3 * hour })
    }

    /// A retired DB (another DB took its directory over) cuts, merges and deletes nothing.
    @Test func aRetiredDBLeavesItsDirectoryAlone() throws {
        let dir = try TempDir("db-retired"); defer { dir.remove() }
        let (head, _) = filledHead(series: 3, from: 0, to: 6 * hour, step: 60_000)
        var options = DBOptions()
        options.retentionTime = 2 * hour
        let db = try DB(dir: dir.path, head: head, options: options)
        _ = try db.compactHead()
        let before = try FileSystem.list(dir.path).filter { ULID.isValid($0) }.sorted()
        db.retire()
        #expect(try db.applyRetention().isEmpty)
        #expect(try db.compactHead(flushAll: true).blocks.isEmpty)
        #expect(try db.compactBlocks().isEmpty)
        #expect(try FileSystem.list(dir.path).filter { ULID.isValid($0) }.sorted() == before)
    }

    /// `flushAll` writes the whole head, the last block ending just after the newest sample.
    @Test func flushingTheHeadWritesItAllAndLeavesItEmpty() throws {
        let dir = try TempDir("db-flush"); defer { dir.remove() }
        let (head, _) = filledHead(series: 3, from: 0, to: 3 * hour + 30 * 60_000, step: 60_000)
        let db = try DB(dir: dir.path, head: head)
        let newest = head.maxt
        let r = try db.compactHead(flushAll: true)
        #expect(newest > 3 * hour && r.blocks.map(\.maxTime) == [hour, 2 * hour, 3 * hour, newest + 1])
        #expect(head.numSeries == 0)
        #expect(try readAll(db).values.allSatisfy { $0.count == 210 })
    }

    @Test func sizeRetentionKeepsTheNewestBlocksThatFit() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        let (head, _) = filledHead(series: 5, from: 0, to: 6 * hour, step: 60_000)
        let db = try DB(dir: dir.path, head: head)
        _ = try db.compactHead()
        let sizes = db.blocks.sorted { $0.maxTime > $1.maxTime }.map(\.sizeBytes)
        var options = DBOptions()
        options.retentionTime = 0
        options.retentionSize = sizes[0] + sizes[1] + 1
        let db2 = try DB(dir: dir.path, head: Head(), options: options)
        #expect(try db2.applyRetention().count == 3)
        #expect(db2.blocks.map(\.maxTime) == [4 * hour, 5 * hour])
    }

    @Test func mergeQuerierDeduplicatesOverlappingSources() throws {
        let dir = try TempDir("db"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 4, from: 0, to: hour)
        // The same data as a block and still in the head: every sample once.
        try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: hour, series: try head.blockSeries(mint: 0, maxt: hour))
        let db = try DB(dir: dir.path, head: head)
        #expect(try readAll(db) == expected)
        let series = try db.querier(mint: .min, maxt: .max).select([try LabelMatcher(.equal, "instance", "host-1")], hints: SelectHints(mint: .min, maxt: .max))
        let chunks = try (series[0] as! any ChunkedStorageSeries).chunks(mint: .min, maxt: .max)
        var decoded: [Sample] = []
        for c in chunks { try XORDecoder.samples(c.bytes, into: &decoded) }
        #expect(decoded == expected[series[0].labels])
    }
}
