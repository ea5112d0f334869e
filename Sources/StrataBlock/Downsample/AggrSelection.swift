import StrataModel
import StrataStorage

/// Which aggregate a query reads from a downsampled series, chosen from the PromQL function
/// its selector feeds as Thanos' querier chooses (`pkg/query/querier.go`, `aggrsFromFunc`):
/// `min`/`min_*` → min, `max`/`max_*` → max, `count`/`count_*` → count, `sum_*` → sum,
/// `rate`/`increase`/`irate`/`resets`/`xrate`/`xincrease` → the counter (resets applied across
/// chunks; see `AggrChunk.counterSamples` for the one point left out), anything else (plain `sum` included: it wants the samples) → sum / count, the
/// window's average.
public enum AggrSelection: Sendable, Equatable {
    case count, sum, min, max, counter, average

    public init(function f: String?) {
        let f = f ?? ""
        if f == "min" || f.hasPrefix("min_") { self = .min }
        else if f == "max" || f.hasPrefix("max_") { self = .max }
        else if f == "count" || f.hasPrefix("count_") { self = .count }
        else if f.hasPrefix("sum_") { self = .sum }
        else if ["increase", "rate", "irate", "resets", "xincrease", "xrate"].contains(f) { self = .counter }
        else { self = .average }
    }

    /// Appends the samples with `mint <= t <= maxt` of a series' aggregate chunks (in time
    /// order) as this selection reads them.
    public func read(_ chunks: [[UInt8]], mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        func keep(_ s: Sample) { if s.t >= mint && s.t <= maxt { out.append(s) } }
        switch self {
        case .counter:
            for s in try AggrChunk.counterSamples(chunks, chunkStarts: false) { keep(s) }
        case .average:
            for c in chunks {
                let counts = try AggrChunk.samples(c, .count), sums = try AggrChunk.samples(c, .sum)
                // Both hold the same windows; a chunk missing either has no average to give.
                guard counts.count == sums.count else {
                    throw StorageError(.corrupt, "aggregate chunk: \(counts.count) count and \(sums.count) sum samples")
                }
                for (n, s) in zip(counts, sums) where n.t == s.t { keep(Sample(t: s.t, v: s.v / n.v)) }
            }
        case .count, .sum, .min, .max:
            let aggr: AggrChunk.Aggr = self == .count ? .count : self == .sum ? .sum : self == .min ? .min : .max
            for c in chunks { for s in try AggrChunk.samples(c, aggr) { keep(s) } }
        }
    }
}
