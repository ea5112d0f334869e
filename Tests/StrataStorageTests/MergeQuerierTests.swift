import StrataModel
import StrataStorage
import Synchronization
import Testing

/// Merging sorted series lists from several sources (head and blocks): label order kept, equal
/// label sets merged into one series whose duplicate timestamps keep the first source's sample,
/// and each series' labels read once (a head series copies its labels out on every read).
@Suite struct MergeQuerierTests {
    final class Reads: Sendable { let count = Atomic<Int>(0) }

    /// A series that counts how often its labels are read.
    struct CountingSeries: StorageSeries {
        let stored: Labels
        let points: [Sample]
        let reads: Reads

        var labels: Labels {
            reads.count.add(1, ordering: .relaxed)
            return stored
        }

        func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
            out += points.filter { $0.t >= mint && $0.t <= maxt }
        }
    }

    @Test func sortedListsMergeInLabelOrderReadingEachSeriesLabelsOnce() throws {
        let reads = Reads()
        func series(_ a: String, _ points: [(Int64, Double)]) -> any StorageSeries {
            CountingSeries(stored: Labels([("a", a)]), points: points.map { Sample(t: $0.0, v: $0.1) }, reads: reads)
        }
        let oldest = [series("1", [(1, 1)]), series("3", [(1, 10), (2, 20)]), series("5", [(1, 5)])]
        let middle = [series("2", [(1, 2)]), series("3", [(2, 99), (3, 30)])]
        let newest = [series("3", [(3, 99), (4, 40)]), series("6", [(1, 6)])]
        let merged = MergeQuerier.merge([oldest, [], middle, newest], encodeChunks: { _ in [] })
        let readsWhileMerging = reads.count.load(ordering: .relaxed)
        #expect(readsWhileMerging == 7, "each of the 7 input series' labels read once, got \(readsWhileMerging)")

        #expect(merged.map { $0.labels.get("a") } == ["1", "2", "3", "5", "6"])
        var three: [Sample] = []
        try merged[2].samples(mint: .min, maxt: .max, into: &three)
        // On a timestamp two sources share, the older source's sample wins.
        #expect(three == [Sample(t: 1, v: 10), Sample(t: 2, v: 20), Sample(t: 3, v: 30), Sample(t: 4, v: 40)])
        #expect(MergeQuerier.merge([[], []], encodeChunks: { _ in [] }).isEmpty)
    }
}
