import StrataEncoding
import StrataModel
import StrataStorage

/// Thanos' aggregate chunk (`downsample.AggrChunk`, chunk encoding 0xff): the chunk of a
/// downsampled block, holding one XOR sub-chunk per aggregate of the same windows.
///
/// Layout: five entries in `Aggr` order, each `len uvarint | encoding u8 | bytes`, where `len`
/// counts the sub-chunk's bytes without its encoding byte; an absent aggregate is a lone 0 length
/// (no encoding byte).
public enum AggrChunk {
    /// Thanos' `ChunkEncAggr`: the highest encoding byte, so Prometheus never takes it.
    public static let encoding: UInt8 = 0xff

    /// The aggregates, in the order the chunk stores them.
    public enum Aggr: Int, CaseIterable, Sendable {
        case count, sum, min, max, counter
    }

    /// Encodes five sub-chunks (XOR bytes, indexed by `Aggr.rawValue`; nil = absent).
    public static func encode(_ subChunks: [[UInt8]?]) -> [UInt8] {
        precondition(subChunks.count == Aggr.allCases.count, "an aggregate chunk has five entries")
        var out: [UInt8] = []
        out.reserveCapacity(subChunks.reduce(5) { $0 + ($1?.count ?? 0) + 2 })
        for c in subChunks {
            guard let c else { out.append(0); continue }
            Varint.appendUvarint(&out, UInt64(c.count))
            out.append(XORChunk.encoding)
            out.append(contentsOf: c)
        }
        return out
    }

    /// The XOR bytes of one aggregate, or nil when the chunk does not have it.
    public static func subChunk(_ bytes: [UInt8], _ aggr: Aggr) throws -> [UInt8]? {
        try bytes.withUnsafeBytes { buf in try locate(buf, aggr).map { Array(buf[$0]) } }
    }

    /// The samples of one aggregate, empty when the chunk does not have it.
    public static func samples(_ bytes: [UInt8], _ aggr: Aggr) throws -> [Sample] {
        var out: [Sample] = []
        try bytes.withUnsafeBytes { buf in try forEachSample(buf, aggr) { t, v in out.append(Sample(t: t, v: v)); return true } }
        return out
    }

    /// Calls `body(t, v)` for each sample of one aggregate (none when absent), straight from the
    /// chunk's bytes (e.g. a mapped segment); `body` returns false to stop.
    public static func forEachSample(_ buf: UnsafeRawBufferPointer, _ aggr: Aggr, _ body: (Int64, Double) -> Bool) throws {
        guard let range = try locate(buf, aggr) else { return }
        do {
            _ = try XORDecoder.decode(UnsafeRawBufferPointer(rebasing: buf[range]), body)
        } catch {
            throw StorageError(.corrupt, "aggregate chunk: corrupt \(aggr) sub-chunk: \(error)")
        }
    }

    /// The number of windows (samples of the `count` aggregate), 0 when absent or unreadable:
    /// what Thanos' `AggrChunk.NumSamples` reports and block stats count.
    public static func sampleCount(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { buf in
            guard let r = try? locate(buf, .count), r.count >= 2 else { return 0 }
            return Int(buf[r.lowerBound]) << 8 | Int(buf[r.lowerBound + 1])
        }
    }

    /// The byte range of an aggregate's XOR data (after its encoding byte), nil when absent.
    /// Walks the entries before it, checking each length against the bytes left.
    static func locate(_ buf: UnsafeRawBufferPointer, _ aggr: Aggr) throws -> Range<Int>? {
        var r = ByteReader(buf)
        for i in 0 ... aggr.rawValue {
            let len: Int
            do { len = try r.uvarintInt() } catch {
                throw StorageError(.corrupt, "aggregate chunk: truncated length of \(Aggr(rawValue: i)!) sub-chunk")
            }
            if len == 0 {
                if i == aggr.rawValue { return nil }
                continue
            }
            guard len < r.remaining else {
                throw StorageError(.corrupt, "aggregate chunk: \(Aggr(rawValue: i)!) sub-chunk of \(len) bytes overruns the chunk (\(r.remaining) left)")
            }
            let enc = buf[r.offset]
            let start = r.offset + 1
            r.offset = start + len
            if i == aggr.rawValue {
                guard enc == XORChunk.encoding else {
                    // 2 and 3 are Prometheus' histogram encodings: Thanos' native-histogram aggregates.
                    if enc == 2 || enc == 3 {
                        throw StorageError(.unsupported, "aggregate chunk: \(aggr) sub-chunk holds native histograms (encoding \(enc))")
                    }
                    throw StorageError(.corrupt, "aggregate chunk: \(aggr) sub-chunk has unknown encoding \(enc)")
                }
                return start ..< start + len
            }
        }
        return nil
    }
}

extension AggrChunk {
    /// The counter aggregate of a series' chunks (in time order) as one monotonic series, as
    /// Thanos' `ApplyCounterResetsSeriesIterator` makes it for `rate` and friends: resets, both
    /// within a chunk and between chunks, are added back, NaNs are skipped, and the duplicated
    /// last timestamp of each chunk (which carries the true last raw value) is not emitted but
    /// used to detect a reset at the next chunk's first sample. Overlapping chunks never make
    /// the series go back in time.
    ///
    /// With `chunkStarts: false` (what queries read), the raw sample that opens every chunk is
    /// used for reset detection but not emitted, unlike Thanos: it sits one scrape interval
    /// after the previous chunk's (or block's) last window, and that lone, closely spaced point
    /// skews `rate`'s extrapolation (by up to a third for a 3h range over 1h data, next to every
    /// chunk and block boundary) without adding an increase the first window does not hold.
    public static func counterSamples(_ chunks: [[UInt8]], chunkStarts: Bool = true) throws -> [Sample] {
        var resets = CounterResets()
        return try counterSamples(chunks, chunkStarts: chunkStarts, resets: &resets)
    }

    /// The same, leaving the reset state (first and last raw values, the total) in `resets`.
    static func counterSamples(_ chunks: [[UInt8]], chunkStarts: Bool, resets: inout CounterResets) throws -> [Sample] {
        var out: [Sample] = []
        for c in chunks {
            var first = true
            try c.withUnsafeBytes { buf in
                try forEachSample(buf, .counter) { t, v in
                    let s = resets.add(t: t, v: v)
                    if let s, chunkStarts || !first { out.append(s) }
                    first = false
                    return true
                }
            }
        }
        return out
    }
}

/// The state of `ApplyCounterResetsSeriesIterator` over a run of counter samples.
struct CounterResets {
    private(set) var started = false
    /// The first raw value: where the total starts.
    private(set) var first: Double = 0
    private(set) var lastT: Int64 = 0
    /// The last raw value seen (updated by the duplicated-timestamp sample too).
    private(set) var lastV: Double = 0
    private(set) var total: Double = 0

    /// Takes the next sample; returns the corrected one to emit, or nil if it is not emitted.
    mutating func add(t: Int64, v: Double) -> Sample? {
        if v.isNaN { return nil }
        if !started {
            started = true
            lastT = t; lastV = v; total = v; first = v
            return Sample(t: t, v: total)
        }
        if t > lastT {
            total += v >= lastV ? v - lastV : v
            lastT = t; lastV = v
            return Sample(t: t, v: total)
        }
        // The same timestamp again is a chunk's true last raw value; earlier ones are overlap.
        if t == lastT { lastV = v }
        return nil
    }
}
