import StrataEncoding
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock

@Suite struct DownsampleTests {
    // MARK: helpers

    static func xor(_ samples: [Sample]) -> [UInt8] { XORChunkTests.encode(samples) }

    /// One window as a plain loop over raw samples sees it.
    struct Window {
        var end: Int64
        var firstT: Int64, firstV: Double
        var lastT: Int64, lastV: Double
        var count = 0, sum = 0.0, min = Double.infinity, max = -Double.infinity
    }

    /// The model: NaNs dropped, consecutive samples grouped by the end of their window.
    static func windows(_ raw: [Sample], _ r: Int64) -> [Window] {
        var out: [Window] = []
        for s in raw where !s.v.isNaN {
            let end = s.t - s.t % r + r - 1
            if out.last?.end != end { out.append(Window(end: end, firstT: s.t, firstV: s.v, lastT: s.t, lastV: s.v)) }
            out[out.count - 1].count += 1
            out[out.count - 1].sum += s.v
            out[out.count - 1].min = Swift.min(out[out.count - 1].min, s.v)
            out[out.count - 1].max = Swift.max(out[out.count - 1].max, s.v)
            out[out.count - 1].lastT = s.t
            out[out.count - 1].lastV = s.v
        }
        return out
    }

    /// The series as a counter: every reset (a drop) adds the new value, otherwise the increase.
    struct CounterModel {
        var points: [(t: Int64, raw: Double, counter: Double)] = []
        init(_ raw: [Sample]) {
            for s in raw where !s.v.isNaN {
                guard let last = points.last else { points.append((s.t, s.v, s.v)); continue }
                points.append((s.t, s.v, last.counter + (s.v < last.raw ? s.v : s.v - last.raw)))
            }
        }
        /// The last point at or before t.
        func at(_ t: Int64) -> (t: Int64, raw: Double, counter: Double) { points.last { $0.t <= t }! }
    }

    /// Checks aggregate chunks against the model at resolution r: every window once, in order,
    /// each at its window end except a chunk's last (capped at the chunk's last raw sample, so
    /// somewhere in the window); the counter sub-chunk framed by raw values; the counter across
    /// chunks equal to the model's counter everywhere.
    static func check(_ chunks: [EncodedChunk], raw: [Sample], r: Int64, exactCap: Bool) throws {
        let model = windows(raw, r)
        let counter = CounterModel(raw)
        var k = 0
        var expectedCounterTimes = Set<Int64>()
        for c in chunks {
            #expect(c.encoding == AggrChunk.encoding)
            let count = try AggrChunk.samples(c.bytes, .count), sum = try AggrChunk.samples(c.bytes, .sum)
            let min = try AggrChunk.samples(c.bytes, .min), max = try AggrChunk.samples(c.bytes, .max)
            let cnt = try AggrChunk.samples(c.bytes, .counter)
            #expect(!count.isEmpty && count.count <= 150)
            #expect(AggrChunk.sampleCount(c.bytes) == count.count)
            #expect(sum.map(\.t) == count.map(\.t) && min.map(\.t) == count.map(\.t) && max.map(\.t) == count.map(\.t))
            #expect(c.minTime == count.first?.t && c.maxTime == count.last?.t)
            let firstWindow = k
            for (i, s) in count.enumerated() {
                guard k < model.count else { Issue.record("more windows than the model has"); return }
                let w = model[k]; k += 1
                if i == count.count - 1 {
                    if exactCap { #expect(s.t == Swift.min(w.end, w.lastT)) } else { #expect(s.t >= w.lastT && s.t <= w.end) }
                } else {
                    #expect(s.t == w.end)
                }
                #expect(s.v == Double(w.count), "count at \(s.t)")
                #expect(sum[i].v == w.sum, "sum at \(s.t)")
                #expect(min[i].v == w.min, "min at \(s.t)")
                #expect(max[i].v == w.max, "max at \(s.t)")
                expectedCounterTimes.insert(s.t)
            }
            // Counter: first raw sample, one per window, then the last raw value again.
            #expect(cnt.count == count.count + 2)
            guard let first = cnt.first, let last = cnt.last else { continue }
            #expect(first.t == model[firstWindow].firstT && first.v == model[firstWindow].firstV)
            #expect(last.t == count.last!.t && last.v == counter.at(last.t).raw)
            expectedCounterTimes.insert(first.t)
        }
        #expect(k == model.count, "windows: \(k) of \(model.count)")

        let applied = try AggrChunk.counterSamples(chunks.map(\.bytes))
        #expect(Set(applied.map(\.t)) == expectedCounterTimes)
        for (a, b) in zip(applied, applied.dropFirst()) { #expect(a.t < b.t && a.v <= b.v) }
        for s in applied { #expect(s.v == counter.at(s.t).counter, "counter at \(s.t)") }
    }

    /// A minute-scrape counter with small integer steps (sums stay exact), NaNs, a stale
    /// marker, and resets at `resetsAt` (indices).
    static func rawCounter(start: Int64, n: Int, step: Int64 = 60_000, resetsAt: Set<Int> = [], seed: UInt64 = 1) -> [Sample] {
        var rng = SplitMix(seed: seed)
        var v = 100.0
        var out: [Sample] = []
        for i in 0 ..< n {
            v = resetsAt.contains(i) ? Double(rng.next() % 5) : v + Double(rng.next() % 7)
            let t = start + Int64(i) * step + Int64(rng.next() % 3) * 1000
            let value: Double = i % 97 == 50 ? normalNaN : (i == n / 3 ? StaleNaN.value : v)
            out.append(Sample(t: t, v: value))
        }
        return out
    }

    // MARK: AggrChunk bytes

    @Test func byteLayoutOfSmallChunk() throws {
        // As Prometheus' bstream, a byte-aligned stream still ends in a fresh 0 byte.
        let count = Self.xor([Sample(t: 1000, v: 1)])
        #expect(count == [0x00, 0x01, 0xD0, 0x0F, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0])
        let min = Self.xor([Sample(t: 1000, v: 1), Sample(t: 2000, v: 1)])
        #expect(min == [0x00, 0x02, 0xD0, 0x0F, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xE8, 0x07, 0x00])
        let bytes = AggrChunk.encode([count, nil, min, nil, nil])
        let expected: [UInt8] = [13, 0x01] + count + [0] + [15, 0x01] + min + [0, 0]
        #expect(bytes == expected)

        #expect(try AggrChunk.subChunk(bytes, .count) == count)
        #expect(try AggrChunk.subChunk(bytes, .sum) == nil)
        #expect(try AggrChunk.subChunk(bytes, .min) == min)
        #expect(try AggrChunk.subChunk(bytes, .max) == nil)
        #expect(try AggrChunk.subChunk(bytes, .counter) == nil)
        #expect(try AggrChunk.samples(bytes, .min) == [Sample(t: 1000, v: 1), Sample(t: 2000, v: 1)])
        #expect(try AggrChunk.samples(bytes, .sum).isEmpty)
        #expect(AggrChunk.sampleCount(bytes) == 1)
        #expect(AggrChunk.encode([nil, nil, nil, nil, nil]) == [0, 0, 0, 0, 0])
    }

    @Test func longSubChunksTakeTwoByteLengths() throws {
        var rng = SplitMix(seed: 3)
        let subs: [[Sample]] = (0 ..< 5).map { a in
            (0 ..< 40 + a * 10).map { Sample(t: 1_700_000_000_000 + Int64($0) * 300_000, v: Double(rng.next() % 100_000) / 7) }
        }
        let xors = subs.map { Self.xor($0) }
        let bytes = AggrChunk.encode(xors)
        var expected: [UInt8] = []
        for x in xors {
            #expect(x.count >= 128)
            expected += [UInt8(x.count & 0x7f) | 0x80, UInt8(x.count >> 7), XORChunk.encoding] + x
        }
        #expect(bytes == expected)
        for a in AggrChunk.Aggr.allCases {
            #expect(try AggrChunk.subChunk(bytes, a) == xors[a.rawValue])
            let back = try AggrChunk.samples(bytes, a)
            #expect(back.count == subs[a.rawValue].count)
            for (x, y) in zip(back, subs[a.rawValue]) { #expect(x.isIdentical(to: y)) }
        }
        #expect(AggrChunk.sampleCount(bytes) == 40)
    }

    // MARK: bad input

    @Test func truncatedChunksAreCorruptNotCrashes() throws {
        let raw = Self.rawCounter(start: 1_700_000_000_000, n: 200)
        let chunk = Downsampler.aggregateRaw(raw, resolution: Downsampler.resLevel1)[0].bytes
        for n in 0 ..< chunk.count {
            let prefix = Array(chunk[..<n])
            for a in AggrChunk.Aggr.allCases {
                do { _ = try AggrChunk.samples(prefix, a) } catch let e as StorageError {
                    #expect(e.kind == .corrupt, "\(a) at \(n): \(e)")
                } catch { Issue.record("\(a) at \(n): \(error)") }
            }
            _ = AggrChunk.sampleCount(prefix)
        }
        // Cut inside the counter sub-chunk: the earlier aggregates still read, the counter does not.
        let cut = Array(chunk.dropLast(3))
        #expect(try AggrChunk.samples(cut, .max).count > 0)
        #expect(throws: StorageError.self) { try AggrChunk.samples(cut, .counter) }
        // A length that runs past the end.
        let overrun: [UInt8] = [0x05, 0x01, 0x00, 0x00]
        let e = try #require(throws: StorageError.self) { try AggrChunk.samples(overrun, .count) }
        #expect(e.kind == .corrupt)
        // A sample count larger than the data.
        var lying = Self.xor([Sample(t: 1, v: 1), Sample(t: 2, v: 2)])
        lying[1] = 9
        let e2 = try #require(throws: StorageError.self) { try AggrChunk.samples(AggrChunk.encode([lying, nil, nil, nil, nil]), .count) }
        #expect(e2.kind == .corrupt)
    }

    @Test func wrongSubEncodingIsCorrupt() throws {
        let x = Self.xor([Sample(t: 1000, v: 1)])
        var bytes = AggrChunk.encode([x, x, nil, nil, nil])
        bytes[1 + x.count + 1 + 1] = 7 // the sum's encoding byte
        #expect(try AggrChunk.samples(bytes, .count).count == 1)
        let e = try #require(throws: StorageError.self) { try AggrChunk.samples(bytes, .sum) }
        #expect(e.kind == .corrupt)
        bytes[1 + x.count + 1 + 1] = 0xff
        #expect((try? AggrChunk.subChunk(bytes, .sum)) == nil)
        // Native-histogram aggregates are Thanos' own, but not readable here.
        bytes[1 + x.count + 1 + 1] = 3
        let h = try #require(throws: StorageError.self) { try AggrChunk.subChunk(bytes, .sum) }
        #expect(h.kind == .unsupported)
    }

    // MARK: counter resets across chunks

    @Test func applyCounterResetsAsThanos() throws {
        // Thanos' TestApplyCounterResetsIterator "series with stale marker".
        let chunks: [[Sample]] = [
            [.init(t: 100, v: 10), .init(t: 200, v: 20), .init(t: 300, v: 10), .init(t: 400, v: 20), .init(t: 400, v: 5)],
            [.init(t: 500, v: 10), .init(t: 600, v: 20), .init(t: 700, v: 30), .init(t: 800, v: 40), .init(t: 800, v: 10)],
            [.init(t: 900, v: 5), .init(t: 1000, v: 10), .init(t: 1100, v: 15)],
            [.init(t: 1200, v: 20), .init(t: 1250, v: StaleNaN.value), .init(t: 1300, v: 40)],
            [.init(t: 1400, v: 30), .init(t: 1500, v: 30), .init(t: 1600, v: 50)],
        ]
        let aggr = chunks.map { AggrChunk.encode([nil, nil, nil, nil, Self.xor($0)]) }
        let got = try AggrChunk.counterSamples(aggr)
        let want: [(Int64, Double)] = [(100, 10), (200, 20), (300, 30), (400, 40), (500, 45), (600, 55), (700, 65), (800, 75),
                                       (900, 80), (1000, 85), (1100, 90), (1200, 95), (1300, 115), (1400, 145), (1500, 145), (1600, 165)]
        #expect(got == want.map { Sample(t: $0.0, v: $0.1) })
        // Overlapping (repeated) chunks never go back in time.
        #expect(try AggrChunk.counterSamples([aggr[0], aggr[0], aggr[1], aggr[1]]) == Array(got.prefix(8)))
    }

    @Test func counterBoundaryResetAsThanos() throws {
        // Thanos' TestDownsampleCounterBoundaryReset: resets right at chunk boundaries survive
        // only if each chunk keeps its first and last raw values.
        let raw: [Sample] = [(10, 1), (20, 3), (30, 5), (50, 1), (60, 8), (70, 10), (120, 1), (130, 18), (140, 20),
                             (160, 21), (170, 38), (180, 40)].map { Sample(t: $0.0, v: $0.1) }
        var chunks: [EncodedChunk] = []
        Downsampler.rawLoop(raw, resolution: 50, numChunks: raw.count + 1, into: &chunks)
        #expect(chunks.count == 4)
        let s = { (t: Int64, v: Double) in Sample(t: t, v: v) }
        #expect(try chunks.flatMap { try AggrChunk.samples($0.bytes, .counter) } ==
            [s(10, 1), s(30, 5), s(30, 5), s(50, 1), s(70, 10), s(70, 10), s(120, 1), s(140, 20), s(140, 20), s(160, 21), s(180, 40), s(180, 40)])
        #expect(try AggrChunk.counterSamples(chunks.map(\.bytes)) ==
            [s(10, 1), s(30, 5), s(50, 6), s(70, 15), s(120, 16), s(140, 35), s(160, 36), s(180, 55)])
        // What queries read: the same resets, without the raw points that open the chunks.
        #expect(try AggrChunk.counterSamples(chunks.map(\.bytes), chunkStarts: false) ==
            [s(30, 5), s(70, 15), s(140, 35), s(180, 55)])

        let coarse = try Downsampler.aggrLoop(chunks, resolution: 100, numChunks: 2)
        #expect(coarse.count == 2)
        #expect(try coarse.flatMap { try AggrChunk.samples($0.bytes, .counter) } ==
            [s(10, 1), s(70, 15), s(70, 10), s(120, 1), s(180, 40), s(180, 40)])
        #expect(try AggrChunk.counterSamples(coarse.map(\.bytes)) == [s(10, 1), s(70, 15), s(120, 16), s(180, 55)])
        #expect(try coarse.flatMap { try AggrChunk.samples($0.bytes, .count) } == [s(70, 6), s(180, 6)])
    }

    // MARK: raw → aggregates

    @Test func targetChunkCountAsThanos() {
        // 3 days of minute samples at 5m: 864 windows → 7 chunks of ≤ 140.
        #expect(Downsampler.targetChunkCount(mint: 0, maxt: 3 * 86_400_000, inRes: 60_000, outRes: 300_000, count: 3 * 1440) == 7)
        #expect(Downsampler.targetChunkCount(mint: 0, maxt: 140 * 300_000, inRes: 60_000, outRes: 300_000, count: 700) == 2)
        #expect(Downsampler.targetChunkCount(mint: 0, maxt: 139 * 300_000, inRes: 60_000, outRes: 300_000, count: 700) == 1)
        // Half-empty ranges count as half the windows; degenerate ranges do not trap.
        #expect(Downsampler.targetChunkCount(mint: 0, maxt: 6 * 86_400_000, inRes: 60_000, outRes: 300_000, count: 3 * 1440) == 7)
        #expect(Downsampler.targetChunkCount(mint: 5, maxt: 5, inRes: 60_000, outRes: 300_000, count: 1) == 1)
        #expect(Downsampler.targetChunkCount(mint: 5, maxt: 5, inRes: 60_000, outRes: 300_000, count: 0) == 1)
    }

    @Test func aggregateRawMatchesPlainLoop() throws {
        let start: Int64 = 1_700_000_012_345
        let n = 2 * 1440 + 77
        // First with no resets, to learn where the chunks are cut (values do not move the cuts).
        let plain = Downsampler.aggregateRaw(Self.rawCounter(start: start, n: n), resolution: Downsampler.resLevel1)
        #expect(plain.count >= 4)
        let secondChunkStart = try AggrChunk.samples(plain[1].bytes, .counter)[0].t
        let boundary = Self.rawCounter(start: start, n: n).firstIndex { $0.t == secondChunkStart }!
        // Resets in the middle of a window, at the first sample of the second chunk, and late.
        let raw = Self.rawCounter(start: start, n: n, resetsAt: [500, boundary, n - 40])
        #expect(raw[boundary].v < raw[..<boundary].last { !$0.v.isNaN }!.v)
        let chunks = Downsampler.aggregateRaw(raw, resolution: Downsampler.resLevel1)
        #expect(chunks.count == plain.count)
        try Self.check(chunks, raw: raw, r: Downsampler.resLevel1, exactCap: true)
    }

    @Test func aggregateRawEdgeCases() throws {
        #expect(Downsampler.aggregateRaw([], resolution: 300_000).isEmpty)
        #expect(Downsampler.aggregateRaw([Sample(t: 1000, v: .nan), Sample(t: 2000, v: StaleNaN.value)], resolution: 300_000).isEmpty)
        let one = Downsampler.aggregateRaw([Sample(t: 1000, v: 4)], resolution: 300_000)
        #expect(one.count == 1 && one[0].minTime == 1000 && one[0].maxTime == 1000)
        #expect(try AggrChunk.samples(one[0].bytes, .counter) == [Sample(t: 1000, v: 4), Sample(t: 1000, v: 4), Sample(t: 1000, v: 4)])
        // A sample exactly at a window's last millisecond stays in that window.
        let edge = [Sample(t: 299_999, v: 1), Sample(t: 300_000, v: 2), Sample(t: 400_000, v: 3)]
        try Self.check(Downsampler.aggregateRaw(edge, resolution: 300_000), raw: edge, r: 300_000, exactCap: true)
        #expect(try AggrChunk.samples(Downsampler.aggregateRaw(edge, resolution: 300_000)[0].bytes, .count).map(\.t) == [299_999, 400_000])
    }

    // MARK: blocks

    static let series: [(Labels, UInt64)] = [
        (Labels([("__name__", "requests_total"), ("job", "api")]), 11),
        (Labels([("__name__", "requests_total"), ("job", "db")]), 12),
        (Labels([("__name__", "up"), ("job", "api")]), 13),
    ]

    /// A raw level-2 block with a thanos section: three days of minute samples per series.
    static func writeRawBlock(_ dir: String, start: Int64, n: Int) throws -> (Block, [Labels: [Sample]]) {
        var raw: [Labels: [Sample]] = [:]
        for (labels, seed) in series { raw[labels] = rawCounter(start: start, n: n, resetsAt: [n / 2, n / 2 + 300], seed: seed) }
        return (try writeRawBlock(dir, raw, mint: start, maxt: start + Int64(n) * 60_000), raw)
    }

    /// A raw level-2 block of `raw`'s samples in `[mint, maxt)`, with a thanos section.
    static func writeRawBlock(_ dir: String, _ raw: [Labels: [Sample]], mint: Int64, maxt: Int64) throws -> Block {
        var compaction = BlockMeta.Compaction()
        compaction.level = 2
        compaction.sources = ["01HZZZZZZZZZZZZZZZZZZZZZZA", "01HZZZZZZZZZZZZZZZZZZZZZZB"]
        compaction.parents = [BlockMeta.Parent(ulid: "01HZZZZZZZZZZZZZZZZZZZZZZA", minTime: mint, maxTime: mint + 1)]
        var meta = try BlockWriter.write(parentDir: dir, mint: mint, maxt: maxt,
                                         series: raw.map { BlockSeriesInput(labels: $0.key, chunks: XORChunk.encodeChunks($0.value.filter { $0.t >= mint && $0.t < maxt })) },
                                         compaction: compaction)
        let thanos = ThanosMeta(labels: ["cluster": "eu-1", "replica": "a"], source: "sidecar")
        meta.extraFields = [BlockMeta.ExtraField(key: "thanos", json: thanos.json())]
        try meta.write(dir: dir + "/" + meta.ulid)
        return try Block(dir: dir + "/" + meta.ulid)
    }


    @Test func downsampleBlockTo5mAnd1h() throws {
        let tmp = try TempDir("downsample")
        defer { tmp.remove() }
        let start: Int64 = 1_700_000_012_345, n = 3 * 1440
        let (input, raw) = try Self.writeRawBlock(tmp.path, start: start, n: n)

        let m5 = try Downsampler.downsample(input, resolution: Downsampler.resLevel1, into: tmp.path)
        let b5 = try Block(dir: tmp.path + "/" + m5.ulid)
        #expect(b5.meta == m5)
        #expect(m5.ulid != input.ulid)
        #expect(m5.minTime == input.minTime && m5.maxTime == input.maxTime)
        #expect(m5.compaction == input.meta.compaction)
        let t5 = try #require(ThanosMeta.from(m5))
        #expect(t5.resolution == Downsampler.resLevel1 && t5.source == "compactor")
        #expect(t5.labels == ["cluster": "eu-1", "replica": "a"])
        #expect(t5.segmentFiles == ["000001"])

        let aggr5 = try b5.encodedChunksBySeries()
        #expect(aggr5.count == Self.series.count)
        var chunks = 0, windows = 0
        for (labels, r) in raw {
            let c = try #require(aggr5[labels])
            try Self.check(c, raw: r, r: Downsampler.resLevel1, exactCap: true)
            chunks += c.count
            windows += c.reduce(0) { $0 + AggrChunk.sampleCount($1.bytes) }
        }
        #expect(m5.stats.numSeries == UInt64(Self.series.count))
        #expect(m5.stats.numChunks == UInt64(chunks))
        #expect(m5.stats.numSamples == UInt64(windows))

        let m1h = try Downsampler.downsample(b5, resolution: Downsampler.resLevel2, into: tmp.path)
        let b1h = try Block(dir: tmp.path + "/" + m1h.ulid)
        #expect(m1h.compaction == input.meta.compaction)
        #expect(ThanosMeta.from(m1h)?.resolution == Downsampler.resLevel2)
        #expect(ThanosMeta.from(m1h)?.labels == ["cluster": "eu-1", "replica": "a"])
        let aggr1h = try b1h.encodedChunksBySeries()
        for (labels, r) in raw {
            // The same values as aggregating the raw samples at 1h directly.
            try Self.check(try #require(aggr1h[labels]), raw: r, r: Downsampler.resLevel2, exactCap: false)
        }
        #expect(m1h.stats.numSamples == UInt64(aggr1h.values.joined().reduce(0) { $0 + AggrChunk.sampleCount($1.bytes) }))

        // Nothing is coarser than the input resolution backwards.
        let e = try #require(throws: StorageError.self) { try Downsampler.downsample(b1h, resolution: Downsampler.resLevel1, into: tmp.path) }
        #expect(e.kind == .invalid)
    }

    @Test func downsampledBlocksMergeChunkByChunkWhenApart() throws {
        let tmp = try TempDir("downsample-merge")
        defer { tmp.remove() }
        let day: Int64 = 86_400_000
        let (a, _) = try Self.writeRawBlock(tmp.path, start: 0, n: 2 * 1440)
        let (b, _) = try Self.writeRawBlock(tmp.path, start: 2 * day, n: 2 * 1440)
        let a5 = try Block(dir: tmp.path + "/" + Downsampler.downsample(a, resolution: Downsampler.resLevel1, into: tmp.path).ulid)
        let b5 = try Block(dir: tmp.path + "/" + Downsampler.downsample(b, resolution: Downsampler.resLevel1, into: tmp.path).ulid)
        var thanos = ThanosMeta(labels: ["cluster": "eu-1"], source: "compactor")
        thanos.resolution = Downsampler.resLevel1
        let merged = try BlockCompactor.compact([b5, a5], into: tmp.path, thanos: thanos)
        #expect(ThanosMeta.from(merged)?.resolution == Downsampler.resLevel1)
        #expect(merged.stats.numSamples == a5.meta.stats.numSamples + b5.meta.stats.numSamples, "windows counted, not XOR samples")
        // Chunks copied as they are, in time order.
        let got = try Block(dir: tmp.path + "/" + merged.ulid).encodedChunksBySeries()
        let want = try a5.encodedChunksBySeries().merging(try b5.encodedChunksBySeries()) { $0 + $1 }
        #expect(got.mapValues { $0.map(\.bytes) } == want.mapValues { $0.map(\.bytes) })
    }

    /// Checks merged aggregate chunks against the model of the raw series they cover: every
    /// window once, in order, with its count, sum, min and max; chunks of at most 120 windows
    /// where merged; the counter, resets applied, rising exactly as the model's counter between
    /// any two of its points.
    static func checkMerged(_ chunks: [EncodedChunk], raw: [Sample], r: Int64) throws {
        let model = windows(raw, r)
        let counter = CounterModel(raw)
        var k = 0
        for c in chunks {
            let count = try AggrChunk.samples(c.bytes, .count), sum = try AggrChunk.samples(c.bytes, .sum)
            let min = try AggrChunk.samples(c.bytes, .min), max = try AggrChunk.samples(c.bytes, .max)
            try #require(sum.count == count.count && min.count == count.count && max.count == count.count)
            #expect(c.minTime == count.first?.t && c.maxTime == count.last?.t && count.count <= 150)
            for (i, s) in count.enumerated() {
                guard k < model.count else { Issue.record("more windows than the model has"); return }
                let w = model[k]; k += 1
                #expect(s.t >= w.lastT && s.t <= w.end, "window ending \(w.end) at \(s.t)")
                #expect(s.v == Double(w.count) && sum[i].v == w.sum && min[i].v == w.min && max[i].v == w.max, "window ending \(w.end)")
            }
        }
        #expect(k == model.count, "windows: \(k) of \(model.count)")
        for (a, b) in zip(chunks, chunks.dropFirst()) { #expect(a.maxTime < b.minTime) }
        let applied = try AggrChunk.counterSamples(chunks.map(\.bytes))
        let first = try #require(applied.first)
        #expect(first.v == counter.at(first.t).raw, "the counter opens at a raw value")
        for (a, b) in zip(applied, applied.dropFirst()) { #expect(a.t < b.t && a.v <= b.v) }
        for s in applied {
            #expect(s.v - first.v == counter.at(s.t).counter - counter.at(first.t).counter, "counter at \(s.t)")
        }
    }

    @Test func overlappingDownsampledBlocksMergeWindowByWindow() throws {
        let tmp = try TempDir("downsample-merge-overlap")
        defer { tmp.remove() }
        let hour: Int64 = 3_600_000, n = 4 * 1440
        var raw: [Labels: [Sample]] = [:]
        // Resets inside the overlap and on each side of it.
        for (labels, seed) in Self.series { raw[labels] = Self.rawCounter(start: 0, n: n, resetsAt: [1000, 2600, 3000, 5000], seed: seed) }
        // Two writers of one stream: one holds the first 60h (less two hours it missed), the
        // other 36h on; a third block the same 60h as the first (a range downsampled twice).
        let hole = (40 * hour + 2 * 60_000) ..< (42 * hour + 7 * 60_000)
        let a = try Self.writeRawBlock(tmp.path, raw.mapValues { $0.filter { !hole.contains($0.t) } }, mint: 0, maxt: 60 * hour)
        let b = try Self.writeRawBlock(tmp.path, raw, mint: 36 * hour, maxt: 96 * hour)
        func five(_ block: Block) throws -> Block {
            try Block(dir: tmp.path + "/" + Downsampler.downsample(block, resolution: Downsampler.resLevel1, into: tmp.path).ulid)
        }
        let a5 = try five(a), b5 = try five(b), again = try five(a)
        var thanos = ThanosMeta(labels: ["cluster": "eu-1"], source: "compactor")
        thanos.resolution = Downsampler.resLevel1

        let merged = try Block(dir: tmp.path + "/" + BlockCompactor.compact([b5, a5], into: tmp.path, thanos: thanos).ulid)
        #expect(merged.meta.minTime == 0 && merged.meta.maxTime == 96 * hour)
        let got = try merged.encodedChunksBySeries()
        #expect(Set(got.keys) == Set(raw.keys))
        for (labels, samples) in raw {
            try Self.checkMerged(try #require(got[labels]), raw: samples, r: Downsampler.resLevel1)
        }
        #expect(merged.meta.stats.numSamples == UInt64(got.values.joined().reduce(0) { $0 + AggrChunk.sampleCount($1.bytes) }))

        // A range downsampled twice merges into the same windows and counter as one copy.
        let once = try a5.encodedChunksBySeries()
        let twice = try Block(dir: tmp.path + "/" + BlockCompactor.compact([a5, again], into: tmp.path, thanos: thanos).ulid).encodedChunksBySeries()
        for (labels, samples) in raw {
            let chunks = try #require(twice[labels])
            try Self.checkMerged(chunks, raw: samples.filter { $0.t < 60 * hour && !hole.contains($0.t) }, r: Downsampler.resLevel1)
            let single = try AggrChunk.counterSamples(try #require(once[labels]).map(\.bytes))
            let value = Dictionary(single.map { ($0.t, $0.v) }) { x, _ in x }
            for s in try AggrChunk.counterSamples(chunks.map(\.bytes)) { #expect(value[s.t] == s.v, "counter at \(s.t)") }
            // Nothing that follows the merged run mistakes its end for a reset.
            let lastChunk = try #require(chunks.last)
            let last = try #require(try AggrChunk.samples(lastChunk.bytes, .counter).last)
            #expect(last.v == CounterModel(samples).at(last.t).raw, "the run ends with the true last raw value")
        }

        // Thanos' 1h downsampling of the merged block agrees with the raw series too.
        let oneHour = try Block(dir: tmp.path + "/" + Downsampler.downsample(merged, resolution: Downsampler.resLevel2, into: tmp.path).ulid)
        for (labels, samples) in try oneHour.encodedChunksBySeries() {
            let model = Self.windows(try #require(raw[labels]), Downsampler.resLevel2)
            let counts = try samples.flatMap { try AggrChunk.samples($0.bytes, .count) }
            #expect(counts.map(\.v) == model.map { Double($0.count) })
        }
    }

    @Test func aDownsampledSeriesStreamsAsXORChunksOfTheSelectedAggregate() throws {
        let tmp = try TempDir("downsample-chunks")
        defer { tmp.remove() }
        let (raw, _) = try Self.writeRawBlock(tmp.path, start: 0, n: 2 * 1440)
        let b5 = try Block(dir: tmp.path + "/" + Downsampler.downsample(raw, resolution: Downsampler.resLevel1, into: tmp.path).ulid)
        for function in ["max_over_time", "rate", ""] {
            let series = try b5.querier(mint: .min, maxt: .max).select([try LabelMatcher(.regexMatch, "__name__", ".+")],
                                                                        hints: SelectHints(mint: .min, maxt: .max, function: function))
            #expect(!series.isEmpty)
            for s in series {
                var want: [Sample] = []
                try s.samples(mint: .min, maxt: .max, into: &want)
                let chunks = try #require(s as? any ChunkedStorageSeries).chunks(mint: .min, maxt: .max)
                #expect(chunks.allSatisfy { $0.encoding == XORChunk.encoding }, "remote read clients cannot decode 0xff")
                #expect(try chunks.flatMap { try XORDecoder.samples($0.bytes) } == want, "\(function)")
            }
        }
    }

    @Test func tombstonedSamplesAreLeftOut() throws {
        let tmp = try TempDir("downsample-tomb")
        defer { tmp.remove() }
        let start: Int64 = 1_700_000_012_345, n = 2 * 1440
        let (written, raw) = try Self.writeRawBlock(tmp.path, start: start, n: n)
        let refs = try written.index.allPostings()
        let deleted = Tombstones.Interval(mint: start + 600 * 60_000, maxt: start + 900 * 60_000)
        try Tombstones.write(dir: written.dir, [(ref: refs[0], deleted)])
        let input = try Block(dir: written.dir)

        let meta = try Downsampler.downsample(input, resolution: Downsampler.resLevel1, into: tmp.path)
        let aggr = try Block(dir: tmp.path + "/" + meta.ulid).encodedChunksBySeries()
        var metas: [ChunkMeta] = []
        let first = try input.index.series(refs[0], chunks: &metas)
        for (labels, r) in raw {
            let kept = labels == first ? r.filter { $0.t < deleted.mint || $0.t > deleted.maxt } : r
            try Self.check(try #require(aggr[labels]), raw: kept, r: Downsampler.resLevel1, exactCap: true)
        }

        // A tombstone on the 5m block drops those windows when going to 1h.
        let b5 = try Block(dir: tmp.path + "/" + meta.ulid)
        let refs5 = try b5.index.allPostings()
        try Tombstones.write(dir: b5.dir, [(ref: refs5[1], Tombstones.Interval(mint: 0, maxt: start + 1440 * 60_000))])
        let m1h = try Downsampler.downsample(try Block(dir: b5.dir), resolution: Downsampler.resLevel2, into: tmp.path)
        let aggr1h = try Block(dir: tmp.path + "/" + m1h.ulid).encodedChunksBySeries()
        let second = try b5.index.series(refs5[1], chunks: &metas)
        let counts = try #require(aggr1h[second]).flatMap { try AggrChunk.samples($0.bytes, .count) }
        #expect(counts.allSatisfy { $0.t > start + 1440 * 60_000 })
        let kept5m = try #require(aggr[second]).flatMap { try AggrChunk.samples($0.bytes, .count) }.filter { $0.t > start + 1440 * 60_000 }
        #expect(counts.reduce(0) { $0 + $1.v } == kept5m.reduce(0) { $0 + $1.v })
    }

    @Test func corruptAggregateChunkInBlockIsCorrupt() throws {
        let tmp = try TempDir("downsample-bad")
        defer { tmp.remove() }
        var thanos = ThanosMeta(labels: ["cluster": "x"], source: "compactor")
        thanos.resolution = Downsampler.resLevel1
        let good = Downsampler.aggregateRaw(Self.rawCounter(start: 1_700_000_000_000, n: 300), resolution: Downsampler.resLevel1)
        var bad = good[0]
        bad.bytes = Array(bad.bytes.prefix(bad.bytes.count / 2))
        let meta = try BlockWriter.write(parentDir: tmp.path, mint: 1_700_000_000_000, maxt: 1_700_000_000_000 + 300 * 60_000,
                                         symbols: [Array("__name__".utf8), Array("x".utf8)], thanos: thanos) { add in
            try add(Labels([("__name__", "x")]), [bad])
        }
        #expect(meta.stats.numSamples == UInt64(AggrChunk.sampleCount(bad.bytes)))
        let e = try #require(throws: StorageError.self) {
            try Downsampler.downsample(try Block(dir: tmp.path + "/" + meta.ulid), resolution: Downsampler.resLevel2, into: tmp.path)
        }
        #expect(e.kind == .corrupt)
        // Nothing is left behind by the failed write.
        #expect(try FileSystem.list(tmp.path) == [meta.ulid])
    }
}
