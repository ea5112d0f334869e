import StrataEncoding
import StrataModel
import StrataStorage

/// Aggregate chunks to coarser aggregate chunks (Thanos' `downsampleAggr` for float series).
extension Downsampler {
    /// Re-aggregates a series' aggregate chunks (time order, `inputResolution` windows) into
    /// `resolution` windows: counts and sums add up, min and max of mins and maxes, and the
    /// counter is rebuilt from the input counters with resets applied, keeping the first and
    /// last raw values.
    public static func aggregateAggr(_ chunks: [EncodedChunk], inputResolution: Int64, resolution: Int64) throws -> [EncodedChunk] {
        precondition(resolution > 0 && inputResolution > 0, "resolutions must be positive")
        guard let first = chunks.first, let last = chunks.last else { return [] }
        let numSamples = chunks.reduce(0) { $0 + AggrChunk.sampleCount($1.bytes) }
        let numChunks = targetChunkCount(mint: first.minTime, maxt: last.maxTime, inRes: inputResolution, outRes: resolution, count: numSamples)
        return try aggrLoop(chunks, resolution: resolution, numChunks: numChunks)
    }

    /// Groups whole input chunks into about `numChunks` batches (`downsampleAggrLoop`). Batches
    /// follow chunk boundaries because only there are the counter's true raw values known.
    static func aggrLoop(_ chunks: [EncodedChunk], resolution: Int64, numChunks: Int) throws -> [EncodedChunk] {
        // Thanos divides without a floor and fails on a zero batch size; one chunk per batch
        // is the same result it would give for numChunks == chunks.count.
        let batchSize = Swift.max(1, chunks.count / numChunks)
        var out: [EncodedChunk] = []
        var buf: [Sample] = []
        var i = 0
        while i < chunks.count {
            let j = Swift.min(i + batchSize, chunks.count)
            out.append(try aggrBatch(chunks[i ..< j], resolution: resolution, buf: &buf))
            i = j
        }
        return out
    }

    /// One output chunk from a batch of input chunks (`downsampleFloatAggrBatch`).
    static func aggrBatch(_ chunks: ArraySlice<EncodedChunk>, resolution: Int64, buf: inout [Sample]) throws -> EncodedChunk {
        var b = AggrChunkBuilder()
        // Counts are summed: each input sample is a window's count.
        let generic: [(AggrChunk.Aggr, KeyPath<WindowAggregator, Double>)] = [(.count, \.sum), (.sum, \.sum), (.min, \.min), (.max, \.max)]
        for (aggr, pick) in generic {
            buf.removeAll(keepingCapacity: true)
            for c in chunks { try expand(c.bytes, aggr, into: &buf) }
            if buf.isEmpty { continue }
            b.start(aggr)
            forEachWindow(buf, resolution: resolution) { t, w in
                b.widen(t)
                b.append(aggr, t, w[keyPath: pick])
            }
        }

        // The counter: input counters made monotonic across the batch, then aggregated again.
        buf.removeAll(keepingCapacity: true)
        var resets = CounterResets()
        var lastT: Int64 = 0 // Thanos drops samples that go back in time (and so negative ones)
        for c in chunks {
            try c.bytes.withUnsafeBytes { raw in
                try AggrChunk.forEachSample(raw, .counter) { t, v in
                    if let s = resets.add(t: t, v: v), !StaleNaN.isStale(s.v), s.t >= lastT {
                        buf.append(s)
                        lastT = s.t
                    }
                    return true
                }
            }
        }
        if !buf.isEmpty {
            b.start(.counter)
            b.append(.counter, buf[0].t, buf[0].v) // the first raw value
            let lastWindow = forEachWindow(buf, resolution: resolution) { t, w in
                b.widen(t)
                b.append(.counter, t, w.counter)
            }
            b.append(.counter, lastWindow, resets.lastV) // the last raw value
        }
        guard b.mint != .max else {
            throw StorageError(.invalid, "aggregate chunks \(chunks.map { "[\($0.minTime), \($0.maxTime)]" }) hold no samples")
        }
        return b.chunk()
    }

    /// Appends one aggregate's samples of a chunk to `out`, as Thanos' `expandXorChunkIterator`
    /// reads them: stale markers and samples going back in time (before 0 at first) skipped.
    static func expand(_ bytes: [UInt8], _ aggr: AggrChunk.Aggr, into out: inout [Sample]) throws {
        try bytes.withUnsafeBytes { raw in
            var lastT: Int64 = 0
            try AggrChunk.forEachSample(raw, aggr) { t, v in
                if !StaleNaN.isStale(v) && t >= lastT {
                    out.append(Sample(t: t, v: v))
                    lastT = t
                }
                return true
            }
        }
    }
}
