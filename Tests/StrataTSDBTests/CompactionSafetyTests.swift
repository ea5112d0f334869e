import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// The edge cases a review of head compaction turned up, each pinned by a test.
@Suite struct CompactionSafetyTests {
    /// A series removed by truncation and created again has two WAL records; after a replay the
    /// second ref is an alias, and a checkpoint must keep it and its samples.
    @Test func aRecreatedSeriesSurvivesReplayThenCheckpointThenReplay() throws {
        let dir = try TempDir("alias"); defer { dir.remove() }
        var wopts = WALOptions(); wopts.segmentSize = 2 * WAL.pageSize; wopts.compress = false
        var hopts = HeadOptions(); hopts.chunkRange = hour
        let x = Labels([("__name__", "x")]), y = Labels([("__name__", "y")])
        let end = 4 * hour + hour * 6 / 10
        do {
            let wal = try WAL(dir: dir.file("wal"), options: wopts)
            let head = Head(options: hopts, wal: wal)
            _ = append(head, x, [(0, 1)])
            for t in stride(from: Int64(0), to: 5 * hour / 2, by: 2_000) { _ = append(head, y, [(t, 1)]) }
            head.truncate(before: 2 * hour) // x goes; its series record stays in the WAL
            #expect(head.numSeries == 1)
            // x comes back under a new ref, in the middle of the WAL, and keeps writing to its end.
            for t in stride(from: 5 * hour / 2, to: end, by: 2_000) {
                if t % 10_000 == 0 { _ = append(head, x, [(t, 2)]) }
                _ = append(head, y, [(t, 1)])
            }
            try wal.close()
        }
        // Restart: replay folds x's second ref into its first. Compaction then cuts blocks up to
        // 4h and checkpoints the older segments, which hold x's second series record; x's
        // samples after 4h are in later segments, under that second ref.
        let wal = try WAL(dir: dir.file("wal"), options: wopts)
        let head = Head(options: hopts, wal: wal)
        _ = try head.replayWAL(dir: dir.file("wal"), below: wal.segmentIndex)
        let db = try DB(dir: dir.path, head: head)
        let r = try db.compactHead()
        #expect(r.blocks.last?.maxTime == 4 * hour)
        #expect(r.checkpoint != nil)
        try wal.close()
        // Restart again: blocks + checkpoint + later segments still hold every sample of x.
        let head2 = Head(options: hopts)
        let db2 = try DB(dir: dir.path, head: head2)
        _ = try head2.replayWAL(dir: dir.file("wal"))
        db2.truncateHeadToBlocks()
        #expect(try readAll(db2)[x]?.filter { $0.t >= 5 * hour / 2 }.count == Int((end - 5 * hour / 2) / 10_000))
    }

    /// A sample stored by an appender that has not committed yet is not cut off by a compaction
    /// that runs in between.
    @Test func anUncommittedOldSampleIsNotLostToCompaction() throws {
        let dir = try TempDir("pending"); defer { dir.remove() }
        var hopts = HeadOptions(); hopts.chunkRange = hour
        let head = Head(options: hopts)
        let db = try DB(dir: dir.path, head: head)
        let slow = head.appender()
        let s = Sample(t: 0, v: 42)
        let x = Labels([("__name__", "x")])
        let r = slow.append(x, [s])
        #expect(r.accepted == 1)
        for t in stride(from: 2 * hour, to: 7 * hour, by: 60_000) { _ = append(head, Labels([("__name__", "y")]), [(t, 1)]) }
        _ = try db.compactHead()
        try slow.commit()
        #expect(try readAll(db)[x] == [Sample(t: 0, v: 42)])
    }

    @Test func aNewSeriesWithOnlyOutOfBoundsSamplesIsNotCreated() {
        var hopts = HeadOptions(); hopts.chunkRange = hour
        let head = Head(options: hopts)
        _ = append(head, Labels([("__name__", "y")]), [(5 * hour, 1)])
        let r = append(head, Labels([("__name__", "late")]), [(0, 1), (1000, 2)])
        #expect(r.rejected == 2 && r.firstFailure?.failure == .outOfBounds)
        #expect(head.numSeries == 1)
    }

    /// A merge that fails (here: a native-histogram chunk) is not retried ahead of every other merge.
    @Test func aFailingMergeIsNotPlannedAgain() throws {
        let dir = try TempDir("failed"); defer { dir.remove() }
        let l = Labels([("__name__", "h")])
        try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: 1000, series: [
            BlockSeriesInput(labels: l, chunks: [EncodedChunk(encoding: 2, minTime: 0, maxTime: 500, bytes: [0, 1, 0, 0])]),
        ])
        try BlockWriter.write(parentDir: dir.path, mint: 500, maxt: 2000, series: [
            BlockSeriesInput(labels: l, chunks: XORChunk.encodeChunks([Sample(t: 600, v: 1)])),
        ])
        let db = try DB(dir: dir.path, head: Head())
        #expect { try db.compactBlocks() } throws: { "\($0)".contains("native histograms") }
        #expect(try db.compactBlocks().isEmpty)
        #expect(db.blocks.count == 2)
        // Marked in meta.json, so a restart does not try again either.
        let reopened = try DB(dir: dir.path, head: Head())
        #expect(reopened.blocks.allSatisfy { $0.meta.compaction.failed == true })
        #expect(try reopened.compactBlocks().isEmpty)
    }

    /// Label values that are canonically equivalent Unicode but different bytes stay different.
    @Test func canonicallyEquivalentLabelValuesStayDistinctInABlock() throws {
        let dir = try TempDir("nfc"); defer { dir.remove() }
        let nfc = Labels([("__name__", "m"), ("v", "\u{E9}")]), nfd = Labels([("__name__", "m"), ("v", "e\u{301}")])
        #expect(nfc.bytes != nfd.bytes)
        try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: 1000, series: [
            BlockSeriesInput(labels: nfc, chunks: XORChunk.encodeChunks([Sample(t: 1, v: 1)])),
            BlockSeriesInput(labels: nfd, chunks: XORChunk.encodeChunks([Sample(t: 1, v: 2)])),
        ])
        let got = try readAll(try DB(dir: dir.path, head: Head()))
        #expect(got.count == 2)
        #expect(got.keys.contains { $0.bytes == nfc.bytes } && got.keys.contains { $0.bytes == nfd.bytes })
    }

    /// A damaged chunk length makes the query fail with an error, never a crash.
    @Test func aDamagedChunkSegmentFailsTheQueryCleanly() throws {
        let dir = try TempDir("damaged"); defer { dir.remove() }
        let (head, _) = filledHead(series: 2, from: 0, to: 600_000)
        let meta = try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: hour, series: try head.blockSeries(mint: 0, maxt: hour))
        // The first chunk's length: a 10-byte uvarint beyond Int.max.
        try damage(dir.file(meta.ulid + "/chunks/000001")) { for i in 8 ..< 18 { $0[i] = 0xFF } }
        let db = try DB(dir: dir.path, head: Head())
        #expect(throws: (any Error).self) { try readAll(db) }
    }
}
