import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB
@testable import StrataTools

/// Prometheus 2.42's own tools read Strata's blocks, and Strata reads theirs.
@Suite struct PromtoolBlockCompatTests {
    /// A data directory with several blocks cut by head compaction and the rest in the WAL.
    static func strataDataDir(_ dir: TempDir) throws -> (DB, [Labels: [Sample]]) {
        var opts = WALOptions()
        opts.segmentSize = 8 * WAL.pageSize
        let wal = try WAL(dir: dir.file("wal"), options: opts)
        let (head, expected) = filledHead(series: 25, from: 1_700_000_000_000, to: 1_700_000_000_000 + 5 * hour, wal: wal)
        let db = try DB(dir: dir.path, head: head)
        let r = try db.compactHead()
        #expect(r.blocks.count >= 3)
        try wal.close()
        return (db, expected)
    }

    @Test func promtoolListsStrataBlocksWithTheirStatsAndSizes() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("promtool-blocks"); defer { dir.remove() }
        let (db, _) = try Self.strataDataDir(dir)
        let r = try Tools.run(promtool, ["tsdb", "list", dir.path])
        #expect(r.status == 0, "promtool failed: \(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.count == db.blocks.count)
        for (row, block) in zip(rows, db.blocks) {
            let m = block.meta
            #expect(row[0] == m.ulid)
            #expect(row[1] == String(m.minTime) && row[2] == String(m.maxTime))
            #expect(row[4] == String(m.stats.numSamples) && row[5] == String(m.stats.numChunks) && row[6] == String(m.stats.numSeries))
            #expect(row[7] == String(block.sizeBytes))
        }
    }

    @Test func promtoolDumpPrintsExactlyTheSamplesWrittenAcrossBlocksAndWAL() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("promtool-blocks"); defer { dir.remove() }
        let (_, expected) = try Self.strataDataDir(dir)
        let r = try Tools.run(promtool, ["tsdb", "dump", dir.path])
        #expect(r.status == 0, "promtool failed: \(r.stderr)")
        var want: [String] = []
        for (labels, samples) in expected { for s in samples { want.append("\(labels) \(GoFloat.formatG(s.v)) \(s.t)") } }
        let got = r.stdout.split(separator: "\n").map(String.init)
        #expect(got.count == want.count)
        #expect(got.sorted() == want.sorted())
    }

    @Test func promtoolAnalyzesAStrataBlock() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("promtool-blocks"); defer { dir.remove() }
        let (db, _) = try Self.strataDataDir(dir)
        let block = db.blocks[0]
        let r = try Tools.run(promtool, ["tsdb", "analyze", dir.path, block.ulid])
        #expect(r.status == 0, "promtool failed: \(r.stderr)")
        #expect(r.stdout.contains("Block ID: \(block.ulid)"))
        #expect(r.stdout.contains("Series: 25"))
        #expect(r.stdout.contains("Label names: 3"))
        #expect(r.stdout.contains("13 __name__=requests_total"))
    }

    /// `strata tsdb list|analyze|dump` print what promtool prints for the same directory.
    @Test func strataTSDBReportsMatchPromtool() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("promtool-blocks"); defer { dir.remove() }
        let (db, _) = try Self.strataDataDir(dir)
        func promtoolOut(_ args: [String]) throws -> String {
            let r = try Tools.run(promtool, ["tsdb"] + args)
            #expect(r.status == 0, "promtool failed: \(r.stderr)")
            return r.stdout
        }
        #expect(try BlockInspection.list(dir: dir.path) == promtoolOut(["list", dir.path]))
        #expect(try BlockInspection.list(dir: dir.path, humanReadable: true) == promtoolOut(["list", "-r", dir.path]))
        for b in db.blocks {
            // promtool leaves equal counts in map order: compare the lines as sets, nothing cut off.
            let ours = try BlockInspection.analyze(dir: dir.path, blockID: b.ulid, limit: 1000)
            let theirs = try promtoolOut(["analyze", "--limit=1000", dir.path, b.ulid])
            #expect(ours.split(separator: "\n").sorted() == theirs.split(separator: "\n").sorted())
        }
        var dumped = ""
        try BlockInspection.dump(dir: dir.path) { dumped += $0 }
        #expect(dumped.split(separator: "\n").sorted() == (try promtoolOut(["dump", dir.path])).split(separator: "\n").sorted())
        var part = ""
        let m = try LabelMatcher(.equal, "instance", "host-3")
        try BlockInspection.dump(dir: dir.path, mint: db.blocks[1].minTime, maxt: db.blocks[1].maxTime - 1, matchers: [m]) { part += $0 }
        let lines = part.split(separator: "\n")
        #expect(lines.count == 240) // one block of 1h at 15 s
        #expect(lines.allSatisfy { $0.contains("instance=\"host-3\"") })
    }

    @Test func goFormattingOfDurationsSizesAndTimes() {
        #expect(GoFormat.duration(millis: 0) == "0s")
        #expect(GoFormat.duration(millis: 1) == "1ms")
        #expect(GoFormat.duration(millis: 999) == "999ms")
        #expect(GoFormat.duration(millis: 15001) == "15.001s")
        #expect(GoFormat.duration(millis: 60000) == "1m0s")
        #expect(GoFormat.duration(millis: 7_200_000) == "2h0m0s")
        #expect(GoFormat.duration(millis: 90_061_010) == "25h1m1.01s")
        #expect(GoFormat.base2Bytes(0) == "0B")
        #expect(GoFormat.base2Bytes(583) == "583B")
        #expect(GoFormat.base2Bytes(1536) == "1KiB512B")
        #expect(GoFormat.base2Bytes(2 << 20) == "2MiB")
        #expect(GoFormat.time(1_700_000_000_999) == "2023-11-14 22:13:20 +0000 UTC")
        #expect(GoFormat.time(0) == "1970-01-01 00:00:00 +0000 UTC")
        #expect(GoFormat.time(951_782_400_000) == "2000-02-29 00:00:00 +0000 UTC")
    }

    @Test func strataReadsBlocksWrittenByPromtoolBackfill() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("promtool-backfill"); defer { dir.remove() }
        var text = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n"
        var expected: [Labels: [Sample]] = [:]
        let base: Int64 = 1_700_000_000_000
        // 7h of data: promtool cuts it into aligned 2h blocks.
        for code in ["200", "500"] {
            var v = 0.0
            for k in 0 ..< 7 * 60 {
                let t = base + Int64(k) * 60_000
                v += code == "200" ? 10 : 0.5
                text += "http_requests_total{code=\"\(code)\",job=\"api\"} \(v) \(t / 1000)\n"
                expected[Labels([("__name__", "http_requests_total"), ("code", code), ("job", "api")]), default: []].append(Sample(t: t, v: v))
            }
        }
        text += "# EOF\n"
        try text.write(toFile: dir.file("in.om"), atomically: true, encoding: .utf8)
        try FileSystem.mkdirAll(dir.file("data"))
        let r = try Tools.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", dir.file("in.om"), dir.file("data")])
        #expect(r.status == 0, "promtool failed: \(r.stderr)")
        let db = try DB(dir: dir.file("data"), head: Head())
        #expect(db.blocks.count >= 4)
        #expect(try readAll(db) == expected)
        let q = try db.querier(mint: .min, maxt: .max)
        #expect(try q.labelValues("code", []) == ["200", "500"])
        #expect(try q.labelNames([try LabelMatcher(.equal, "code", "500")]) == ["__name__", "code", "job"])
    }
}
