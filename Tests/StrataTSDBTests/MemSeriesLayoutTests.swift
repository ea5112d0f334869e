import CStrataSupport
import StrataBlock
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataTSDB

/// The head keeps a record per series; at a million series each 16 bytes is 16 MiB, so the
/// layout the comments in MemSeries and XORAppender promise is checked here.
@Suite struct MemSeriesLayoutTests {
    @Test func appenderStateIs29BytesAndTheSeriesRecordA144ByteAllocation() {
        #expect(MemoryLayout<XORAppender>.size == 29)
        let s = MemSeries(ref: 1, hash: 2, labels: Labels([("__name__", "m")]))
        // glibc's usable size of the allocation: 136 bytes of a 144-byte chunk (was 168 of 176).
        let usable = strata_allocation_size(Unmanaged.passUnretained(s).toOpaque())
        #expect(usable > 0 && usable <= 136, "MemSeries allocation has \(usable) usable bytes")
        withExtendedLifetime(s) {}
    }

    /// The open chunk grows by half, not by doubling: past its first 128 bytes it never has
    /// more spare room than half its bytes or a sample's worth (plus malloc's rounding),
    /// and its bytes are the chunk Prometheus' encoding gives.
    @Test func theOpenChunkGrowsByHalfAndKeepsItsBytes() throws {
        var rng = SplitMix(seed: 7)
        let samples = (0 ..< 120).map { i in Sample(t: Int64(i) * 15_000, v: Double(rng.next() >> 11)) }   // ~8 bytes each
        let s = MemSeries(ref: 1, hash: 2, labels: Labels([("__name__", "m")]))
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
