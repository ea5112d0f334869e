import CStrataSupport
import StrataBlock
import StrataEncoding
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataTSDB

/// The head keeps a record per series; at a million series each 16 bytes is 16 MiB, so the
/// layout the comments in MemSeries and XORAppender promise is checked here.
@Suite struct MemSeriesLayoutTests {
    @Test func appenderStateIs29BytesAndTheLabelsFollowAn84ByteRecord() {
        #expect(MemoryLayout<XORAppender>.size == 29)
        #expect(MemoryLayout<MemSeries.State>.size == 84)
        // A typical set (rwload.py's, 75 bytes): record and labels in one 192-byte chunk of
        // glibc's, where the record alone took 112 and an array of the labels 128.
        let labels = Labels([("__name__", "cpu_usage"), ("host", "host-123"), ("instance", "10.0.0.1:9100"),
                             ("job", "node"), ("mode", "user")])
        #expect(labels.bytes.count == 75)
        let s = MemSeries.make(ref: 1, hash: 2, labels: labels)
        let usable = strata_allocation_size(Unmanaged.passUnretained(s).toOpaque())
        #expect(usable >= 16 + 84 + 75 && usable <= 184, "MemSeries allocation has \(usable) usable bytes")
        withExtendedLifetime(s) {}
    }

    /// A selected head series holds its record (or relabeled labels), its chunks and the
    /// external labels: three words, inside an existential's inline buffer.
    @Test func aSelectedSeriesIsThreeWords() {
        #expect(MemoryLayout<HeadSeries.Source>.size == 8)
        #expect(MemoryLayout<HeadChunks>.size == 8)
        #expect(MemoryLayout<HeadSeries>.size == 24)
    }

    /// The label bytes after the record read back as they were given, for sets of every small
    /// size and an empty one, and survive the record's changes.
    @Test func labelBytesAfterTheRecordReadBackUnchanged() {
        var sets = [Labels.empty]
        for n in 1 ..< 40 { sets.append(Labels([("__name__", String(repeating: "m", count: n)), ("v", String(n * 7919))])) }
        let series = sets.enumerated().map { MemSeries.make(ref: SeriesRef($0.offset), hash: 9, labels: $0.element) }
        for (s, l) in zip(series, sets) {
            s.append(t: 1, v: 2, chunkRange: 7_200_000, samplesPerChunk: 120)
            s.nextAt = 5
            s.stagedT = 3
            #expect(s.labels == l)
            #expect(s.withLabelBytes { Array($0) } == l.bytes)
        }
    }

    /// What the record no longer stores is derived: the flags share a byte, the stripe comes
    /// from the hash it was created with (the hash itself from the labels, `Head.labelHash`),
    /// the open chunk's first time from its bytes.
    @Test func derivedFieldsReadWhatTheyReplaced() {
        let labels = Labels([("__name__", "m"), ("job", "j")])
        let hash = labels.bytes.withUnsafeBytes { XXH64.hash($0) }
        let s = MemSeries.make(ref: 1, hash: hash, labels: labels, stripeMask: 4095)
        #expect(Int(s.stripe) == Int(truncatingIfNeeded: hash) & 4095)
        #expect(!s.removed && !s.emptyAtTruncation)
        s.emptyAtTruncation = true
        #expect(!s.removed && s.emptyAtTruncation)
        s.removed = true
        s.emptyAtTruncation = false
        #expect(s.removed && !s.emptyAtTruncation)
        #expect(s.headMint == .min)
        for t: Int64 in [-5_000, 1_000_000_000_000, .max - 1] {   // negative and large first times
            s.dropHeadChunk()
            s.append(t: t, v: 1, chunkRange: 7_200_000, samplesPerChunk: 120)
            #expect(s.headMint == t)
        }
        s.dropHeadChunk()
        #expect(s.headMint == .min)
    }

    /// The newest sample lives in the appender, so it must outlive the chunk cuts and drops that
    /// empty the appender's chunk state.
    @Test func chunkCutsKeepTheNewestSampleAndTrimTheClosedChunk() {
        let s = MemSeries.make(ref: 1, hash: 2, labels: Labels([("__name__", "m")]))
        #expect(s.lastT == .min)
        for i in 0 ..< 300 {
            s.append(t: Int64(i) * 1000, v: Double(i) + 0.5, chunkRange: 100_000, samplesPerChunk: 120)
            #expect(s.lastT == Int64(i) * 1000 && s.lastValueBits == (Double(i) + 0.5).bitPattern)
        }
        #expect(s.closed.count == 2, "cut at the chunk range twice")
        for c in s.closed {   // 100 samples of ~2 bytes grew the open chunk past 128 bytes
            #expect(c.bytes.count > 128 && c.bytes.capacity - c.bytes.count < 16, "a closed chunk keeps no room to grow")
        }
        // Each chunk decodes on its own: a new one starts from its first sample, not the last.
        let decoded = (s.closed.map(\.bytes) + [s.headBytes]).flatMap { (try? XORDecoder.samples($0)) ?? [] }
        #expect(decoded.map(\.t) == (0 ..< 300).map { Int64($0) * 1000 })
        #expect(decoded.map(\.v) == (0 ..< 300).map { Double($0) + 0.5 })
        s.dropHeadChunk()
        #expect(s.lastT == 299_000 && s.lastValueBits == 299.5.bitPattern)
        s.append(t: 300_000, v: 1, chunkRange: 100_000, samplesPerChunk: 120)
        #expect(XORChunk.sampleCount(s.headBytes) == 1 && s.lastT == 300_000)
    }

    /// The open chunk grows by half, not by doubling: past its first 128 bytes it never has
    /// more spare room than half its bytes or a sample's worth (plus malloc's rounding),
    /// and its bytes are the chunk Prometheus' encoding gives.
    @Test func theOpenChunkGrowsByHalfAndKeepsItsBytes() throws {
        var rng = SplitMix(seed: 7)
        let samples = (0 ..< 120).map { i in Sample(t: Int64(i) * 15_000, v: Double(rng.next() >> 11)) }   // ~8 bytes each
        let s = MemSeries.make(ref: 1, hash: 2, labels: Labels([("__name__", "m")]))
        for x in samples {
            s.append(t: x.t, v: x.v, chunkRange: .max / 2, samplesPerChunk: 480)   // no cut before 120
            let count = s.headBytes.count, spare = s.headBytes.capacity - count
            if count > 128 {
                #expect(spare <= Swift.max(MemSeries.maxSampleBytes, count / 2) + 24, "\(spare) spare at \(count) bytes")
            }
        }
        #expect(s.headBytes.count > 600, "the chunk grew several times")
        #expect(s.headBytes == XORChunk.encodeChunks(samples)[0].bytes)
    }
}
