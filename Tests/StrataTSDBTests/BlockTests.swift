import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

let hour: Int64 = 3600 * 1000

/// A head with a short block range, `series` series with one sample every `step` ms in `[from, to)`.
func filledHead(series: Int, from: Int64, to: Int64, step: Int64 = 15_000, range: Int64 = hour, wal: WAL? = nil) -> (Head, [Labels: [Sample]]) {
    var options = HeadOptions()
    options.chunkRange = range
    let head = Head(options: options, wal: wal)
    var expected: [Labels: [Sample]] = [:]
    var rng = SplitMix(seed: 7)
    // Time-major order, as a scrape would deliver it, so the head's min-valid window moves along.
    var t = from
    while t < to {
        for i in 0 ..< series {
            let labels = Labels([("__name__", i % 2 == 0 ? "requests_total" : "temperature"), ("instance", "host-\(i)"),
                                 ("zone", i % 3 == 0 ? "eu-😀" : "us")])
            let v = Double(rng.next() % 10_000) / 8
            #expect(append(head, labels, [(t + Int64(i), v)]).accepted == 1)
            expected[labels, default: []].append(Sample(t: t + Int64(i), v: v))
        }
        t += step
    }
    return (head, expected)
}

/// Rewrites a file with some of its bytes changed (to damage a block on purpose).
func damage(_ path: String, _ edit: (inout [UInt8]) -> Void) throws {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    edit(&bytes)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func readAll(_ storage: any Queryable, mint: Int64 = .min, maxt: Int64 = .max) throws -> [Labels: [Sample]] {
    var out: [Labels: [Sample]] = [:]
    for (l, s) in try read(storage, [try LabelMatcher(.regexMatch, "__name__", ".+")], mint: mint, maxt: maxt) where !s.isEmpty {
        #expect(out[l] == nil, "series \(l) returned twice")
        out[l] = s
    }
    return out
}

@Suite struct BlockFormatTests {
    @Test func ulidsAreValidAndCarryTheirTime() {
        let u = ULID.make(milliseconds: 1_700_000_000_123)
        #expect(u.count == 26)
        #expect(ULID.isValid(u))
        #expect(ULID.time(u) == 1_700_000_000_123)
        #expect(ULID.encode(time: 0, randomHigh: 0, randomLow: 0) == String(repeating: "0", count: 26))
        #expect(ULID.encode(time: (1 << 48) - 1, randomHigh: .max, randomLow: .max) == "7" + String(repeating: "Z", count: 25))
        #expect(!ULID.isValid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"))
        #expect(!ULID.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation"))
        #expect(ULID.make(milliseconds: 1) < ULID.make(milliseconds: 2))
    }

    @Test func metaJSONIsLaidOutLikeGoAndReadsBack() throws {
        let dir = try TempDir("meta"); defer { dir.remove() }
        var meta = BlockMeta(ulid: "01HQ00000000000000000000AA", minTime: 1000, maxTime: 7_200_000)
        meta.stats.numSamples = 120; meta.stats.numSeries = 1; meta.stats.numChunks = 1
        meta.compaction.sources = ["01HQ00000000000000000000AA"]
        try meta.write(dir: dir.path)
        let text = try String(contentsOfFile: dir.file("meta.json"), encoding: .utf8)
        #expect(text == """
        {
        \t"ulid": "01HQ00000000000000000000AA",
        \t"minTime": 1000,
        \t"maxTime": 7200000,
        \t"stats": {
        \t\t"numSamples": 120,
        \t\t"numSeries": 1,
        \t\t"numChunks": 1
        \t},
        \t"compaction": {
        \t\t"level": 1,
        \t\t"sources": [
        \t\t\t"01HQ00000000000000000000AA"
        \t\t]
        \t},
        \t"version": 1
        }
        """)
        #expect(try BlockMeta.read(dir: dir.path) == meta)
    }

    /// Thanos adds a `thanos` section (and a newer Prometheus may add fields): rewriting the
    /// file, as compaction's deletable mark or a shipper does, must keep them as they were.
    @Test func metaKeepsFieldsItDoesNotKnow() throws {
        let dir = try TempDir("meta"); defer { dir.remove() }
        let thanos = """
        {
        \t\t"labels": {
        \t\t\t"tenant_id": "team-a",
        \t\t\t"replica": "r\\"1"
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
        \t\t\t\t"rel_path": "index",
        \t\t\t\t"size_in_bytes": 9007199254740993
        \t\t\t}
        \t\t]
        \t}
        """
        let text = """
        {
        \t"ulid": "01HQ00000000000000000000AA",
        \t"minTime": 0,
        \t"maxTime": 7200000,
        \t"stats": {
        \t\t"numSamples": 3
        \t},
        \t"compaction": {
        \t\t"level": 1,
        \t\t"sources": [
        \t\t\t"01HQ00000000000000000000AA"
        \t\t]
        \t},
        \t"version": 1,
        \t"thanos": \(thanos),
        \t"future": [1, {"a": "}"}]
        }
        """
        try text.write(toFile: dir.file("meta.json"), atomically: true, encoding: .utf8)
        var meta = try BlockMeta.read(dir: dir.path)
        #expect(meta.extraFields == [BlockMeta.ExtraField(key: "thanos", json: thanos),
                                     BlockMeta.ExtraField(key: "future", json: #"[1, {"a": "}"}]"#)])
        // Written back byte for byte (this file is already in Go's layout), and after a change
        // the unknown fields are still there.
        try meta.write(dir: dir.path)
        #expect(try String(contentsOfFile: dir.file("meta.json"), encoding: .utf8) == text)
        meta.compaction.deletable = true
        try meta.write(dir: dir.path)
        let again = try BlockMeta.read(dir: dir.path)
        #expect(again.compaction.deletable == true && again.extraFields == meta.extraFields)
    }

    @Test func metaWithAnotherVersionOrBrokenJSONIsRefused() throws {
        let dir = try TempDir("meta"); defer { dir.remove() }
        try #"{"ulid":"x","minTime":0,"maxTime":1,"stats":{},"compaction":{"level":1,"sources":[]},"version":2}"#
            .write(toFile: dir.file("meta.json"), atomically: true, encoding: .utf8)
        #expect(Self.errorKind { try BlockMeta.read(dir: dir.path) } == .unsupported)
        try "{".write(toFile: dir.file("meta.json"), atomically: true, encoding: .utf8)
        #expect(Self.errorKind { try BlockMeta.read(dir: dir.path) } == .corrupt)
        try FileManager.default.removeItem(atPath: dir.file("meta.json"))
        #expect(Self.errorKind { try BlockMeta.read(dir: dir.path) } == .notFound)
    }

    /// The kind of storage error `body` throws (nil when it throws nothing or something else).
    static func errorKind(_ body: () throws -> Void) -> StorageError.Kind? {
        do { try body(); return nil } catch { return (error as? StorageError)?.kind }
    }

    @Test func aWrittenBlockReadsBackWithEveryMatcherKind() throws {
        let dir = try TempDir("block"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 30, from: 0, to: hour)
        let meta = try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: hour, series: try head.blockSeries(mint: 0, maxt: hour))
        #expect(meta.stats.numSeries == 30)
        #expect(meta.stats.numSamples == UInt64(expected.values.reduce(0) { $0 + $1.count }))
        #expect(meta.compaction.sources == [meta.ulid])
        #expect(FileSystem.exists(dir.file(meta.ulid + "/tombstones")))
        #expect(try FileSystem.size(dir.file(meta.ulid + "/tombstones")) == 9)
        #expect(!FileSystem.exists(dir.file(meta.ulid + ".tmp-for-creation")))

        let block = try Block(dir: dir.file(meta.ulid))
        #expect(try readAll(block) == expected)
        let q = try block.querier(mint: .min, maxt: .max)
        #expect(try q.labelNames([]) == ["__name__", "instance", "zone"])
        #expect(try q.labelValues("zone", []) == ["eu-😀", "us"])
        #expect(try q.labelValues("nope", []) == [])
        func count(_ ms: [LabelMatcher]) throws -> Int { try q.select(ms, hints: SelectHints(mint: .min, maxt: .max)).count }
        #expect(try count([try LabelMatcher(.equal, "zone", "eu-😀")]) == 10)
        #expect(try count([try LabelMatcher(.notEqual, "zone", "us")]) == 10)
        #expect(try count([try LabelMatcher(.regexMatch, "instance", "host-1.")]) == 10)
        #expect(try count([try LabelMatcher(.regexNoMatch, "instance", "host-1.*")]) == 19)
        #expect(try count([try LabelMatcher(.equal, "__name__", "temperature"), try LabelMatcher(.equal, "zone", "us")]) == 10)
        #expect(try count([try LabelMatcher(.equal, "missing", "")]) == 30)
        #expect(try count([try LabelMatcher(.equal, "zone", "nope")]) == 0)
        // Selected series come back sorted by labels, and a time range cuts samples.
        let sel = try q.select([try LabelMatcher(.regexMatch, "__name__", ".+")], hints: SelectHints(mint: .min, maxt: .max))
        #expect(sel.map(\.labels) == sel.map(\.labels).sorted())
        let part = try readAll(block, mint: 600_000, maxt: 900_000)
        #expect(part.values.allSatisfy { $0.allSatisfy { $0.t >= 600_000 && $0.t <= 900_000 } })
        #expect(part.count == 30)
    }

    /// The head streams a block to the writer in label order, sorted by its label bytes in place;
    /// the files must be the ones the list form writes (series created in no label order, a
    /// range that cuts chunks, and a range with no samples).
    @Test func aHeadWritesTheSameBlockStreamingAsFromAList() throws {
        let dir = try TempDir("block"); defer { dir.remove() }
        let (head, _) = filledHead(series: 200, from: 0, to: hour)
        for (mint, maxt) in [(Int64(0), hour), (600_000, 1_800_000)] {
            let listed = try BlockWriter.write(parentDir: dir.path, mint: mint, maxt: maxt, series: try head.blockSeries(mint: mint, maxt: maxt))
            let streamed = try #require(try head.writeBlock(parentDir: dir.path, mint: mint, maxt: maxt))
            #expect(streamed.stats == listed.stats && streamed.minTime == mint && streamed.maxTime == maxt)
            for file in ["index", "chunks/000001"] {
                let a = try Data(contentsOf: URL(fileURLWithPath: dir.file(listed.ulid + "/" + file)))
                let b = try Data(contentsOf: URL(fileURLWithPath: dir.file(streamed.ulid + "/" + file)))
                #expect(a == b, "\(file) of [\(mint), \(maxt))")
            }
        }
        #expect(try head.writeBlock(parentDir: dir.path, mint: 2 * hour, maxt: 3 * hour) == nil)
        let other = try #require(try head.writeBlock(parentDir: dir.path, mint: 0, maxt: hour, blockMint: -5, blockMaxt: 7))
        #expect(other.minTime == -5 && other.maxTime == 7)
    }

    @Test func corruptIndexIsRefusedWithTheFileName() throws {
        let dir = try TempDir("block"); defer { dir.remove() }
        let (head, _) = filledHead(series: 3, from: 0, to: 600_000)
        let meta = try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: hour, series: try head.blockSeries(mint: 0, maxt: hour))
        try damage(dir.file(meta.ulid + "/index")) { $0[$0.count - 10] ^= 0xff } // inside the TOC
        #expect { try Block(dir: dir.file(meta.ulid)) } throws: { "\($0)".contains("index") && "\($0)".contains("checksum") }
    }
}
