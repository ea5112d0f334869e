import StrataModel
import StrataStorage
import StrataTestSupport
import Testing

@Suite struct MemoryStorageTests {
    private func samples(_ pairs: [(Int64, Double)]) -> [Sample] { pairs.map { Sample(t: $0.0, v: $0.1) } }

    private func select(_ storage: MemoryStorage, _ matchers: [LabelMatcher], mint: Int64 = .min, maxt: Int64 = .max) throws -> [(Labels, [Sample])] {
        let q = try storage.querier(mint: mint, maxt: maxt)
        return try q.select(matchers, hints: SelectHints(mint: mint, maxt: maxt)).map { s in
            var out: [Sample] = []
            try s.samples(mint: .min, maxt: .max, into: &out)
            return (s.labels, out)
        }
    }

    @Test func keepsSeriesSortedAndSamplesInTimeOrder() {
        let storage = MemoryStorage()
        storage.add(Labels([("__name__", "b")]), samples([(20, 2), (10, 1)]))
        storage.add(Labels([("__name__", "a"), ("x", "1")]), samples([(0, 0)]))
        storage.add(Labels([("__name__", "a")]), samples([(0, 0)]))
        storage.add(Labels([("__name__", "b")]), samples([(10, 5), (30, 3), (15, 1.5)]))
        let all = storage.allSeries
        #expect(all.map(\.labels) == [Labels([("__name__", "a")]), Labels([("__name__", "a"), ("x", "1")]), Labels([("__name__", "b")])])
        // The same timestamp replaces the old sample.
        #expect(all[2].samples == samples([(10, 5), (15, 1.5), (20, 2), (30, 3)]))
    }

    @Test func selectAppliesMatchersWithMissingLabelsAsEmpty() throws {
        let storage = MemoryStorage()
        storage.add(Labels([("__name__", "m"), ("job", "api")]), samples([(0, 1)]))
        storage.add(Labels([("__name__", "m"), ("job", "db")]), samples([(0, 2)]))
        storage.add(Labels([("__name__", "m")]), samples([(0, 3)]))
        let name = try LabelMatcher(.equal, "__name__", "m")

        let noJob = try select(storage, [name, LabelMatcher(.equal, "job", "")])
        #expect(noJob.map(\.0) == [Labels([("__name__", "m")])])

        let notApi = try select(storage, [name, LabelMatcher(.notEqual, "job", "api")])
        #expect(notApi.map(\.0) == [Labels([("__name__", "m")]), Labels([("__name__", "m"), ("job", "db")])])

        let regex = try select(storage, [name, LabelMatcher(.regexMatch, "job", "a.*|")])
        #expect(regex.map(\.0) == [Labels([("__name__", "m")]), Labels([("__name__", "m"), ("job", "api")])])

        let none = try select(storage, [LabelMatcher(.regexNoMatch, "__name__", ".*")])
        #expect(none.isEmpty)
    }

    @Test func selectRestrictsSamplesToTheHintRange() throws {
        let storage = MemoryStorage()
        storage.add(Labels([("__name__", "early")]), samples([(0, 1), (10, 2)]))
        storage.add(Labels([("__name__", "wide")]), samples([(0, 1), (10, 2), (20, 3), (30, 4)]))
        let all = try LabelMatcher(.regexMatch, "__name__", ".+")

        let got = try select(storage, [all], mint: 10, maxt: 20)
        #expect(got.map(\.0) == [Labels([("__name__", "early")]), Labels([("__name__", "wide")])])
        #expect(got[0].1 == samples([(10, 2)]))
        #expect(got[1].1 == samples([(10, 2), (20, 3)]))

        // A series with no sample in range is not returned.
        let late = try select(storage, [all], mint: 15, maxt: 100)
        #expect(late.map(\.0) == [Labels([("__name__", "wide")])])

        // The series reader applies its own range too.
        let q = try storage.querier(mint: 0, maxt: 100)
        let series = try q.select([all], hints: SelectHints(mint: 0, maxt: 100))
        var out: [Sample] = []
        try series[1].samples(mint: 5, maxt: 25, into: &out)
        #expect(out == samples([(10, 2), (20, 3)]))
    }

    @Test func queriersReadASnapshot() throws {
        let storage = MemoryStorage()
        storage.add(Labels([("__name__", "m")]), samples([(0, 1)]))
        let q = try storage.querier(mint: .min, maxt: .max)
        storage.add(Labels([("__name__", "n")]), samples([(0, 1)]))
        let got = try q.select([LabelMatcher(.regexMatch, "__name__", ".+")], hints: SelectHints(mint: .min, maxt: .max))
        #expect(got.map(\.labels) == [Labels([("__name__", "m")])])
    }

    @Test func appenderAppliesOnCommit() throws {
        let storage = MemoryStorage()
        let app = storage.appender()
        let labels = Labels([("__name__", "up"), ("job", "a")])
        let written = samples([(1000, 1), (2000, 0)])
        let result = labels.bytes.withUnsafeBytes { blob in
            written.withUnsafeBufferPointer { app.append(labels: blob, samples: $0) }
        }
        #expect(result == AppendResult(accepted: 2))
        #expect(storage.allSeries.isEmpty)
        try app.commit()
        #expect(storage.allSeries.map(\.labels) == [labels])
        #expect(storage.allSeries[0].samples == written)
    }

    @Test func labelNamesAndValuesAreSortedAndFiltered() throws {
        let storage = MemoryStorage()
        storage.add(Labels([("__name__", "m"), ("zone", "b"), ("job", "x")]), samples([(0, 1)]))
        storage.add(Labels([("__name__", "m"), ("zone", "a")]), samples([(0, 1)]))
        storage.add(Labels([("__name__", "other"), ("instance", "i")]), samples([(0, 1)]))
        let q = try storage.querier(mint: .min, maxt: .max)
        #expect(try q.labelNames([]) == ["__name__", "instance", "job", "zone"])
        #expect(try q.labelNames([LabelMatcher(.equal, "__name__", "m")]) == ["__name__", "job", "zone"])
        #expect(try q.labelValues("zone", []) == ["a", "b"])
        #expect(try q.labelValues("zone", [LabelMatcher(.equal, "job", "x")]) == ["b"])
        #expect(try q.labelValues("__name__", []) == ["m", "other"])
    }
}
