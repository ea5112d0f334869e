import StrataModel
@testable import StrataPromQL
import StrataPromQLParser
import StrataTestSupport
import Testing

/// The aggregation's shortcuts give the answers of the general path: a state per (group, step)
/// or step by step, and an input whose metric names are left on instead of taken off first.
@Suite struct AggregationPathTests {
    /// The (group, step) table of an aggregation holds a cell per group and step; at 9,091 groups
    /// and 15 steps every 8 bytes of a cell are a megabyte of the query's peak.
    @Test func aGroupCellIs40Bytes() {
        #expect(MemoryLayout<GroupState>.stride == 40)
    }

    /// `series` counters `x_total{i}` (value `k × (i % 5 + 1)` at step `k`, 15 s apart).
    static func counters(_ series: Int, samples: Int) -> MemoryStorage {
        let s = MemoryStorage()
        for i in 0 ..< series {
            s.add(Labels([("__name__", "x_total"), ("i", String(i))]),
                  (0 ..< samples).map { Sample(t: Int64($0) * 15_000, v: Double($0 * (i % 5 + 1))) })
        }
        return s
    }

    func range(_ storage: MemoryStorage, _ q: String, steps: Int, options: EngineOptions = EngineOptions()) throws -> [String] {
        let r = try Engine(options: options).rangeQuery(storage, try PromQLParser.parse(q), start: 0,
                                                        end: Int64(steps - 1) * 15_000, step: 15_000)
        guard case .matrix(let m) = r.value else { return ["not a matrix"] }
        return m.map { "\($0.labels) \($0.points.map { "\($0.t):\($0.v)" })" }
    }

    /// 50 groups × 40 steps past a table bound of 1,000 states walk step by step; within the
    /// default bound they fill the table. Both give the same answers, and each group its series.
    @Test func stepByStepAndTableGiveTheSameGroups() throws {
        let storage = Self.counters(50, samples: 40)
        var small = EngineOptions()
        small.aggregationTableStates = 1000
        let series = try range(storage, "x_total", steps: 40)
        #expect(series.count == 50)
        for options in [EngineOptions(), small] {
            let summed = try range(storage, "sum by (i) (x_total)", steps: 40, options: options)
            #expect(summed == series.map { $0.replacingOccurrences(of: "__name__=\"x_total\", ", with: "") })
            let counted = try range(storage, "count by (i) (x_total)", steps: 40, options: options)
            #expect(counted.allSatisfy { $0.hasSuffix(":1.0\"]") } && counted.count == 50)
        }
        for q in ["avg(x_total)", "stddev by (i) (rate(x_total[2m]))", "max without (i) (x_total)", "group(x_total)"] {
            let table = try range(storage, q, steps: 40), walk = try range(storage, q, steps: 40, options: small)
            #expect(!table.isEmpty && table == walk, "\(q)")
        }
    }

    /// Over a single metric name, the aggregation leaves the names on its input; the answers are
    /// those of delayed name removal, which takes the names off only at the end.
    @Test func aggregatingWithoutTakingNamesOffFirstGivesTheSameAnswer() throws {
        let storage = Self.counters(3000, samples: 60)
        var delayed = EngineOptions()
        delayed.delayedNameRemoval = true
        for q in ["sum(rate(x_total[5m]))", "avg by (i) (rate(x_total[1m]))", "max(increase(x_total[2m]))",
                  "quantile(0.9, rate(x_total[5m]))", "stddev(deriv(x_total[5m]))", "count(last_over_time(x_total[1m]))"] {
            let plain = try range(storage, q, steps: 40)
            let late = try range(storage, q, steps: 40, options: delayed)
            #expect(!plain.isEmpty && plain == late, "\(q)")
        }
    }

    /// An aggregation of a range function folds the function's series into its table as they
    /// come: the answers of the materialised path (delayed name removal never folds), on one
    /// thread and on two, in range and instant queries, also when the groups outgrow the table
    /// halfway and the query starts over on the general path.
    @Test func foldingTheFunctionsSeriesGivesTheMaterialisedAnswers() throws {
        let storage = Self.counters(3000, samples: 60)   // past the 2,048 series that go parallel
        var materialised = EngineOptions()
        materialised.delayedNameRemoval = true
        var parallel = EngineOptions()
        parallel.parallelism = 2
        var smallTable = EngineOptions()
        smallTable.aggregationTableStates = 1000   // 3,000 groups of `by (i)` outgrow it
        let queries = ["sum(rate(x_total[5m]))", "avg by (i) (rate(x_total[1m]))", "max(increase(x_total[2m]))",
                       "min by (i) (delta(x_total[2m]))", "stddev(deriv(x_total[5m]))", "stdvar(irate(x_total[5m]))",
                       "count(last_over_time(x_total[1m]))", "group(changes(x_total[5m]))", "sum(count_over_time(x_total[20m]))",
                       "sum by (i) (rate(x_total[5m] offset 1m))"]
        for q in queries {
            let expected = try range(storage, q, steps: 40, options: materialised)
            #expect(!expected.isEmpty, "\(q)")
            for options in [EngineOptions(), parallel, smallTable] {
                #expect(try range(storage, q, steps: 40, options: options) == expected, "\(q)")
            }
            let instant = { (o: EngineOptions) throws -> String in
                let r = try Engine(options: o).instantQuery(storage, try PromQLParser.parse(q), at: 600_000)
                guard case .vector(let v) = r.value else { return "not a vector" }
                return v.map { "\($0.labels) \($0.v)" }.joined(separator: "; ")
            }
            #expect(try instant(EngineOptions()) == instant(materialised), "\(q)")
            #expect(try instant(parallel) == instant(materialised), "\(q)")
        }
    }

    /// Folded, the function's output is held one series at a time (one round of series on worker
    /// threads), not all at once: a sample limit the whole output exceeds still answers the sum,
    /// and refuses the function alone.
    @Test func aFoldedAggregationHoldsOneSeriesOfTheFunctionAtATime() throws {
        let storage = Self.counters(3000, samples: 60)   // rate over 40 steps: 120,000 points
        var limited = EngineOptions()
        limited.maxSamples = 60_000
        #expect(try range(storage, "sum(rate(x_total[5m]))", steps: 40, options: limited).count == 1)
        #expect(throws: QueryError.self) { try range(storage, "rate(x_total[5m])", steps: 40, options: limited) }
        limited.delayedNameRemoval = true   // the materialised path holds every series' points
        #expect(throws: QueryError.self) { try range(storage, "sum(rate(x_total[5m]))", steps: 40, options: limited) }
    }

    /// Two series that differ only by `__type__` become one label set when the name removal takes
    /// it off: the collision is an error, as it is without the shortcut.
    @Test func seriesThatCollideWithoutTheirTypeStillFail() {
        let storage = MemoryStorage()
        for type in ["counter", "gauge"] {
            storage.add(Labels([("__name__", "x_total"), ("__type__", type), ("i", "1")]),
                        (0 ..< 40).map { Sample(t: Int64($0) * 15_000, v: Double($0)) })
        }
        #expect {
            _ = try range(storage, "sum(rate(x_total[5m]))", steps: 20)
        } throws: { ($0 as? QueryError)?.description.contains("same labelset") == true }
    }
}
