import StrataEncoding
import StrataModel
import StrataStorage

/// Vertical compaction of downsampled data: a series' aggregate chunks from several blocks of
/// one group (two writers of one stream, a range downsampled twice) merged into one run, as
/// Thanos' compactor does with `dedup.NewChunkSeriesMerger` instead of halting.
///
/// Chunks that overlap no other pass through as they are. A run of overlapping chunks is merged
/// window by window: each `resolution` window is taken whole from one input, so its count, sum,
/// min and max describe the same samples (Thanos dedups each aggregate on its own, which can
/// pair one replica's sum with another's count). Like Thanos' penalty dedup, the merge stays
/// with one input while it can, and switches only to an input with more samples in a window
/// (where the current one has a gap, or only part of the window), the earliest on a tie.
///
/// The counter cannot be copied the same way: its values are running totals from each chunk's
/// first raw value, so two inputs' numbers do not line up. Each input's counter is made
/// monotonic (resets applied), and the merged counter adds, window by window, the increase the
/// chosen input saw since the merged counter's previous point. It starts at the first input's
/// raw value, ends with the true last raw value of the chunk that holds the last window (the
/// convention readers use to spot a reset at the next chunk), and never goes down in between.
extension Downsampler {
    /// Thanos cuts merged aggregate chunks at 120 windows (`SeriesToChunkEncoder`).
    static let mergedChunkWindows = 120

    /// Merges one series' aggregate chunks from `inputs` (each input's chunks in time order,
    /// inputs in precedence order) into aggregate chunks in time order.
    static func mergeAggregates(_ inputs: [[EncodedChunk]], resolution: Int64) throws -> [EncodedChunk] {
        precondition(resolution > 0, "resolution must be positive")
        var all: [(chunk: EncodedChunk, input: Int)] = []
        for (i, chunks) in inputs.enumerated() { all += chunks.map { ($0, i) } }
        all.sort { $0.chunk.minTime != $1.chunk.minTime ? $0.chunk.minTime < $1.chunk.minTime : $0.input < $1.input }
        var out: [EncodedChunk] = []
        var run: [(chunk: EncodedChunk, input: Int)] = []
        var runMax = Int64.min
        func flush() throws {
            if run.count == 1 { out.append(run[0].chunk) } else if !run.isEmpty { out += try mergeRun(run, resolution: resolution) }
            run.removeAll()
        }
        for c in all {
            if !run.isEmpty && c.chunk.minTime > runMax { try flush() }
            if run.isEmpty { runMax = c.chunk.maxTime } else { runMax = Swift.max(runMax, c.chunk.maxTime) }
            run.append(c)
        }
        try flush()
        return out
    }

    /// One input's side of a run: its windows by key, and its counter made monotonic.
    private struct MergeInput {
        /// Window key (the window's last millisecond) → the samples of count, sum, min and max
        /// in that window.
        var windows: [Int64: [Sample?]] = [:]
        /// The counter with resets applied, chunk starts included (times strictly increasing).
        var counter: [Sample] = []
        /// Window key → index into `counter` of the window's counter point.
        var counterAt: [Int64: Int] = [:]
        /// The true last raw value of the chunk ending at each window key.
        var lastRaw: [Int64: Double] = [:]
    }

    private static func mergeRun(_ run: [(chunk: EncodedChunk, input: Int)], resolution: Int64) throws -> [EncodedChunk] {
        var inputs: [Int: MergeInput] = [:]
        for i in Set(run.map(\.input)) {
            var m = MergeInput()
            let chunks = run.filter { $0.input == i }.map(\.chunk)
            for c in chunks {
                for a in AggrChunk.Aggr.allCases where a != .counter {
                    for s in try AggrChunk.samples(c.bytes, a) where !StaleNaN.isStale(s.v) {
                        m.windows[currentWindow(s.t, resolution), default: [Sample?](repeating: nil, count: 4)][a.rawValue] = s
                    }
                }
                if let last = try AggrChunk.samples(c.bytes, .counter).last { m.lastRaw[currentWindow(last.t, resolution)] = last.v }
            }
            m.counter = try AggrChunk.counterSamples(chunks.map(\.bytes))
            // A window's point is the last one in it (a chunk's opening raw value comes before).
            for (k, s) in m.counter.enumerated() { m.counterAt[currentWindow(s.t, resolution)] = k }
            inputs[i] = m
        }

        // Each window from the input the previous one came from, unless another has more
        // samples in it (a window the current input holds only part of, or lacks); then from
        // the input with the most, the earliest on a tie.
        let keys = Set(inputs.values.flatMap(\.windows.keys)).sorted()
        let order = inputs.keys.sorted()
        var chosen: [(key: Int64, input: Int)] = []
        chosen.reserveCapacity(keys.count)
        for key in keys {
            func samples(_ i: Int) -> Double? { inputs[i]!.windows[key].map { $0[AggrChunk.Aggr.count.rawValue]?.v ?? 0 } }
            var best: (input: Int, count: Double)? = chosen.last.flatMap { c in samples(c.input).map { (c.input, $0) } }
            for i in order {
                if let n = samples(i), best == nil || n > best!.count { best = (i, n) }
            }
            chosen.append((key, best!.input))
        }

        var out: [EncodedChunk] = []
        var b = AggrChunkBuilder()
        var total: Double? // the merged counter's last value
        var lastCounterT = Int64.min
        var lastKey: Int64? // the window of the merged counter's last point
        var inChunk = 0
        func startChunk() {
            b = AggrChunkBuilder()
            for a in AggrChunk.Aggr.allCases { b.start(a) }
            // A later chunk opens where the previous one's counter ended (the same point, so
            // readers count nothing twice).
            if let total { b.append(.counter, lastCounterT, total) }
            inChunk = 0
        }
        startChunk()
        for (n, (key, i)) in chosen.enumerated() {
            if inChunk == mergedChunkWindows {
                if let total { b.append(.counter, lastCounterT, total) }
                out.append(b.chunk())
                startChunk()
            }
            let input = inputs[i]!
            let w = input.windows[key]!
            var t = Int64.min
            for a in AggrChunk.Aggr.allCases where a != .counter {
                guard let s = w[a.rawValue] else { continue }
                b.append(a, s.t, s.v)
                t = Swift.max(t, s.t)
            }
            b.widen(t)
            inChunk += 1
            if let k = input.counterAt[key] {
                let point = input.counter[k]
                if total == nil {
                    // The merged counter opens at the input's point before this window: the
                    // chunk's first raw value.
                    if k > 0 {
                        let open = input.counter[k - 1]
                        b.append(.counter, open.t, open.v)
                        total = open.v
                        lastCounterT = open.t
                    } else {
                        total = point.v
                    }
                }
                // The increase this input saw since the merged counter's last point: from its
                // own point in that window (the same raw sample, maybe at another time: a
                // chunk's last window sits at its last sample), else from its point just before
                // this one if that is no earlier (a chunk's opening raw value). Otherwise the
                // input resumes after a gap of its own that another input filled, and what it
                // saw since its last point is counted already: nothing is added.
                let since = lastKey.flatMap { input.counterAt[$0] } ?? (k > 0 && input.counter[k - 1].t >= lastCounterT ? k - 1 : k)
                total! += Swift.max(0, point.v - input.counter[since].v)
                if point.t > lastCounterT {
                    b.append(.counter, point.t, total!)
                    lastCounterT = point.t
                    lastKey = key
                }
            }
            if n == chosen.count - 1, total != nil {
                // The last raw value of the chunk this window ends, for readers' reset detection.
                b.append(.counter, lastCounterT, input.lastRaw[key] ?? total!)
            }
        }
        if inChunk > 0 { out.append(b.chunk()) }
        return out
    }
}
