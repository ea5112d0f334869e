import StrataModel

/// Several HA replicas of one series read as one, with Thanos' penalty algorithm
/// (`pkg/dedup/iter.go`, `dedupSeriesIterator.Next`).
///
/// The rule, for two replicas A (preferred) and B, with T the time of the last sample returned:
/// - each step, each replica moves forward (never back, like Thanos' chunk iterators) to its
///   first sample later than `T + penalty`; the replica that gave T has penalty 0, the other
///   `2 × (gap between the last two samples returned)`, or 5000 ms after the first sample,
///   when no gap is known yet;
/// - the earlier of the two is returned (A on equal times); the other gets the new penalty;
/// - a replica that has no sample left after its `T + penalty` is dropped for the rest of the
///   read, and the other continues alone.
///
/// So the output sticks to one replica and switches only when the current one has a gap longer
/// than twice its scrape interval (one missed scrape is not filled, and a replica scraping at an
/// offset is never interleaved); after the switch it sticks to the new replica even when the old
/// one comes back. When the followed replica ends, the other resumes only past its penalty
/// window (about two intervals are missing at the handover). The 5000 ms initial penalty is shorter than common offsets, so a replica
/// scraping more than 5 s after the first one can take over at the second sample. More replicas
/// fold left, `((r0 ⊕ r1) ⊕ r2) …`, as Thanos' `dedupSeries.Iterator` builds them; the inner
/// merge advances sample by sample (Thanos' `dedupSeriesIterator.Seek`), never by jumping.
///
/// Counter-aware reading adds `counterErrAdjustSeriesIterator`: when the chosen replica changes,
/// every replica still readable whose current value is below the last value returned is raised
/// by the difference from then on, so a replica that saw less of the counter does not fake a reset.
///
/// The deduplicated stream starts at the selection's start (`anchor`), whatever range is read:
/// which replica is followed depends on the samples before, so a sub-range reads the same
/// samples as the whole range would. Not chunked: there are no stored chunks for the mix.
struct DedupSeries: StorageSeries {
    let labels: Labels
    /// Sorted by their original labels; the first is preferred on equal timestamps.
    let replicas: [any StorageSeries]
    let anchor: Int64
    let counterAware: Bool

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        // Every replica's samples in one buffer; the merge walks indices into it.
        let from = Swift.min(mint, anchor)
        var buffer: [Sample] = []
        var bounds: [Range<Int>] = []
        bounds.reserveCapacity(replicas.count)
        for r in replicas {
            let start = buffer.count
            try r.samples(mint: from, maxt: maxt, into: &buffer)
            bounds.append(start ..< buffer.count)
        }
        out.reserveCapacity(out.count + (bounds.map(\.count).max() ?? 0))
        var merge = PenaltyMerge(samples: buffer, bounds: bounds, counterAware: counterAware)
        merge.run(from: mint, into: &out)
    }
}

/// The penalty merge over replicas held in one array. Thanos composes iterators; here the same
/// left fold is a chain indexed by replica: id 0 is replica 0 alone, and id k ≥ 1 merges id k-1
/// (its "a") with replica k (its "b"). No allocation per sample.
struct PenaltyMerge {
    static let initialPenalty: Int64 = 5000

    let samples: [Sample]
    let counterAware: Bool
    // Per replica: its current sample (before `start` until first read), end, counter adjustment.
    var pos: [Int]
    let end: [Int]
    var adjust: [Double]
    // Per merge k ≥ 1 (index 0 unused): whether a and b still have a sample, the last time
    // returned (once `started`), the penalties and which side was returned last.
    var aLive: [Bool]
    var bLive: [Bool]
    var lastT: [Int64]
    var started: [Bool]
    var penA: [Int64]
    var penB: [Int64]
    var useA: [Bool]

    init(samples: [Sample], bounds: [Range<Int>], counterAware: Bool) {
        let n = bounds.count
        self.samples = samples
        self.counterAware = counterAware
        pos = bounds.map { $0.lowerBound - 1 }
        end = bounds.map(\.upperBound)
        adjust = [Double](repeating: 0, count: n)
        aLive = [Bool](repeating: false, count: n)
        bLive = [Bool](repeating: false, count: n)
        lastT = [Int64](repeating: .min, count: n)
        started = [Bool](repeating: false, count: n)
        penA = [Int64](repeating: 0, count: n)
        penB = [Int64](repeating: 0, count: n)
        useA = [Bool](repeating: true, count: n)
        // Built as Thanos builds the chain: each merge reads the first sample of both sides.
        for k in 1 ..< max(n, 1) {
            aLive[k] = next(k - 1)
            bLive[k] = replicaNext(k)
        }
    }

    /// Appends the merged samples with `t >= mint` to `out`.
    mutating func run(from mint: Int64, into out: inout [Sample]) {
        guard !end.isEmpty else { return }
        let top = end.count - 1
        while next(top) {
            let r = current(top)
            let s = samples[pos[r]]
            if s.t >= mint { out.append(Sample(t: s.t, v: value(r))) }
        }
    }

    // MARK: One replica

    private mutating func replicaNext(_ r: Int) -> Bool {
        if pos[r] < end[r] { pos[r] += 1 }
        return pos[r] < end[r]
    }

    /// Moves forward to the first sample at or after `t` (never back, like a chunk iterator).
    private mutating func replicaSeek(_ r: Int, _ t: Int64) -> Bool {
        while pos[r] < end[r] && samples[pos[r]].t < t { pos[r] += 1 }
        return pos[r] < end[r]
    }

    private func value(_ r: Int) -> Double {
        let v = samples[pos[r]].v
        return adjust[r] == 0 ? v : v + adjust[r]
    }

    /// A replica that reads below the counter value already returned missed part of it.
    private mutating func replicaAdjust(_ r: Int, to last: Double) {
        let v = value(r)
        if last > v { adjust[r] += last - v }
    }

    // MARK: Merges (id 0 is replica 0 itself)

    /// The replica whose sample id `k` is on.
    private func current(_ id: Int) -> Int {
        var k = id
        while k > 0 && useA[k] { k -= 1 }
        return k
    }

    private mutating func next(_ id: Int) -> Bool {
        id == 0 ? replicaNext(0) : mergeNext(id)
    }

    private mutating func seek(_ id: Int, _ t: Int64) -> Bool {
        if id == 0 { return replicaSeek(0, t) }
        // Step by step: jumping would skip the samples (and switches) a gap needs.
        while samples[pos[current(id)]].t < t {
            if !mergeNext(id) { return false }
        }
        return true
    }

    private mutating func adjustAll(_ id: Int, to last: Double) {
        if id == 0 { replicaAdjust(0, to: last); return }
        if aLive[id] { adjustAll(id - 1, to: last) }
        if bLive[id] { replicaAdjust(id, to: last) }
    }

    private mutating func mergeNext(_ k: Int) -> Bool {
        let wasA = useA[k]
        // The value returned last (before the first step: a's first sample, as in Thanos).
        var last: Double?
        if counterAware && (wasA ? aLive[k] : bLive[k]) { last = value(current(k)) }

        if aLive[k] { aLive[k] = seek(k - 1, target(k, penA[k])) }
        if bLive[k] { bLive[k] = replicaSeek(k, target(k, penB[k])) }

        let live: Bool
        if !aLive[k] {
            useA[k] = false
            if bLive[k] { lastT[k] = samples[pos[k]].t; started[k] = true; penB[k] = 0 }
            live = bLive[k]
        } else if !bLive[k] {
            useA[k] = true
            lastT[k] = samples[pos[current(k - 1)]].t; started[k] = true; penA[k] = 0
            live = true
        } else {
            let ta = samples[pos[current(k - 1)]].t, tb = samples[pos[k]].t
            useA[k] = ta <= tb
            let t = useA[k] ? ta : tb
            // The side not taken must skip twice the last gap, so it does not add samples in between.
            let penalty = started[k] ? Self.saturating(2, times: Self.saturating(t, minus: lastT[k])) : Self.initialPenalty
            if useA[k] { penA[k] = 0; penB[k] = penalty } else { penA[k] = penalty; penB[k] = 0 }
            lastT[k] = t; started[k] = true
            live = true
        }
        if let last, useA[k] != wasA { adjustAll(k, to: last) }
        return live
    }

    /// `lastT + 1 + penalty`: the first time a side may return next.
    private func target(_ k: Int, _ penalty: Int64) -> Int64 {
        guard started[k] else { return .min }
        return Self.saturating(Self.saturating(lastT[k], plus: 1), plus: penalty)
    }

    private static func saturating(_ a: Int64, plus b: Int64) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? (b > 0 ? .max : .min) : r
    }

    private static func saturating(_ a: Int64, minus b: Int64) -> Int64 {
        let (r, o) = a.subtractingReportingOverflow(b)
        return o ? (b < 0 ? .max : .min) : r
    }

    private static func saturating(_ a: Int64, times b: Int64) -> Int64 {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? ((a < 0) != (b < 0) ? .min : .max) : r
    }
}
