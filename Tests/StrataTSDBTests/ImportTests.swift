import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB
@testable import StrataTools

@Suite struct OpenMetricsImportTests {
    static func sampleFile() -> (String, [Labels: [Sample]]) {
        var text = "# HELP rpc_total RPCs.\n# TYPE rpc_total counter\n"
        var expected: [Labels: [Sample]] = [:]
        let base: Int64 = 1_700_000_000_000
        var rng = SplitMix(seed: 11)
        // 5h of samples every 30 s for 6 series, interleaved by time as an exporter would write them.
        for k in 0 ..< 600 {
            for s in 0 ..< 6 {
                let t = base + Int64(k) * 30_000 + Int64(s) * 7
                let v = k == 17 ? GoFloat.goNaN : Double(rng.next() % 100_000) / 16 // "NaN" parses to Go's NaN bits
                let code = s % 2 == 0 ? "200" : "5\"0\\0"
                text += "rpc_total{code=\"\(code.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\",shard=\"\(s)\"} \(GoFloat.formatG(v)) \(t / 1000).\(String(format: "%03d", t % 1000)) # {trace_id=\"x\"} 1\n"
                expected[Labels([("__name__", "rpc_total"), ("code", code), ("shard", String(s))]), default: []].append(Sample(t: t, v: v))
            }
        }
        return (text + "# EOF\n", expected)
    }

    @Test func importedBlocksMatchPromtoolsChunkForChunk() throws {
        let dir = try TempDir("import"); defer { dir.remove() }
        let (text, expected) = Self.sampleFile()
        let r = try OpenMetricsImport.run(text: text, outputDir: dir.file("strata"))
        #expect(r.samples == 3600)
        let db = try DB(dir: dir.file("strata"), head: Head())
        let got = try readAll(db)
        #expect(got.keys.sorted() == expected.keys.sorted())
        for (l, ss) in expected {
            // NaN != NaN: compare bit patterns.
            let same = got[l]?.map { "\($0.t) \($0.v.bitPattern)" } == ss.map { "\($0.t) \($0.v.bitPattern)" }
            #expect(same, "samples of \(l) differ")
        }

        guard let promtool = requiredTool("promtool") else { return }
        try text.write(toFile: dir.file("in.om"), atomically: true, encoding: .utf8)
        let p = try Tools.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", dir.file("in.om"), dir.file("promtool")])
        #expect(p.status == 0, "\(p.stderr)")
        let theirs = try DB(dir: dir.file("promtool"), head: Head()).blocks
        #expect(theirs.count == db.blocks.count)
        for (a, b) in zip(db.blocks, theirs) {
            #expect(a.minTime == b.minTime && a.maxTime == b.maxTime)
            #expect(a.meta.stats == b.meta.stats)
            // Same chunks, byte for byte (the indexes differ: promtool 2.42 adds legacy label indices).
            let ours = try Data(contentsOf: URL(fileURLWithPath: a.dir + "/chunks/000001"))
            let promtools = try Data(contentsOf: URL(fileURLWithPath: b.dir + "/chunks/000001"))
            #expect(ours == promtools)
        }
    }

    /// Windows imported one pass each or all in one pass give the same blocks, chunk for chunk.
    @Test func theWindowsOfAPassDoNotChangeTheBlocks() throws {
        let dir = try TempDir("import-passes"); defer { dir.remove() }
        let (text, _) = Self.sampleFile()
        var chunks: [[Data]] = []
        for perPass in [1, 2000, .max] {
            let out = dir.file("out-\(perPass)")
            let r = try OpenMetricsImport.run(text: text, outputDir: out, samplesPerPass: perPass)
            #expect(r.samples == 3600 && r.blocks.count == 3)
            let blocks = try DB(dir: out, head: Head()).blocks
            chunks.append(try blocks.map { try Data(contentsOf: URL(fileURLWithPath: $0.dir + "/chunks/000001")) })
            #expect(blocks.map(\.meta.stats.numSamples) == r.blocks.sorted { $0.minTime < $1.minTime }.map(\.stats.numSamples))
        }
        #expect(chunks[0] == chunks[1] && chunks[1] == chunks[2])
    }

    @Test(arguments: [
        ("m 1 1\n", "missing # EOF"),
        ("m 1\n# EOF\n", "expected a timestamp"),
        ("m 1 2\nm 1 1\n# EOF\n", "out of order"),
        ("m 1 1\nm 2 1\n# EOF\n", "duplicate sample"),
        ("m{a=\"1\",a=\"2\"} 1 1\n# EOF\n", "duplicate label name"),
        ("m{a=\"\\q\"} 1 1\n# EOF\n", "invalid escape"),
        ("m 1 1\n# EOF\nm 2 2\n", "data after # EOF"),
        ("m abc 1\n# EOF\n", "invalid value"),
        ("# what\n# EOF\n", "invalid comment"),
        ("{a=\"b\"} 1 1\n# EOF\n", "metric name"),
        ("# UNIT m_total seconds\nm_total 1 1\n# EOF\n", "not a suffix"),
    ])
    func badInputIsRefusedWithItsLineAndWritesNothing(input: String, message: String) throws {
        let dir = try TempDir("import-bad"); defer { dir.remove() }
        // A valid first window, so a late error would have written a block already.
        let text = "ok 1 1\n" + input
        #expect { try OpenMetricsImport.run(text: text, outputDir: dir.path) } throws: { "\($0)".contains(message) && "\($0)".contains("line ") }
        #expect(try FileSystem.list(dir.path).isEmpty)
    }
}
