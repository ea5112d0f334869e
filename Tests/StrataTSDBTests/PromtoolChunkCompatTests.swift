import Foundation
import StrataEncoding
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// Byte equality with Prometheus 2.42: the same samples written by `promtool tsdb
/// create-blocks-from openmetrics` and appended to Strata's head give identical chunks, cut at
/// the same places.
@Suite struct PromtoolChunkCompatTests {
    static func promtoolChunks(_ samples: [Sample]) throws -> [[UInt8]]? {
        guard let promtool = requiredTool("promtool") else { return nil }
        let dir = try TempDir("strata-promtool")
        defer { dir.remove() }
        var text = "# TYPE foo gauge\n"
        for s in samples {
            text += "foo{a=\"b\"} \(openMetricsValue(s.v)) \(s.t / 1000).\(String(format: "%03d", s.t % 1000))\n"
        }
        text += "# EOF\n"
        try text.write(toFile: dir.file("in.om"), atomically: true, encoding: .utf8)
        let r = try Tools.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", dir.file("in.om"), dir.file("out")])
        guard r.status == 0 else {
            Issue.record("promtool failed: \(r.stderr)")
            return []
        }
        // Blocks are ULID-named, so lexical order is creation order; each block holds one series here.
        let blocks = try FileManager.default.contentsOfDirectory(atPath: dir.file("out")).sorted()
        var chunks: [(mint: Int64, bytes: [UInt8])] = []
        for b in blocks {
            let segDir = dir.file("out/\(b)/chunks")
            for seg in try FileManager.default.contentsOfDirectory(atPath: segDir).sorted() {
                let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(segDir)/\(seg)")))
                chunks += try parseSegment(data)
            }
        }
        return chunks.sorted { $0.mint < $1.mint }.map(\.bytes)
    }

    /// Reads a block chunk segment: 8-byte header, then `len uvarint | encoding | data | CRC32C`.
    static func parseSegment(_ data: [UInt8]) throws -> [(mint: Int64, bytes: [UInt8])] {
        #expect(Array(data.prefix(5)) == [0x85, 0xBD, 0x40, 0xDD, 0x01])
        var out: [(mint: Int64, bytes: [UInt8])] = []
        try data.withUnsafeBytes { buf in
            var r = ByteReader(buf, offset: 8)
            while !r.isAtEnd {
                let len = Int(try r.uvarint())
                let start = r.offset
                let enc = try r.byte()
                #expect(enc == XORChunk.encoding)
                let body = Array(try r.bytes(len))
                let crc = try r.be32()
                #expect(crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[start ..< start + 1 + len])))
                let first = try XORDecoder.samples(body).first?.t ?? 0
                out.append((first, body))
            }
        }
        return out
    }

    static func openMetricsValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        return "\(v)"
    }

    /// promtool's backfill (2.42 `cmd/promtool/backfill.go`) appends each 2h block's samples to
    /// its own head whose chunk range is twice the block duration, so it does the same here: one
    /// head per aligned 2h window, chunk range 4h. The cutting code is the head's own.
    static func strataChunks(_ samples: [Sample]) throws -> [[UInt8]] {
        let block: Int64 = 2 * 3600 * 1000
        var windows: [Int64: [Sample]] = [:]
        for s in samples { windows[(s.t / block) * block, default: []].append(s) }
        var out: [[UInt8]] = []
        for start in windows.keys.sorted() {
            var options = HeadOptions()
            options.chunkRange = 2 * block
            let head = Head(options: options)
            let app = head.appender()
            let labels = Labels([("__name__", "foo"), ("a", "b")])
            let w = windows[start]!
            let r = app.append(labels, w)
            #expect(r.accepted == w.count)
            try app.commit()
            let q = try head.querier(mint: .min, maxt: .max)
            let series = try q.select([try LabelMatcher(.equal, "__name__", "foo")], hints: SelectHints(mint: .min, maxt: .max))
            #expect(series.count == 1)
            out += try (series[0] as! HeadSeries).chunks(mint: .min, maxt: .max).map(\.bytes)
        }
        return out
    }

    static func check(_ samples: [Sample]) throws {
        guard let theirs = try promtoolChunks(samples) else { return }
        let ours = try strataChunks(samples)
        #expect(ours.count == theirs.count, "chunk count: strata \(ours.count), promtool \(theirs.count)")
        for (i, (a, b)) in zip(ours, theirs).enumerated() {
            #expect(a == b, "chunk \(i) differs: \(a.count) vs \(b.count) bytes")
        }
    }

    static let base: Int64 = 1_600_000_000_000

    @Test func regularScrapeIntervalAcrossBlocks() throws {
        try Self.check((0 ..< 1000).map { Sample(t: Self.base + Int64($0) * 15000, v: Double($0) * 1.5) })
    }

    @Test func jitteredIntervalsAndSpecialValues() throws {
        var rng = SplitMix(seed: 42)
        var t = Self.base + 123
        var samples: [Sample] = []
        let specials: [Double] = [normalNaN, .infinity, -.infinity, 0, -1e-7, 1e21, 5e-324]
        for i in 0 ..< 900 {
            t += 14_000 + Int64(rng.next() % 2000)
            let v = i % 97 == 0 ? specials[(i / 97) % specials.count] : Double(Int64(rng.next() % 100_000)) / 1000
            samples.append(Sample(t: t, v: v))
        }
        try Self.check(samples)
    }

    @Test func highFrequencyThenRateChange() throws {
        // 60s samples, then 1s samples: the early prediction is too long, so the 240-sample rule cuts.
        var samples: [Sample] = []
        var t = Self.base
        for i in 0 ..< 40 { t += 60_000; samples.append(Sample(t: t, v: Double(i))) }
        for i in 0 ..< 3000 { t += 1000; samples.append(Sample(t: t, v: Double(i % 50) + 0.25)) }
        try Self.check(samples)
    }

    @Test func largeGapsBetweenSamples() throws {
        let ts: [Int64] = [0, 1, 2, 3_600_000, 3_600_001, 10_000_000, 10_000_500, 50_000_000, 50_000_001, 50_060_000]
        try Self.check(ts.enumerated().map { Sample(t: Self.base + $0.element, v: Double($0.offset) * -3.25) })
    }
}
