import StrataModel
import StrataStorage
import Testing
@testable import StrataTSDB

/// A selection nobody sorts gets its external labels put on when each series' labels are read
/// (`StorageSeries.overriding(lazily:)`), so a million relabeled sets never exist at once; the
/// series and samples are those of the sorted selection, which relabels at once.
@Suite struct ExternalLabelsOverHeadTests {
    @Test func unsortedSelectionsGetTheSameLabelsWhenTheyAreRead() throws {
        let head = Head()
        for i in 0 ..< 50 {
            // Every fifth series has a stored `t`, which the external one overrides.
            var pairs = [("__name__", "m"), ("i", String(i))]
            if i % 5 == 0 { pairs.append(("t", "stored")) }
            _ = append(head, Labels(pairs), [(1000, Double(i)), (2000, Double(i) + 1)])
        }
        // Two layers, as a tenant's querier under a block's: the inner label is overridden lazily,
        // the outer one on top of it.
        let inner = ExternalLabelsQuerier(try head.querier(mint: 0, maxt: 10_000), labels: Labels([("t", "x")]))
        let outer = ExternalLabelsQuerier(inner, labels: Labels([("u", "y")]))
        let name = try LabelMatcher(.equal, "__name__", "m")
        for q in [inner as any Querier, outer] {
            func selected(sorted: Bool) throws -> [String] {
                var hints = SelectHints(mint: 0, maxt: 10_000)
                hints.sortSeries = sorted
                return try q.select([name], hints: hints).map { s in
                    var samples: [Sample] = []
                    try s.samples(mint: 0, maxt: 10_000, into: &samples)
                    #expect(s is any ChunkedStorageSeries, "remote read still streams the stored chunks")
                    return "\(s.labels) \(samples.map(\.v))"
                }
            }
            let sorted = try selected(sorted: true), unsorted = try selected(sorted: false)
            #expect(sorted.count == 50 && sorted.allSatisfy { $0.contains(#"t="x""#) && !$0.contains("stored") })
            #expect(unsorted.sorted() == sorted.sorted())
        }
        #expect(try outer.select([name], hints: SelectHints(mint: 0, maxt: 10_000)).allSatisfy { $0.labels.get("u") == "y" })
        // Three words: a head series with its pending labels is still stored inline in `any StorageSeries`.
        #expect(MemoryLayout<HeadSeries>.size == 3 * MemoryLayout<Int>.size)
    }
}
