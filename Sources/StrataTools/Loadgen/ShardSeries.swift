import StrataEncoding

/// The series one shard sends, with everything that changes while it sends: values, churn
/// generations, label bytes, and how many samples of each the receiver accepted. Owned by one
/// shard's task; never shared.
///
/// A shard walks positions `round * count + local`: every series once per scrape round, in the
/// same order, so each series' samples leave in timestamp order (as Prometheus' queue manager
/// sends them).
///
/// `@unchecked Sendable`: made before the run and handed to the one task that sends it.
final class ShardSeries: @unchecked Sendable {
    let workload: Workload
    /// Global series numbers of this shard, ascending.
    let series: [Int]
    /// Every series' encoded `Label` fields, back to back; churn appends new ones.
    private var arena: [UInt8] = []
    private var labelStart: [Int]
    private var labelCount: [Int]
    private var maxLabelCount = 0
    private var models: [ValueModel]
    /// Each series' value state (ticks for counters and gauges; see `ValueModel`).
    private var values: [Double]
    private var seeds: [UInt64]
    private var generations: [UInt32]
    private(set) var accepted: [UInt32]
    /// Native histogram series (`nativeSlot[i] >= 0`, else -1): their layout, bucket counts (back
    /// to back from `nativeBucketStart[slot]`) and sum; `values` holds their count.
    private var nativeSlot: [Int32]
    private var nativeLayouts: [NativeHistogramLayout] = []
    private var nativeBucketStart: [Int] = []
    private var nativeBuckets: [UInt64] = []
    private var nativeSums: [Double] = []
    /// The most bytes a native histogram sample of this shard takes besides its labels.
    private var maxNativeBytes = 0
    /// Samples the receiver accepted of series generations that churn has replaced.
    private(set) var retired: [(series: Int, generation: UInt32, accepted: UInt32)] = []

    /// The next sample to encode: round `position / count`, series `position % count`.
    private(set) var position: Int64 = 0
    private var roundTimestamp: Int64 = 0
    private var roundStarted: Int64 = -1
    private var epoch: Int64 = 0

    var count: Int { series.count }

    init(workload: Workload, series: [Int], labels: [[UInt8]]) {
        self.workload = workload
        self.series = series
        labelStart = []
        labelCount = []
        arena.reserveCapacity(labels.reduce(0) { $0 + $1.count })
        models = series.map { workload.model(series: $0) }
        let seeds = series.map { workload.seed(series: $0, generation: 0) }
        self.seeds = seeds
        values = zip(series, seeds).map { workload.startState(series: $0, seed: $1) }
        generations = Array(repeating: 0, count: series.count)
        accepted = Array(repeating: 0, count: series.count)
        nativeSlot = Array(repeating: -1, count: series.count)
        for (i, s) in series.enumerated() {
            guard let layout = workload.nativeLayout(series: s) else { continue }
            nativeSlot[i] = Int32(nativeLayouts.count)
            nativeLayouts.append(layout)
            nativeBucketStart.append(nativeBuckets.count)
            nativeBuckets += repeatElement(0, count: layout.bucketCount)
            nativeSums.append(0)
            maxNativeBytes = max(maxNativeBytes, layout.maxEncodedBytes)
        }
        for l in labels { setLabels(nil, l) }
    }

    /// Stores series `i`'s encoded labels (appends a new series when `i` is nil).
    private func setLabels(_ i: Int?, _ l: [UInt8]) {
        if let i {
            labelStart[i] = arena.count
            labelCount[i] = l.count
        } else {
            labelStart.append(arena.count)
            labelCount.append(l.count)
        }
        arena += l
        maxLabelCount = max(maxLabelCount, l.count)
    }

    /// Encodes up to `limit` samples into `w` as `WriteRequest.timeseries` entries, one sample
    /// each. `timestamp(round)` gives a round's timestamp when the round starts; `epochOf` maps a
    /// timestamp to its churn epoch. A batch ends early where churn replaces series, so every
    /// batch belongs to one generation of each series. Returns the samples encoded.
    func encode(into w: ProtoWriter, limit: Int, roundLimit: Int64, timestamp: (Int64) -> Int64,
                epochOf: (Int64) -> Int64) -> Int {
        let n = Int64(series.count)
        guard n > 0 else { return 0 }
        let seconds = Double(workload.intervalMs) / 1000
        var done = 0
        while done < limit {
            let round = position / n
            if round >= roundLimit { break }
            let first = Int(position % n)
            if first == 0 && roundStarted != round {
                roundTimestamp = timestamp(round)
                roundStarted = round
            }
            if first == 0 {
                let e = epochOf(roundTimestamp)
                if e != epoch {
                    if done > 0 { break }
                    churn(to: e)
                }
            }
            let take = min(limit - done, Int(n) - first)
            let ts = UInt64(bitPattern: roundTimestamp)
            // Sample { double value = 1; int64 timestamp = 2; } is the same size all round.
            let sampleLen = 1 + 8 + 1 + ProtoWriter.varintLength(ts)
            w.reserve(take * (maxLabelCount + 2 * 10 + max(sampleLen, maxNativeBytes)))
            var out = w.base + w.count
            arena.withUnsafeBytes { arena in
                labelStart.withUnsafeBufferPointer { starts in
                labelCount.withUnsafeBufferPointer { counts in
                models.withUnsafeBufferPointer { models in
                seeds.withUnsafeBufferPointer { seeds in
                values.withUnsafeMutableBufferPointer { values in
                    for local in first ..< first + take {
                        let model = models[local]
                        if model.kind == .nativeHistogram {
                            let labels = UnsafeRawBufferPointer(start: arena.baseAddress! + starts[local], count: counts[local])
                            out = nativeSample(local, count: &values[local], advance: round > 0, seed: seeds[local], model: model,
                                               round: round, seconds: seconds, labels: labels, timestamp: ts, at: out)
                            continue
                        }
                        var state = values[local]
                        if round > 0 {
                            state = model.next(state, seed: seeds[local], round: round, seconds: seconds)
                            values[local] = state
                        }
                        let v = model.value(state)
                        let labels = counts[local]
                        // TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
                        out.storeBytes(of: 0x0A, as: UInt8.self)
                        out = ProtoWriter.putVarint(out + 1, UInt64(labels + 2 + sampleLen))
                        out.copyMemory(from: arena.baseAddress! + starts[local], byteCount: labels)
                        out += labels
                        out.storeBytes(of: 0x12, as: UInt8.self)
                        out.storeBytes(of: UInt8(sampleLen), toByteOffset: 1, as: UInt8.self)
                        out.storeBytes(of: 0x09, toByteOffset: 2, as: UInt8.self)
                        out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 3, as: UInt64.self)
                        out.storeBytes(of: 0x10, toByteOffset: 11, as: UInt8.self)
                        out = ProtoWriter.putVarint(out + 12, ts)
                    }
                }}}}}
            }
            w.advance(to: out)
            done += take
            position += Int64(take)
        }
        return done
    }

    /// Advances series `local`'s native histogram by one scrape (unless it is the first) and writes
    /// its `TimeSeries` at `out`.
    private func nativeSample(_ local: Int, count: inout Double, advance: Bool, seed: UInt64, model: ValueModel, round: Int64,
                              seconds: Double, labels: UnsafeRawBufferPointer, timestamp: UInt64,
                              at out: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        let slot = Int(nativeSlot[local])
        let layout = nativeLayouts[slot]
        let start = nativeBucketStart[slot]
        return nativeBuckets.withUnsafeMutableBufferPointer { all in
            let buckets = UnsafeMutableBufferPointer(rebasing: all[start ..< start + layout.bucketCount])
            if advance {
                let observations = model.observations(seed, round, seconds)
                count += Double(layout.observe(observations, into: buckets))
                nativeSums[slot] += observations * layout.mean
            }
            return layout.encode(at: out, labels: labels, buckets: UnsafeBufferPointer(buckets), count: UInt64(count),
                                 sum: nativeSums[slot], timestamp: timestamp)
        }
    }

    /// Counts `count` samples from position `from` as accepted by the receiver.
    func acknowledge(from: Int64, count: Int) {
        let n = Int64(series.count)
        var local = Int(from % n)
        var left = count
        while left > 0 {
            let run = min(left, series.count - local)
            for i in local ..< local + run { accepted[i] &+= 1 }
            left -= run
            local = 0
        }
    }

    /// Moves to churn epoch `e`: series whose target churn replaced get their new labels, fresh
    /// values and a new seed; what the receiver accepted of the old generation is kept aside.
    private func churn(to e: Int64) {
        epoch = e
        let perTarget = workload.seriesPerTarget
        for i in series.indices {
            let s = series[i]
            let g = workload.generation(target: s / perTarget, epoch: e)
            guard g != generations[i] else { continue }
            retired.append((s, generations[i], accepted[i]))
            generations[i] = g
            accepted[i] = 0
            setLabels(i, workload.encodedLabels(series: s, generation: g))
            seeds[i] = workload.seed(series: s, generation: g)
            values[i] = workload.startState(series: s, seed: seeds[i])
            if nativeSlot[i] >= 0 {
                let slot = Int(nativeSlot[i])
                let start = nativeBucketStart[slot]
                for j in start ..< start + nativeLayouts[slot].bucketCount { nativeBuckets[j] = 0 }
                nativeSums[slot] = 0
            }
        }
        // Labels of replaced generations are dead weight: keep only the live ones.
        if arena.count > 2 * labelCount.reduce(0, +) {
            let old = arena
            arena = []
            for i in series.indices {
                let l = Array(old[labelStart[i] ..< labelStart[i] + labelCount[i]])
                setLabels(i, l)
            }
        }
    }

    /// Every (series, generation) this shard has had, with the samples accepted of each (0 for a
    /// generation the run ended before sending).
    var acceptedBySeries: [(series: Int, generation: UInt32, accepted: UInt32)] {
        retired + series.indices.map { (series[$0], generations[$0], accepted[$0]) }
    }
}

/// A growable byte buffer that the encoder writes through a raw pointer after reserving room: a
/// shard's only request memory, reused for every request.
final class ProtoWriter {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func reset() { count = 0 }

    /// Makes room for `n` more bytes.
    @inline(__always)
    func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private func grow(_ need: Int) {
        var c = capacity
        while c < need { c *= 2 }
        let b = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        b.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = b
        capacity = c
    }

    /// Moves the end to `p`, a pointer into the reserved space written by the caller.
    func advance(to p: UnsafeMutableRawPointer) {
        count = p - base
        precondition(count <= capacity)
    }

    /// Writes `v` as a varint at `p`; returns the byte after it.
    @inline(__always)
    static func putVarint(_ p: UnsafeMutableRawPointer, _ v: UInt64) -> UnsafeMutableRawPointer {
        var p = p, v = v
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
            p += 1
            v >>= 7
        }
        p.storeBytes(of: UInt8(v), as: UInt8.self)
        return p + 1
    }

    @inline(__always)
    static func varintLength(_ v: UInt64) -> Int {
        v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7
    }
}
