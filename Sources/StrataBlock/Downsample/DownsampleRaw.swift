import StrataEncoding
import StrataModel
import StrataStorage

/// Raw samples to aggregate chunks (Thanos' `DownsampleRaw`), and the window arithmetic both
/// downsampling steps share.
extension Downsampler {
    /// Aggregates a series' raw samples (time order) into aggregate chunks of `resolution`
    /// windows. NaNs (stale markers too) are dropped; each window's sample sits at the window's
    /// last millisecond, or at the batch's last sample for the batch's last window.
    public static func aggregateRaw(_ samples: [Sample], resolution: Int64) -> [EncodedChunk] {
        precondition(resolution > 0, "resolution must be positive")
        guard let first = samples.first, let last = samples.last else { return [] }
        // Thanos assumes 1-minute raw data to size the chunks.
        let numChunks = targetChunkCount(mint: first.t, maxt: last.t, inRes: 60_000, outRes: resolution, count: samples.count)
        var out: [EncodedChunk] = []
        out.reserveCapacity(numChunks)
        rawLoop(samples, resolution: resolution, numChunks: numChunks, into: &out)
        return out
    }

    /// Cuts `data` into about `numChunks` batches, each ending at a window's end, and encodes one
    /// aggregate chunk per batch (`downsampleRawLoop`). NaNs are dropped per batch, after cutting.
    static func rawLoop(_ data: [Sample], resolution: Int64, numChunks: Int, into out: inout [EncodedChunk]) {
        let batchSize = data.count / numChunks + 1
        var batch: [Sample] = []
        var i = 0
        while i < data.count {
            var j = min(i + batchSize, data.count)
            // Never split a window: take the rest of the window the batch ends in.
            let window = currentWindow(data[j - 1].t, resolution)
            while j < data.count && data[j].t <= window { j += 1 }
            batch.removeAll(keepingCapacity: true)
            for s in data[i ..< j] where !s.v.isNaN { batch.append(s) }
            i = j
            if !batch.isEmpty { out.append(rawBatch(batch, resolution: resolution)) }
        }
    }

    /// One aggregate chunk for a batch of raw samples (`downsampleFloatBatch`). The counter
    /// sub-chunk starts with the first raw sample and ends with the last raw value repeated at
    /// the last window's timestamp: readers applying counter resets across chunks need both.
    static func rawBatch(_ batch: [Sample], resolution: Int64) -> EncodedChunk {
        var b = AggrChunkBuilder()
        for a in AggrChunk.Aggr.allCases { b.start(a) }
        b.append(.counter, batch[0].t, batch[0].v)
        let lastT = forEachWindow(batch, resolution: resolution) { t, w in
            b.widen(t)
            b.append(.count, t, Double(w.count))
            b.append(.sum, t, w.sum)
            b.append(.min, t, w.min)
            b.append(.max, t, w.max)
            b.append(.counter, t, w.counter)
        }
        b.append(.counter, lastT, batch[batch.count - 1].v)
        return b.chunk()
    }

    /// The last millisecond of the `r`-wide window `t` falls in (block ranges are `[from, to)`).
    @inline(__always)
    static func currentWindow(_ t: Int64, _ r: Int64) -> Int64 { t &- t % r &+ r &- 1 }

    /// How many chunks to cut a series into so each holds at most ~140 samples
    /// (`targetChunkCount`): the windows the range could hold, scaled by how densely `count`
    /// samples at `inRes` fill it.
    static func targetChunkCount(mint: Int64, maxt: Int64, inRes: Int64, outRes: Int64, count: Int) -> Int {
        let maxSamples = Double((maxt &- mint) / outRes)
        let fullness = Swift.min(1, Double(count) / (Double(maxt &- mint) / Double(inRes)))
        let f = maxSamples * fullness
        // Go converts NaN and out-of-range floats to Int64.min on amd64; Swift would trap.
        let expSamples = (f.isFinite && abs(f) < 9.2e18 ? Int(f) : Int.min) &+ 1
        // The smallest x with expSamples / x <= 140 (Thanos counts x up to it).
        return expSamples <= 140 ? 1 : expSamples / 141 + 1
    }

    /// Walks time-ordered samples window by window (`downsampleBatch`), calling `add` with each
    /// window's timestamp and aggregate; returns the last window's timestamp. Window timestamps
    /// are capped at the last sample's, so a batch never reaches into the next one's range.
    @discardableResult
    static func forEachWindow(_ data: [Sample], resolution: Int64, _ add: (Int64, WindowAggregator) -> Void) -> Int64 {
        var nextT: Int64 = -1
        let lastT = data[data.count - 1].t
        var w = WindowAggregator()
        for s in data {
            if s.t > nextT {
                if nextT != -1 { add(nextT, w) }
                w.reset()
                nextT = Swift.min(currentWindow(s.t, resolution), lastT)
            }
            w.add(s.v)
        }
        if w.total > 0 { add(nextT, w) }
        return nextT
    }
}

/// One window's count, sum, min and max, and the reset-corrected counter since the batch began
/// (Thanos' `floatAggregator`).
struct WindowAggregator {
    var total = 0
    var count = 0
    var sum = 0.0
    var min = 0.0
    var max = 0.0
    var counter = 0.0
    var last = 0.0

    mutating func reset() {
        count = 0
        sum = 0
        min = .greatestFiniteMagnitude
        max = -.greatestFiniteMagnitude
    }

    mutating func add(_ v: Double) {
        if total == 0 {
            counter = v
        } else {
            // A drop is a counter reset: the new value is what was counted since.
            counter += v < last ? v : v - last
        }
        last = v
        sum += v
        count += 1
        total += 1
        if v < min { min = v }
        if v > max { max = v }
    }
}

/// Builds the five XOR sub-chunks of one aggregate chunk; an aggregate without samples is absent.
struct AggrChunkBuilder {
    var bytes: [[UInt8]] = Array(repeating: [], count: AggrChunk.Aggr.allCases.count)
    var apps: [XORAppender] = Array(repeating: XORAppender(), count: AggrChunk.Aggr.allCases.count)
    var mint = Int64.max
    var maxt = Int64.min

    mutating func start(_ a: AggrChunk.Aggr) {
        bytes[a.rawValue] = XORChunk.newBytes()
        apps[a.rawValue] = XORAppender()
    }

    mutating func append(_ a: AggrChunk.Aggr, _ t: Int64, _ v: Double) {
        apps[a.rawValue].append(t: t, v: v, to: &bytes[a.rawValue])
    }

    /// Widens the chunk's time range to a window timestamp.
    mutating func widen(_ t: Int64) {
        if t < mint { mint = t }
        if t > maxt { maxt = t }
    }

    func chunk() -> EncodedChunk {
        EncodedChunk(encoding: AggrChunk.encoding, minTime: mint, maxTime: maxt,
                     bytes: AggrChunk.encode(bytes.indices.map { apps[$0].count == 0 ? nil : bytes[$0] }))
    }
}
