import StrataModel
import StrataStorage

/// One block's share of a counter read (`rate`, `increase`, … over downsampled data): the
/// counter with resets applied inside the block, and the raw values at its two ends.
///
/// A downsampled block's counter comes out as a running total (every reset added back), so it
/// ends above the raw counter once a reset happened in it. Read block by block, the next
/// block's first raw value would look like a reset and `rate` would count that whole value
/// again. Thanos applies resets over a series' chunks from all blocks at once
/// (`ApplyCounterResetsSeriesIterator`); `chain` does the same over segments, using each one's
/// raw ends to judge the step between them.
public struct CounterSegment: Sendable {
    /// The totals in the read range, in time order.
    public var samples: [Sample]
    /// The raw value the totals start from.
    public var first: Double
    /// The total at the segment's last raw sample (which may lie after the read range).
    public var total: Double
    /// That last raw value.
    public var last: Double

    /// Raw samples (a block that was not downsampled) as a segment.
    public static func raw(_ samples: [Sample]) -> CounterSegment? {
        var resets = CounterResets()
        var out: [Sample] = []
        out.reserveCapacity(samples.count)
        for s in samples { if let c = resets.add(t: s.t, v: s.v) { out.append(c) } }
        return resets.started ? CounterSegment(samples: out, first: resets.first, total: resets.total, last: resets.lastV) : nil
    }

    /// The counter of a series' aggregate chunks (time order), read as `AggrSelection.counter`
    /// reads it, with `[mint, maxt]` kept.
    public static func aggregate(_ chunks: [[UInt8]], mint: Int64, maxt: Int64) throws -> CounterSegment? {
        var resets = CounterResets()
        let all = try AggrChunk.counterSamples(chunks, chunkStarts: false, resets: &resets)
        guard resets.started else { return nil }
        return CounterSegment(samples: all.filter { $0.t >= mint && $0.t <= maxt }, first: resets.first, total: resets.total, last: resets.lastV)
    }

    /// Keeps the last sample of each `resolution` window: finer data read beside coarser data,
    /// so that a range spanning both sees one spacing (with 1h points then 5m points, `rate`
    /// takes the 5m spacing for the whole range and misjudges how far to extrapolate its start).
    public mutating func thin(to resolution: Int64) {
        guard resolution > 0, samples.count > 1 else { return }
        var kept: [Sample] = []
        kept.reserveCapacity(samples.count)
        for s in samples {
            if let last = kept.last, Downsampler.currentWindow(last.t, resolution) == Downsampler.currentWindow(s.t, resolution) {
                kept[kept.count - 1] = s
            } else {
                kept.append(s)
            }
        }
        samples = kept
    }

    /// Appends the segments (in time order) as one counter to `out`: each segment continues
    /// the previous one's total by the step between their raw ends (a reset if the next one
    /// starts lower). The result is a running total, as Thanos reads downsampled counters: it
    /// starts at the first raw value and never goes down. A segment's samples at or before ones
    /// already taken (overlapping blocks) are left out.
    public static func chain(_ segments: [CounterSegment], into out: inout [Sample]) {
        let start = out.count
        var end: (total: Double, raw: Double)?
        for seg in segments {
            var offset = 0.0
            if let end {
                let step = seg.first >= end.raw ? seg.first - end.raw : seg.first
                offset = end.total + step - seg.first
            }
            for s in seg.samples where out.count == start || s.t > out[out.count - 1].t {
                out.append(Sample(t: s.t, v: s.v + offset))
            }
            end = (seg.total + offset, seg.last)
        }
    }
}

/// A series that can give its counter as a segment (a block's series).
public protocol CounterSegmentSource: StorageSeries {
    func counterSegment(mint: Int64, maxt: Int64) throws -> CounterSegment?
}

extension BlockSeries: CounterSegmentSource {
    public func counterSegment(mint: Int64, maxt: Int64) throws -> CounterSegment? {
        var aggregates: [[UInt8]] = []
        var raw = false
        for c in chunks where c.maxt >= mint && c.mint <= maxt {
            try block.chunkReader.withChunk(c.ref) { enc, data in
                if enc == AggrChunk.encoding { aggregates.append(Array(data)) } else { raw = true }
            }
        }
        if raw || aggregates.isEmpty {
            var samples: [Sample] = []
            try self.samples(mint: mint, maxt: maxt, into: &samples)
            return .raw(samples)
        }
        do { return try .aggregate(aggregates, mint: mint, maxt: maxt) } catch {
            throw StorageError.wrapping(error, "block \(block.meta.ulid): series \(labels)", fallback: .corrupt)
        }
    }
}
