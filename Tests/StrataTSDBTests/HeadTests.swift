import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// Appends through the public Appender API, as the remote-write decoder does.
func append(_ head: Head, _ labels: Labels, _ samples: [(Int64, Double)]) -> AppendResult {
    let app = head.appender()
    let s = samples.map { Sample(t: $0.0, v: $0.1) }
    let r = app.append(labels, s)
    try? app.commit()
    return r
}

func read(_ storage: any Queryable, _ matchers: [LabelMatcher], mint: Int64 = .min, maxt: Int64 = .max) throws -> [(Labels, [Sample])] {
    let q = try storage.querier(mint: mint, maxt: maxt)
    return try q.select(matchers, hints: SelectHints(mint: mint, maxt: maxt)).map { s in
        var out: [Sample] = []
        try s.samples(mint: mint, maxt: maxt, into: &out)
        return (s.labels, out)
    }
}

let upA = Labels([("__name__", "up"), ("job", "a")])

@Suite struct HeadAppendRulesTests {
    @Test func inOrderSamplesAreStoredAndReadBack() throws {
        let head = Head()
        let r = append(head, upA, [(1000, 1), (2000, 2), (3000, 3)])
        #expect(r == AppendResult(accepted: 3))
        let got = try read(head, [try LabelMatcher(.equal, "__name__", "up")])
        #expect(got.count == 1)
        #expect(got[0].0 == upA)
        #expect(got[0].1.map(\.t) == [1000, 2000, 3000])
        #expect(head.numSeries == 1)
        #expect(head.mint == 1000 && head.maxt == 3000)
    }

    @Test func outOfOrderIsRejectedAndLeavesTheSeriesAsItWas() throws {
        let head = Head()
        _ = append(head, upA, [(1000, 1), (2000, 2)])
        let r = append(head, upA, [(1500, 9), (3000, 3), (2500, 7)])
        #expect(r.accepted == 1 && r.rejected == 2)
        #expect(r.firstFailure?.index == 0 && r.firstFailure?.failure == .outOfOrder)
        let got = try read(head, [try LabelMatcher(.equal, "job", "a")])
        #expect(got[0].1 == [Sample(t: 1000, v: 1), Sample(t: 2000, v: 2), Sample(t: 3000, v: 3)])
    }

    @Test func duplicatesWithTheSameValueAreAcceptedOnceAndDifferentValuesRejected() throws {
        let head = Head()
        _ = append(head, upA, [(1000, 1)])
        #expect(append(head, upA, [(1000, 1)]) == AppendResult(accepted: 1))
        let r = append(head, upA, [(1000, 2)])
        #expect(r.rejected == 1 && r.firstFailure?.failure == .duplicate)
        // Bitwise comparison: NaN equals itself, stale NaN differs from NaN.
        _ = append(head, upA, [(2000, normalNaN)])
        #expect(append(head, upA, [(2000, normalNaN)]).accepted == 1)
        #expect(append(head, upA, [(2000, StaleNaN.value)]).firstFailure?.failure == .duplicate)
        let got = try read(head, [try LabelMatcher(.equal, "job", "a")])
        #expect(got[0].1.count == 2)
        #expect(got[0].1[0] == Sample(t: 1000, v: 1))
    }

    @Test func samplesTooFarBehindTheHeadAreOutOfBounds() throws {
        let head = Head() // 2h range: bound is maxt - 1h
        _ = append(head, upA, [(10_000_000, 1)])
        let other = Labels([("__name__", "up"), ("job", "b")])
        let r = append(head, other, [(10_000_000 - 3_600_001, 1), (10_000_000 - 3_600_000, 2)])
        #expect(r.accepted == 1 && r.firstFailure?.failure == .outOfBounds)
        #expect(try read(head, [try LabelMatcher(.equal, "job", "b")])[0].1 == [Sample(t: 10_000_000 - 3_600_000, v: 2)])
    }

    @Test func invalidLabelsCreateNoSeries() throws {
        let head = Head()
        let cases: [([UInt8], String)] = [
            (Labels([("job", "a")]).bytes, "missing metric name"),
            ([0, 1, UInt8(ascii: "x")] + Labels([("__name__", "m")]).bytes, "empty label name"),
            (Labels([("b", "1")]).bytes + Labels([("__name__", "m")]).bytes, "not sorted"),
            (Labels([("__name__", "m")]).bytes + Labels([("a", "1")]).bytes + Labels([("a", "2")]).bytes, "duplicate label name"),
            (Labels([("__name__", "m")]).bytes + [1, UInt8(ascii: "z"), 2, 0xC3, 0x28], "not valid UTF-8"),
            (Labels([("__name__", "m"), ("z", "1")]).bytes + Labels([("z", "2")]).bytes, "duplicate label name"),
        ]
        for (blob, why) in cases {
            let app = head.appender()
            let s = [Sample(t: 1, v: 1)]
            let r = blob.withUnsafeBytes { lb in s.withUnsafeBufferPointer { app.append(labels: lb, samples: $0) } }
            guard case .invalidLabels(let msg)? = r.firstFailure?.failure else {
                Issue.record("expected invalid labels for \(why), got \(String(describing: r.firstFailure))"); continue
            }
            #expect(msg.contains(why), "\(msg) should mention \(why)")
        }
        #expect(head.numSeries == 0)
    }

    @Test func chunksAreCutAt2hBoundariesAndEvenlySized() throws {
        // 15s scrapes from an aligned start: 480 samples per 2h. After 30 samples the head predicts
        // n = 7_200_000 / (435_001 * 4) = 4 chunks, so each 2h range gets 4 chunks of 120 samples.
        let head = Head()
        let start: Int64 = 1_600_000_000_000 / 7_200_000 * 7_200_000
        _ = append(head, upA, (0 ..< 960).map { (start + Int64($0) * 15000, Double($0)) })
        let q = try head.querier(mint: .min, maxt: .max)
        let s = try q.select([try LabelMatcher(.equal, "job", "a")], hints: SelectHints(mint: .min, maxt: .max))[0] as! HeadSeries
        let chunks = try s.chunks(mint: .min, maxt: .max)
        #expect(chunks.map { XORChunk.sampleCount($0.bytes) } == [120, 120, 120, 120, 120, 120, 120, 120])
        for c in chunks { #expect(c.minTime / 7_200_000 == c.maxTime / 7_200_000) }
    }

    @Test func aChunkIsCutAfter240SamplesWhenTheRateRises() throws {
        let head = Head()
        var samples: [(Int64, Double)] = []
        var t: Int64 = 0
        for _ in 0 ..< 30 { t += 60_000; samples.append((t, 1)) }  // slow: prediction says one chunk
        for _ in 0 ..< 500 { t += 100; samples.append((t, 1)) }    // then fast
        _ = append(head, upA, samples)
        let s = try head.querier(mint: .min, maxt: .max).select([try LabelMatcher(.equal, "job", "a")], hints: SelectHints(mint: .min, maxt: .max))[0] as! HeadSeries
        #expect(try s.chunks(mint: .min, maxt: .max).map { XORChunk.sampleCount($0.bytes) }.first == 240)
    }
}

@Suite struct HeadQueryTests {
    static func fixture() throws -> Head {
        let head = Head()
        for (job, inst, v) in [("api", "1", 1.0), ("api", "2", 2.0), ("db", "1", 3.0), ("db", "", 4.0)] {
            _ = append(head, Labels([("__name__", "up"), ("job", job), ("instance", inst)]), [(1000, v)])
        }
        _ = append(head, Labels([("__name__", "other"), ("job", "api")]), [(1000, 5)])
        return head
    }

    func values(_ head: Head, _ m: [LabelMatcher]) throws -> [Double] {
        try read(head, m).map { $0.1[0].v }
    }

    @Test func matchersSelectLikePrometheus() throws {
        let head = try Self.fixture()
        let up = try LabelMatcher(.equal, "__name__", "up")
        #expect(try values(head, [up]).sorted() == [1, 2, 3, 4])
        // Sorted by labels pairwise: "instance" < "job", so the series without an instance sorts last.
        let all = try read(head, [up])
        #expect(all.map { $0.0.get("instance") ?? "-" } == ["1", "1", "2", "-"])
        #expect(all.map { $0.0.get("job")! } == ["api", "db", "api", "db"])
        #expect(try values(head, [up, try LabelMatcher(.notEqual, "job", "api")]).sorted() == [3, 4])
        #expect(try values(head, [up, try LabelMatcher(.regexMatch, "job", "a.*")]).sorted() == [1, 2])
        #expect(try values(head, [up, try LabelMatcher(.regexNoMatch, "job", "a.*|d.*")]) == [])
        // "=" "" selects series without the label.
        #expect(try values(head, [up, try LabelMatcher(.equal, "instance", "")]) == [4])
        #expect(try values(head, [up, try LabelMatcher(.regexMatch, "instance", "1|")]).sorted() == [1, 3, 4])
        #expect(try values(head, [try LabelMatcher(.regexMatch, "__name__", ".+"), try LabelMatcher(.equal, "job", "api")]).sorted() == [1, 2, 5])
        #expect(try values(head, [try LabelMatcher(.equal, "__name__", "nope")]) == [])
    }

    /// `sortSeries: false`: the head leaves its series in the order they were created (their
    /// references), as Prometheus' head does; a DB that merges the head with blocks still returns
    /// them sorted, asking its sources for sorted series since a merge needs them.
    @Test func unsortedSelectionKeepsCreationOrderUnlessSourcesAreMerged() throws {
        var unsorted = SelectHints(mint: .min, maxt: .max)
        unsorted.sortSeries = false
        let head = try Self.fixture()
        let up = try LabelMatcher(.equal, "__name__", "up")
        let name = { (s: any StorageSeries) in s.labels.get("job")! + (s.labels.get("instance") ?? "-") }
        let q = try head.querier(mint: .min, maxt: .max)
        #expect(try q.select([up], hints: unsorted).map(name) == ["api1", "api2", "db1", "db-"])
        #expect(try q.select([up], hints: SelectHints(mint: .min, maxt: .max)).map(name) == ["api1", "db1", "api2", "db-"])

        let dir = try TempDir("unsorted"); defer { dir.remove() }
        let (filled, _) = filledHead(series: 12, from: 0, to: 4 * hour)
        let all = try LabelMatcher(.regexMatch, "instance", ".+")
        let byRef = try filled.querier(mint: .min, maxt: .max).select([all], hints: unsorted).map(\.labels)
        let db = try DB(dir: dir.path, head: filled)
        _ = try db.compact()
        #expect(!db.blocks.isEmpty)
        let merged = try db.querier(mint: .min, maxt: .max).select([all], hints: unsorted).map(\.labels)
        let sorted = try db.querier(mint: .min, maxt: .max).select([all], hints: SelectHints(mint: .min, maxt: .max)).map(\.labels)
        #expect(merged == sorted && merged.count == 12)
        #expect(Set(byRef) == Set(sorted) && byRef != sorted, "the head alone gives creation order")
    }

    @Test func timeRangeLimitsSeriesAndSamples() throws {
        let head = Head()
        _ = append(head, upA, [(1000, 1), (2000, 2), (3000, 3)])
        #expect(try read(head, [try LabelMatcher(.equal, "job", "a")], mint: 1500, maxt: 2500)[0].1 == [Sample(t: 2000, v: 2)])
        #expect(try read(head, [try LabelMatcher(.equal, "job", "a")], mint: 4000, maxt: 5000).isEmpty)
    }

    @Test func labelNamesAndValuesAreSortedBytewise() throws {
        let head = try Self.fixture()
        let q = try head.querier(mint: .min, maxt: .max)
        #expect(try q.labelNames([]) == ["__name__", "instance", "job"])
        #expect(try q.labelValues("job", []) == ["api", "db"])
        #expect(try q.labelValues("__name__", [try LabelMatcher(.equal, "job", "db")]) == ["up"])
    }

    @Test func concurrentWritersToManySeriesLoseNothing() async throws {
        let head = Head()
        await withTaskGroup(of: Void.self) { g in
            for w in 0 ..< 4 {
                g.addTask {
                    for i in 0 ..< 500 {
                        // Every writer touches every series: shared series, disjoint timestamps per round.
                        let l = Labels([("__name__", "m"), ("i", String(i % 50))])
                        _ = append(head, l, [(Int64(i / 50) * 10 + Int64(w), Double(w))])
                    }
                }
            }
        }
        #expect(head.numSeries == 50)
        let got = try read(head, [try LabelMatcher(.equal, "__name__", "m")])
        #expect(got.count == 50)
        // Each series got 10 rounds × up to 4 writers; out-of-order ones were rejected, never duplicated.
        for (_, s) in got {
            #expect(s.count >= 10)
            #expect(zip(s, s.dropFirst()).allSatisfy { $0.t < $1.t })
        }
    }
}

@Suite struct HeadHashCollisionTests {
    /// Every label set hashes alike (`labelHashMask` 0), so series collide through the real paths:
    /// creation, lookup, appends, and truncation, which finds each series' key again from its labels.
    @Test func seriesWithTheSameHashStayDistinct() throws {
        var options = HeadOptions()
        options.labelHashMask = 0
        let head = Head(options: options)
        let a = Labels([("__name__", "a")]), b = Labels([("__name__", "b")]), c = Labels([("__name__", "c")])
        func create(_ l: Labels) throws -> MemSeries {
            try l.bytes.withUnsafeBytes { try head.getOrCreate(hash: head.labelHash($0), labels: $0) }
        }
        let sa = try create(a), sb = try create(b), sc = try create(c)
        #expect(Set([sa.ref, sb.ref, sc.ref]).count == 3)
        let stripe = head.hashStripes[0]
        for (l, s) in [(a, sa), (b, sb), (c, sc)] {
            let found = l.bytes.withUnsafeBytes { Head.find(stripe, hash: 0, labels: $0) }
            #expect(found === s)
        }
        // Asking again returns the existing series.
        #expect(try create(b) === sb)
        #expect(head.numSeries == 3)
        #expect(Labels([("__name__", "d")]).bytes.withUnsafeBytes { Head.find(stripe, hash: 0, labels: $0) } == nil)

        // Samples reach the right series; truncation then removes the two whose samples are old,
        // whether each is the map's entry or one of its collisions, and keeps the third findable.
        let app = head.appender()
        for (l, t) in [(a, Int64(1_000)), (b, 9_000_000), (c, 2_000)] {
            #expect(app.append(l, [Sample(t: t, v: 1)]).accepted == 1)
        }
        try app.commit()
        _ = head.truncate(before: 5_000_000)
        #expect(head.numSeries == 1)
        for l in [a, c] { #expect(l.bytes.withUnsafeBytes { Head.find(stripe, hash: 0, labels: $0) } == nil) }
        #expect(b.bytes.withUnsafeBytes { Head.find(stripe, hash: 0, labels: $0) } === sb)
        #expect(try create(a) !== sa, "a removed series is created anew")
    }
}
