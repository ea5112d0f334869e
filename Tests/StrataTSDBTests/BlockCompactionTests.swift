import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

@Suite struct CompactionPlannerTests {
    static func meta(_ id: String, _ mint: Int64, _ maxt: Int64) -> BlockMeta { BlockMeta(ulid: id, minTime: mint, maxTime: maxt) }

    @Test func rangesGrowByThreeUpToATenthOfRetentionOr31Days() {
        let h: Int64 = 3600 * 1000
        #expect(CompactionPlanner.ranges(blockRange: 2 * h, retention: 15 * 24 * h) == [2 * h, 6 * h, 18 * h])
        #expect(CompactionPlanner.ranges(blockRange: 2 * h, retention: 0) == [2 * h, 6 * h, 18 * h, 54 * h, 162 * h, 486 * h])
        #expect(CompactionPlanner.ranges(blockRange: 2 * h, retention: h) == [2 * h])
    }

    @Test func plansFullRangesButNeverTheNewestBlock() {
        let h: Int64 = 3600 * 1000, r = CompactionPlanner.ranges(blockRange: 2 * h, retention: 0)
        let four = [Self.meta("a", 0, 2 * h), Self.meta("b", 2 * h, 4 * h), Self.meta("c", 4 * h, 6 * h), Self.meta("d", 6 * h, 8 * h)]
        #expect(CompactionPlanner.plan(four, ranges: r).map(\.ulid) == ["a", "b", "c"])
        // [a, b] neither fills 6h nor ends before the newest remaining block starts: wait.
        #expect(CompactionPlanner.plan(Array(four.prefix(3)), ranges: r).isEmpty)
        #expect(CompactionPlanner.plan(Array(four.prefix(2)), ranges: r).isEmpty)
        // A range with a gap still compacts once a newer block exists.
        #expect(CompactionPlanner.plan([Self.meta("a", 0, 2 * h), Self.meta("c", 4 * h, 6 * h), Self.meta("d", 6 * h, 8 * h)], ranges: r).map(\.ulid) == ["a", "c"])
    }

    @Test func overlappingBlocksComeFirst() {
        let h: Int64 = 3600 * 1000, r = CompactionPlanner.ranges(blockRange: 2 * h, retention: 0)
        let ms = [Self.meta("a", 0, 2 * h), Self.meta("b", 2 * h, 4 * h), Self.meta("x", 3 * h, 5 * h), Self.meta("c", 6 * h, 8 * h)]
        #expect(CompactionPlanner.plan(ms, ranges: r).map(\.ulid) == ["b", "x"])
    }
}

@Suite struct BlockCompactionTests {
    @Test func leveledCompactionMergesHeadBlocksIntoLargerOnes() throws {
        let dir = try TempDir("leveled"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 12, from: 0, to: 8 * hour, step: 30_000)
        let db = try DB(dir: dir.path, head: head)
        let r = try db.compact()
        #expect(r.blocks.count == 7)        // [0,1h) … [6h,7h) cut from the head
        // Ranges 1h, 3h, 9h: [0,3h) and [3h,6h) fill 3h ranges; [0,6h) would not fill 9h and
        // is not older than the newest block's start, so it waits (as in Prometheus).
        #expect(r.merged.count == 2)
        #expect(db.blocks.map(\.minTime) == [0, 3 * hour, 6 * hour])
        #expect(db.blocks.map(\.maxTime) == [3 * hour, 6 * hour, 7 * hour])
        let big = db.blocks[0].meta
        #expect(big.compaction.level == 2)
        #expect(big.compaction.sources.count == 3)
        #expect(big.compaction.parents?.count == 3)
        #expect(big.stats.numSeries == 12)
        #expect(big.stats.numSamples == UInt64(expected.values.reduce(0) { $0 + $1.filter { $0.t < 3 * hour }.count }))
        // Merged-away blocks are gone from disk; the data is all there, once.
        #expect(try FileSystem.list(dir.path).filter { ULID.isValid($0) }.sorted() == db.blocks.map(\.ulid).sorted())
        #expect(try readAll(db) == expected)
        #expect(try readAll(try DB(dir: dir.path, head: Head())) == expected.mapValues { $0.filter { $0.t < 7 * hour } })
    }

    @Test func verticalCompactionMergesOverlappingBlocksSampleBySample() throws {
        let dir = try TempDir("vertical"); defer { dir.remove() }
        let a = Labels([("__name__", "m"), ("src", "x")]), b = Labels([("__name__", "m"), ("src", "y")])
        func chunks(_ ts: [Int64], _ v: (Int64) -> Double) -> [EncodedChunk] { XORChunk.encodeChunks(ts.map { Sample(t: $0, v: v($0)) }) }
        // Block 1: even seconds of a, and b. Block 2: odd seconds of a plus a few even ones again.
        let even = Array(stride(from: Int64(0), to: 600_000, by: 2000)), odd = Array(stride(from: Int64(1000), to: 600_000, by: 2000))
        try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: 600_000, series: [
            BlockSeriesInput(labels: a, chunks: chunks(even) { Double($0) }),
            BlockSeriesInput(labels: b, chunks: chunks(even) { -Double($0) }),
        ])
        try BlockWriter.write(parentDir: dir.path, mint: 1000, maxt: 700_000, series: [
            BlockSeriesInput(labels: a, chunks: chunks((odd + [0, 2000, 4000]).sorted() + [650_000]) { Double($0) }),
        ])
        let db = try DB(dir: dir.path, head: Head())
        #expect(db.blocks.count == 2)
        let before = try readAll(db)
        let merged = try db.compactBlocks()
        #expect(merged.count == 1)
        #expect(db.blocks.count == 1)
        #expect(merged[0].minTime == 0 && merged[0].maxTime == 700_000)
        #expect(merged[0].compaction.level == 2)
        let after = try readAll(db)
        #expect(after == before)
        #expect(after[a]?.map(\.t) == Array(stride(from: Int64(0), to: 600_000, by: 1000)) + [650_000])
        #expect(after[b]?.count == 300)
    }

    @Test func tombstonesHideSamplesAndCompactionDropsThem() throws {
        let dir = try TempDir("tombstones"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 2, from: 0, to: hour, step: 60_000)
        let meta = try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: hour, series: try head.blockSeries(mint: 0, maxt: hour))
        // Series refs are offset/16 in the index: take the first series' ref from the postings.
        let ref = try Block(dir: dir.file(meta.ulid)).index.allPostings()[0]
        try Tombstones.write(dir: dir.file(meta.ulid), [(ref, Tombstones.Interval(mint: 600_000, maxt: 1_200_000))])
        #expect(try Tombstones.read(dir: dir.file(meta.ulid)) == [ref: [Tombstones.Interval(mint: 600_000, maxt: 1_200_000)]])
        let block = try Block(dir: dir.file(meta.ulid))
        var want = expected
        let first = want.keys.sorted()[0]
        want[first] = want[first]!.filter { $0.t < 600_000 || $0.t > 1_200_000 }
        #expect(try readAll(block) == want)
        // Remote read's chunks carry the same samples.
        let s = try block.querier(mint: .min, maxt: .max).select([try LabelMatcher(.equal, "instance", "host-0")], hints: SelectHints(mint: .min, maxt: .max))[0]
        var fromChunks: [Sample] = []
        for c in try (s as! any ChunkedStorageSeries).chunks(mint: .min, maxt: .max) { try XORDecoder.samples(c.bytes, into: &fromChunks) }
        #expect(fromChunks == want[first])
        // Merging the block with another drops the deleted samples for good.
        let (head2, _) = filledHead(series: 1, from: hour, to: 2 * hour, step: 60_000)
        try BlockWriter.write(parentDir: dir.path, mint: hour, maxt: 2 * hour, series: try head2.blockSeries(mint: hour, maxt: 2 * hour))
        let db = try DB(dir: dir.path, head: Head())
        let merged = try BlockCompactor.compact(db.blocks, into: dir.path)
        let mb = try Block(dir: dir.file(merged.ulid))
        #expect(mb.tombstones.isEmpty)
        #expect(try readAll(mb)[first]?.filter { $0.t < hour } == want[first])
    }

    @Test func aCompactedParentLeftByACrashIsDeletedOnOpen() throws {
        let dir = try TempDir("parents"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 3, from: 0, to: 5 * hour, step: 60_000)
        var options = DBOptions(); options.blockRanges = []   // no block compaction yet
        let db = try DB(dir: dir.path, head: head, options: options)
        _ = try db.compactHead()
        let inputs = Array(db.blocks.prefix(2))
        // Merge without deleting the inputs, as if the process died right after the rename.
        _ = try BlockCompactor.compact(inputs, into: dir.path)
        #expect(try FileSystem.list(dir.path).filter { ULID.isValid($0) }.count == 5)
        let reopened = try DB(dir: dir.path, head: Head())
        #expect(reopened.blocks.count == 3)
        #expect(!inputs.contains { FileSystem.exists($0.dir) })
        #expect(try readAll(reopened) == expected.mapValues { $0.filter { $0.t < 4 * hour } })
    }

    @Test func promtoolReadsCompactedBlocks() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("leveled-promtool"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 6, from: 1_700_000_000_000, to: 1_700_000_000_000 + 6 * hour, step: 60_000)
        let db = try DB(dir: dir.path, head: head)
        let r = try db.compact()
        #expect(!r.merged.isEmpty)
        try FileSystem.mkdirAll(dir.file("wal")) // promtool dump wants one; the head's data is not in it
        let list = try Tools.run(promtool, ["tsdb", "list", dir.path])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains(r.merged.last!.ulid))
        let dump = try Tools.run(promtool, ["tsdb", "dump", dir.path])
        #expect(dump.status == 0, "\(dump.stderr)")
        var want: [String] = []
        let end = db.blocks.map(\.maxTime).max()!
        for (l, ss) in expected { for s in ss where s.t < end { want.append("\(l) \(GoFloat.formatG(s.v)) \(s.t)") } }
        #expect(dump.stdout.split(separator: "\n").map(String.init).sorted() == want.sorted())
    }
}
