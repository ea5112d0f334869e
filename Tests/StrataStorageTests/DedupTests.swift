import StrataModel
@testable import StrataStorage
import StrataTestSupport
import Testing

/// HA deduplication (Thanos' `--query.replica-label`). The expected outputs below were worked
/// out by hand from the penalty rule in `DedupSeries`; a randomized test checks the flat
/// implementation against a small iterator-per-replica model shaped like Thanos' own.
@Suite struct DedupTests {
    // MARK: Helpers

    /// Samples every `step` ms from `from` through `through` (inclusive), all with `value`.
    private func every(_ step: Int64, from: Int64, through: Int64, value: Double) -> [Sample] {
        stride(from: from, through: through, by: Int(step)).map { Sample(t: $0, v: value) }
    }

    private func labels(_ pairs: (String, String)...) -> Labels { Labels(pairs) }

    private func read(_ q: any Querier, _ matchers: [LabelMatcher], mint: Int64 = .min, maxt: Int64 = .max) throws -> [(labels: Labels, samples: [Sample])] {
        try q.select(matchers, hints: SelectHints(mint: mint, maxt: maxt)).map { s in
            var out: [Sample] = []
            try s.samples(mint: mint, maxt: maxt, into: &out)
            return (s.labels, out)
        }
    }

    private func dedup(_ storage: MemoryStorage, _ replicaLabels: [String] = ["replica"], counterAware: Bool = false) throws -> DedupQuerier {
        DedupQuerier(try storage.querier(mint: .min, maxt: .max), replicaLabels: replicaLabels, counterAware: counterAware)
    }

    private var all: LabelMatcher { get throws { try LabelMatcher(.regexMatch, "__name__", ".+") } }

    // MARK: Merging replicas

    @Test func identicalReplicasAreReadOnce() throws {
        let storage = MemoryStorage()
        storage.add(labels(("__name__", "up"), ("job", "api"), ("replica", "a")), every(10_000, from: 10_000, through: 40_000, value: 1))
        storage.add(labels(("__name__", "up"), ("job", "api"), ("replica", "b")), every(10_000, from: 10_000, through: 40_000, value: 2))
        let got = try read(try dedup(storage), [try all])
        #expect(got.map(\.labels) == [labels(("__name__", "up"), ("job", "api"))])
        // The first replica (by its labels) wins equal timestamps.
        #expect(got[0].samples == every(10_000, from: 10_000, through: 40_000, value: 1))
    }

    /// A misses ten minutes that B (scraping 1 s later) has: B fills the gap, and the read stays
    /// on B after A is back; when B has a gap of its own, A takes over again.
    @Test func gapIsFilledFromTheOtherReplicaWhichThenSticks() throws {
        let storage = MemoryStorage()
        let a = every(10_000, from: 0, through: 120_000, value: 1) + every(10_000, from: 730_000, through: 1_200_000, value: 1)
        let b = every(10_000, from: 1_000, through: 891_000, value: 2) + every(10_000, from: 1_001_000, through: 1_201_000, value: 2)
        storage.add(labels(("__name__", "m"), ("replica", "a")), a)
        storage.add(labels(("__name__", "m"), ("replica", "b")), b)
        let got = try read(try dedup(storage), [try all])
        #expect(got.count == 1)
        // After A's last sample at 120 s, B must be past 120 s + 1 ms + 2 × 10 s: 131 s is
        // skipped, 141 s taken. B then leads until its gap after 891 s; A's next sample past
        // 891 s + 1 ms + 2 × 10 s is 920 s, and A keeps the lead to the end.
        let want = every(10_000, from: 0, through: 120_000, value: 1)
            + every(10_000, from: 141_000, through: 891_000, value: 2)
            + every(10_000, from: 920_000, through: 1_200_000, value: 1)
        #expect(got[0].samples == want)
    }

    @Test func oneMissedScrapeIsNotFilled() throws {
        let storage = MemoryStorage()
        // A misses 45 s; B scrapes 2 s after A. A gap of one interval is shorter than the
        // 2 × 15 s penalty on B, so A is followed throughout.
        let a = [0, 15, 30, 60, 75].map { Sample(t: Int64($0) * 1000, v: 1) }
        let b = [2, 17, 32, 47, 62, 77].map { Sample(t: Int64($0) * 1000, v: 2) }
        storage.add(labels(("__name__", "m"), ("replica", "a")), a)
        storage.add(labels(("__name__", "m"), ("replica", "b")), b)
        #expect(try read(try dedup(storage), [try all])[0].samples == a)
    }

    @Test func replicaStartingEarlierIsFollowed() throws {
        let storage = MemoryStorage()
        // B sorts second but scrapes 100 ms earlier: it gives the first sample and keeps the lead.
        storage.add(labels(("__name__", "m"), ("replica", "a")), every(10_000, from: 10_100, through: 60_100, value: 1))
        storage.add(labels(("__name__", "m"), ("replica", "b")), every(10_000, from: 10_000, through: 60_000, value: 2))
        #expect(try read(try dedup(storage), [try all])[0].samples == every(10_000, from: 10_000, through: 60_000, value: 2))
    }

    /// Replicas scraping the same target at offsets: the output never interleaves them.
    @Test func jitteredReplicasAreNotInterleaved() throws {
        // +3 s is inside the 5 s initial penalty: A is followed from the start.
        let close = MemoryStorage()
        close.add(labels(("__name__", "m"), ("replica", "a")), every(15_000, from: 0, through: 300_000, value: 1))
        close.add(labels(("__name__", "m"), ("replica", "b")), every(15_000, from: 3_000, through: 303_000, value: 2))
        #expect(try read(try dedup(close), [try all])[0].samples == every(15_000, from: 0, through: 300_000, value: 1))

        // +7 s is past the initial penalty: B's 7 s comes before A's 15 s and takes over after
        // A's first sample; from then on A sits behind a 2 × interval penalty and only B is read.
        let far = MemoryStorage()
        far.add(labels(("__name__", "m"), ("replica", "a")), every(15_000, from: 0, through: 300_000, value: 1))
        far.add(labels(("__name__", "m"), ("replica", "b")), every(15_000, from: 7_000, through: 307_000, value: 2))
        let got = try read(try dedup(far), [try all])[0].samples
        #expect(got == [Sample(t: 0, v: 1)] + every(15_000, from: 7_000, through: 307_000, value: 2))
        #expect(zip(got.dropFirst(2), got.dropFirst()).allSatisfy { $0.t - $1.t == 15_000 })
    }

    /// Three replicas fold left, ((a ⊕ b) ⊕ c): when the one followed ends, the next is taken
    /// after the penalty window, as with two. When a ends at 50 s, b and c both wait out
    /// 2 × 10 s, so b resumes at 80 s; c is then pushed to 80 s + 1 ms + 2 × 30 s = 150 s and
    /// does not move back, so after b ends at 100 s the read resumes at 150 s.
    @Test func threeReplicasHandOverInTurn() throws {
        let storage = MemoryStorage()
        storage.add(labels(("__name__", "m"), ("replica", "a")), every(10_000, from: 0, through: 50_000, value: 1))
        storage.add(labels(("__name__", "m"), ("replica", "b")), every(10_000, from: 0, through: 100_000, value: 2))
        storage.add(labels(("__name__", "m"), ("replica", "c")), every(10_000, from: 0, through: 200_000, value: 3))
        let got = try read(try dedup(storage), [try all])
        #expect(got.map(\.labels) == [labels(("__name__", "m"))])
        let want = every(10_000, from: 0, through: 50_000, value: 1)
            + every(10_000, from: 80_000, through: 100_000, value: 2)
            + every(10_000, from: 150_000, through: 200_000, value: 3)
        #expect(got[0].samples == want)
    }

    // MARK: Labels

    @Test func severalReplicaLabelsAndSortedOutput() throws {
        let storage = MemoryStorage()
        let s = every(10_000, from: 0, through: 30_000, value: 1)
        storage.add(labels(("__name__", "up"), ("job", "api"), ("replica", "a")), s)
        storage.add(labels(("__name__", "up"), ("job", "api"), ("replica", "b")), s)
        storage.add(labels(("__name__", "up"), ("job", "db"), ("rule_replica", "r1")), s)
        storage.add(labels(("__name__", "up"), ("job", "db"), ("rule_replica", "r2")), s)
        storage.add(labels(("__name__", "up"), ("job", "solo"), ("replica", "a"), ("rule_replica", "r1")), s)
        storage.add(labels(("__name__", "up"), ("job", "web")), every(10_000, from: 5_000, through: 35_000, value: 7))
        // Stored order: zone=2 (with `replica`) before zone=1; without the label it comes after.
        storage.add(labels(("__name__", "up"), ("job", "zeta"), ("replica", "a"), ("zone", "2")), s)
        storage.add(labels(("__name__", "up"), ("job", "zeta"), ("zone", "1")), s)
        let q = try dedup(storage, ["replica", "rule_replica"])

        let got = try read(q, [try all])
        #expect(got.map(\.labels) == [
            labels(("__name__", "up"), ("job", "api")),
            labels(("__name__", "up"), ("job", "db")),
            labels(("__name__", "up"), ("job", "solo")),
            labels(("__name__", "up"), ("job", "web")),
            labels(("__name__", "up"), ("job", "zeta"), ("zone", "1")),
            labels(("__name__", "up"), ("job", "zeta"), ("zone", "2")),
        ])
        #expect(zip(got, got.dropFirst()).allSatisfy { Labels.compare($0.labels, $1.labels) < 0 })
        #expect(got.allSatisfy { $0.samples == s || $0.samples == every(10_000, from: 5_000, through: 35_000, value: 7) })
        // A series without replica labels is handed on as it is.
        let web = try q.select([LabelMatcher(.equal, "job", "web")], hints: SelectHints(mint: .min, maxt: .max))
        #expect(!(web[0] is RelabeledSeries) && !(web[0] is DedupSeries))

        #expect(try q.labelNames([]) == ["__name__", "job", "zone"])
        #expect(try q.labelValues("replica", []) == [])
        #expect(try q.labelValues("rule_replica", []) == [])
        #expect(try q.labelValues("job", []) == ["api", "db", "solo", "web", "zeta"])

        // Matchers apply to the stored labels: one replica can still be picked out.
        let onlyA = try read(q, [LabelMatcher(.equal, "replica", "a")])
        #expect(onlyA.map(\.labels) == [
            labels(("__name__", "up"), ("job", "api")),
            labels(("__name__", "up"), ("job", "solo")),
            labels(("__name__", "up"), ("job", "zeta"), ("zone", "2")),
        ])
    }

    @Test func seriesWithoutTheLabelIsAReplicaOfTheSameLabelsWithIt() throws {
        let storage = MemoryStorage()
        storage.add(labels(("__name__", "m")), every(10_000, from: 0, through: 20_000, value: 1))
        storage.add(labels(("__name__", "m"), ("replica", "a")), every(10_000, from: 0, through: 20_000, value: 2))
        let got = try read(try dedup(storage), [try all])
        #expect(got.map(\.labels) == [labels(("__name__", "m"))])
        #expect(got[0].samples == every(10_000, from: 0, through: 20_000, value: 1))
    }

    @Test func noReplicaLabelsReadsTheQuerierUnchanged() throws {
        let storage = MemoryStorage()
        storage.add(labels(("__name__", "m"), ("replica", "a")), every(10_000, from: 0, through: 20_000, value: 1))
        storage.add(labels(("__name__", "m"), ("replica", "b")), every(10_000, from: 0, through: 20_000, value: 2))
        let q = try dedup(storage, [])
        #expect(try read(q, [try all]).count == 2)
        #expect(try q.labelNames([]) == ["__name__", "replica"])
        #expect(try q.labelValues("replica", []) == ["a", "b"])
    }

    // MARK: Counters

    /// A counter where B, followed during A's gap, reads lower than A's last value: counter-aware
    /// reading raises B by the difference so the switch is no reset; plain reading returns B as is.
    @Test func counterAwareSwitchDoesNotFakeAReset() throws {
        let storage = MemoryStorage()
        let a = [Sample(t: 10_000, v: 100), Sample(t: 20_000, v: 110)]
            + stride(from: Int64(50_000), through: 150_000, by: 10_000).map { Sample(t: $0, v: 100 + Double($0 - 10_000) / 1000) }
        let b = [Sample(t: 10_500, v: 95), Sample(t: 45_500, v: 105), Sample(t: 55_500, v: 115), Sample(t: 65_500, v: 125)]
        storage.add(labels(("__name__", "requests_total"), ("replica", "a")), a)
        storage.add(labels(("__name__", "requests_total"), ("replica", "b")), b)

        // A's 50 s is behind B's 45.5 s, so B is taken at 45.5 s; A then waits behind a
        // 2 × 25.5 s penalty, which moves it to 100 s; it never moves back (as Thanos' chunk
        // iterators), so when B ends after 65.5 s, A resumes at 100 s, not 70 s.
        let tail = stride(from: Int64(100_000), through: 150_000, by: 10_000).map { Sample(t: $0, v: 100 + Double($0 - 10_000) / 1000) }
        let adjusted = try read(try dedup(storage, counterAware: true), [try all])[0].samples
        #expect(adjusted == [Sample(t: 10_000, v: 100), Sample(t: 20_000, v: 110),
                             Sample(t: 45_500, v: 110), Sample(t: 55_500, v: 120), Sample(t: 65_500, v: 130)] + tail)
        let plain = try read(try dedup(storage), [try all])[0].samples
        #expect(plain == [Sample(t: 10_000, v: 100), Sample(t: 20_000, v: 110),
                          Sample(t: 45_500, v: 105), Sample(t: 55_500, v: 115), Sample(t: 65_500, v: 125)] + tail)
    }

    // MARK: Ranges and the model

    /// Which replica is followed depends on what came before: a sub-range reads what the whole
    /// selection would, filtered.
    @Test func subRangeReadsMatchTheWholeSelection() throws {
        let storage = MemoryStorage()
        storage.add(labels(("__name__", "m"), ("replica", "a")), every(10_000, from: 0, through: 120_000, value: 1) + every(10_000, from: 300_000, through: 600_000, value: 1))
        storage.add(labels(("__name__", "m"), ("replica", "b")), every(10_000, from: 1_000, through: 601_000, value: 2))
        let q = try dedup(storage)
        let series = try q.select([try all], hints: SelectHints(mint: 0, maxt: 700_000))
        var whole: [Sample] = []
        try series[0].samples(mint: 0, maxt: 700_000, into: &whole)
        var part: [Sample] = []
        try series[0].samples(mint: 400_000, maxt: 500_000, into: &part)
        #expect(part == whole.filter { $0.t >= 400_000 && $0.t <= 500_000 })
        // From 400 s on its own, A would have been followed; in the whole read B leads there.
        #expect(!part.isEmpty && part.allSatisfy { $0.v == 2 })
    }

    @Test(arguments: [false, true])
    func matchesTheIteratorModelOnRandomReplicas(counterAware: Bool) throws {
        var rng = SplitMix(seed: counterAware ? 0xDED0 : 0xDED1)
        for round in 0 ..< 300 {
            let n = Int.random(in: 2 ... 4, using: &rng)
            let interval = Int64.random(in: 5_000 ... 30_000, using: &rng)
            var replicas: [[Sample]] = []
            for _ in 0 ..< n {
                var samples: [Sample] = []
                var t = Int64.random(in: 0 ... interval, using: &rng)
                var v = Double.random(in: 0 ... 50, using: &rng).rounded()
                let count = Int.random(in: 0 ... 80, using: &rng)
                for _ in 0 ..< count {
                    // Occasional gaps of several intervals, small jitter otherwise.
                    if Int.random(in: 0 ..< 12, using: &rng) == 0 { t += interval * Int64.random(in: 2 ... 8, using: &rng) }
                    t += interval + Int64.random(in: -interval / 10 ... interval / 10, using: &rng)
                    v += Double.random(in: 0 ... 10, using: &rng).rounded()
                    samples.append(Sample(t: t, v: v))
                }
                replicas.append(samples)
            }
            let storage = MemoryStorage()
            for (i, samples) in replicas.enumerated() {
                storage.add(labels(("__name__", "m"), ("replica", "r\(i)")), samples)
            }
            let got = try read(try dedup(storage, counterAware: counterAware), [try all])
            let want = Self.model(replicas.filter { !$0.isEmpty }, counterAware: counterAware)
            #expect((got.first?.samples ?? []) == want, "round \(round)")
            #expect(zip(want, want.dropFirst()).allSatisfy { $0.t < $1.t })

            // Any window reads the whole selection's samples in it.
            if let series = try dedup(storage, counterAware: counterAware).select([try all], hints: SelectHints(mint: .min, maxt: .max)).first, want.count > 2 {
                let lo = want[Int.random(in: 0 ..< want.count, using: &rng)].t - 1
                let hi = lo + interval * Int64.random(in: 1 ... 30, using: &rng)
                var part: [Sample] = []
                try series.samples(mint: lo, maxt: hi, into: &part)
                #expect(part == want.filter { $0.t >= lo && $0.t <= hi }, "round \(round) window")
            }
        }
    }

    // MARK: Iterator model

    /// Thanos' shape, one object per iterator: replicas fold left into pairwise merges.
    private static func model(_ replicas: [[Sample]], counterAware: Bool) -> [Sample] {
        guard !replicas.isEmpty else { return [] }
        var it: any ModelIterator = ModelReplica(replicas[0], counterAware)
        for r in replicas.dropFirst() { it = ModelPair(it, ModelReplica(r, counterAware)) }
        var out: [Sample] = []
        while it.next() { out.append(it.sample) }
        return out
    }
}

private protocol ModelIterator: AnyObject {
    func next() -> Bool
    func seek(_ t: Int64) -> Bool
    var sample: Sample { get }
    func adjust(_ last: Double)
}

private final class ModelReplica: ModelIterator {
    let samples: [Sample]
    let counterAware: Bool
    var i = -1
    var offset = 0.0
    init(_ samples: [Sample], _ counterAware: Bool) { self.samples = samples; self.counterAware = counterAware }
    func next() -> Bool { i = min(i + 1, samples.count); return i < samples.count }
    func seek(_ t: Int64) -> Bool {
        while i < samples.count && samples[i].t < t { i += 1 }
        return i < samples.count
    }
    var sample: Sample { Sample(t: samples[i].t, v: samples[i].v + offset) }
    func adjust(_ last: Double) {
        if counterAware && last > sample.v { offset += last - sample.v }
    }
}

private final class ModelPair: ModelIterator {
    let a: any ModelIterator, b: any ModelIterator
    var aOK: Bool, bOK: Bool
    var last = Int64.min
    var penA: Int64 = 0, penB: Int64 = 0
    var onA = true

    init(_ a: any ModelIterator, _ b: any ModelIterator) {
        self.a = a; self.b = b
        aOK = a.next(); bOK = b.next()
    }

    var sample: Sample { onA ? a.sample : b.sample }

    func next() -> Bool {
        let wasOnA = onA
        let before: Double? = (onA ? aOK : bOK) ? sample.v : nil
        defer {
            if onA != wasOnA, let before {
                if aOK { a.adjust(before) }
                if bOK { b.adjust(before) }
            }
        }
        if aOK { aOK = a.seek(last + 1 + penA) }
        if bOK { bOK = b.seek(last + 1 + penB) }
        switch (aOK, bOK) {
        case (false, false):
            onA = false
            return false
        case (false, true):
            onA = false; last = b.sample.t; penB = 0
        case (true, false):
            onA = true; last = a.sample.t; penA = 0
        case (true, true):
            let ta = a.sample.t, tb = b.sample.t
            onA = ta <= tb
            let t = onA ? ta : tb
            let penalty = last == .min ? 5000 : 2 * (t - last)
            if onA { penA = 0; penB = penalty } else { penB = 0; penA = penalty }
            last = t
        }
        return true
    }

    func seek(_ t: Int64) -> Bool {
        while sample.t < t { if !next() { return false } }
        return true
    }

    func adjust(_ last: Double) {
        if aOK { a.adjust(last) }
        if bOK { b.adjust(last) }
    }
}
