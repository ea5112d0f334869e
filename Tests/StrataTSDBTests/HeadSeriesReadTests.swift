import StrataBlock
import StrataModel
import StrataStorage
import Testing
@testable import StrataTSDB

/// A selected head series holds its open chunk's bytes alone when no other chunk overlaps the
/// query (no list per series), and a list otherwise: both read the same samples, and hand remote
/// read the same chunks with their times.
@Suite struct HeadSeriesReadTests {
    @Test func theOpenChunkAloneAndAListReadAlike() throws {
        let head = Head()
        let short = Labels([("__name__", "m"), ("s", "short")]), long = Labels([("__name__", "m"), ("s", "long")])
        let shortSamples = (0 ..< 50).map { (Int64($0) * 15_000, Double($0)) }
        let longSamples = (0 ..< 300).map { (Int64($0) * 15_000, Double($0 * $0)) }   // 120-sample chunks: two closed, one open
        _ = append(head, short, shortSamples)
        _ = append(head, long, longSamples)

        func selected(mint: Int64, maxt: Int64) throws -> [Labels: HeadSeries] {
            let found = try head.querier(mint: mint, maxt: maxt).select([try LabelMatcher(.equal, "__name__", "m")],
                                                                        hints: SelectHints(mint: mint, maxt: maxt))
            return Dictionary(uniqueKeysWithValues: found.map { ($0.labels, $0 as! HeadSeries) })
        }
        func isOpen(_ s: HeadSeries?) -> Bool { if case .open = s?.chunks { return true } else { return false } }
        func read(_ s: HeadSeries, _ mint: Int64, _ maxt: Int64) throws -> (samples: [Int64], chunks: [Int64]) {
            var samples: [Sample] = [], fromChunks: [Sample] = []
            try s.samples(mint: mint, maxt: maxt, into: &samples)
            var times: [Int64] = []
            for c in try s.chunks(mint: mint, maxt: maxt) {
                let before = fromChunks.count
                try XORDecoder.samples(c.bytes, into: &fromChunks)
                #expect(c.minTime == fromChunks[before].t && c.maxTime == fromChunks.last!.t)
                times += [c.minTime, c.maxTime]
            }
            #expect(samples == fromChunks.filter { $0.t >= mint && $0.t <= maxt })
            return (samples.map(\.t), times)
        }

        let all = try selected(mint: .min, maxt: .max)
        #expect(isOpen(all[short]) && !isOpen(all[long]))
        #expect(try read(all[short]!, .min, .max) == (shortSamples.map(\.0), [0, 49 * 15_000]))
        let longRead = try read(all[long]!, .min, .max)
        #expect(longRead.samples == longSamples.map(\.0) && longRead.chunks.count == 6)

        // Only the open chunk of the long series overlaps the newest minute: its bytes alone.
        let newest = try selected(mint: 299 * 15_000 - 60_000, maxt: .max)
        #expect(isOpen(newest[long]) && newest[short] == nil)
        #expect(try read(newest[long]!, 299 * 15_000 - 60_000, .max).samples == (295 ..< 300).map { Int64($0) * 15_000 })
        // Asked outside its times, the open chunk gives nothing, as a list would.
        #expect(try all[short]!.chunks(mint: 50 * 15_000, maxt: .max).isEmpty)
        #expect(MemoryLayout<HeadChunks>.size == MemoryLayout<Int>.size)
    }
}
