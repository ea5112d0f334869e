import StrataModel
import StrataPromQL

/// A range query answered in pieces, as Thanos' query-frontend answers it: the steps are split
/// at multiples of the cache's split interval; in each piece the steps older than the
/// freshness limit come from the cache where it has them (evaluating only the steps it lacks,
/// and storing the result), the newer ones are evaluated every time. The pieces are joined
/// series by series, so the answer is the one a single evaluation gives: each step of a range
/// query is evaluated on its own.
struct SplitRangeQuery {
    let cache: ResultsCache
    /// The cache key's query part (everything but the time range).
    let key: String
    let start: Int64
    let end: Int64
    let step: Int64
    /// The wall clock (ms).
    let now: Int64
    /// Evaluates the steps `first ... last` (on this query's grid): the result and the stored
    /// data it read.
    let evaluate: (_ first: Int64, _ last: Int64) throws(QueryError) -> (result: QueryResult, data: ClosedRange<Int64>)

    /// The joined answer, or nil when a piece came with annotations (warnings or infos, whose
    /// order and number a single evaluation decides): then the caller evaluates it whole.
    func run() throws(QueryError) -> QueryResult? {
        let interval = cache.options.splitInterval
        let freshFrom = now - cache.options.maxFreshness
        var joined: [Labels: [Sample]] = [:]
        var from = Self.floorDiv(start, interval) * interval
        while from <= end {
            let first = firstStep(atOrAfter: Swift.max(start, from))
            let last = lastStep(atOrBefore: Swift.min(end, from + interval - 1))
            if first <= last {
                let settled = lastStep(atOrBefore: Swift.min(last, freshFrom))
                if settled >= first {
                    guard let series = try cached(ResultsCache.Key(query: key, interval: from), first, settled) else { return nil }
                    append(series, first, settled, to: &joined)
                }
                let freshFirst = Swift.max(first, settled + step)
                if freshFirst <= last {
                    guard let series = try evaluated(freshFirst, last)?.series else { return nil }
                    append(series, freshFirst, last, to: &joined)
                }
            }
            guard from <= Int64.max - interval else { break }
            from += interval
        }
        let matrix = joined.map { SeriesPoints(labels: $0.key, points: $0.value) }.sorted { Labels.compare($0.labels, $1.labels) < 0 }
        return QueryResult(value: .matrix(matrix), annotations: [])
    }

    /// Steps `first ... last` of one interval, from the cache (evaluating what it lacks at
    /// the end) or evaluated and stored.
    private func cached(_ key: ResultsCache.Key, _ first: Int64, _ last: Int64) throws(QueryError) -> [SeriesPoints]? {
        let generation = cache.generation
        // An entry that starts no later and reaches at least the step before `first` (entries
        // hold every step from their start to their end).
        if let entry = cache.get(key), entry.start <= first, entry.end + step >= first {
            if entry.end >= last {
                cache.hits.add(1, ordering: .relaxed)
                return entry.series
            }
            // The entry ends early (a dashboard moving forward): evaluate the rest and extend it.
            cache.misses.add(1, ordering: .relaxed)
            guard let more = try evaluated(entry.end + step, last) else { return nil }
            var joined: [Labels: [Sample]] = [:]
            append(entry.series, entry.start, entry.end, to: &joined)
            append(more.series, entry.end + step, last, to: &joined)
            let series = joined.map { SeriesPoints(labels: $0.key, points: $0.value) }
            let data = Swift.min(entry.data.lowerBound, more.data.lowerBound) ... Swift.max(entry.data.upperBound, more.data.upperBound)
            cache.put(key, ResultsCache.Entry(start: entry.start, end: last, series: series, data: data, bytes: ResultsCache.size(of: series)),
                      ifUnchangedSince: generation)
            return series
        }
        cache.misses.add(1, ordering: .relaxed)
        guard let computed = try evaluated(first, last) else { return nil }
        cache.put(key, ResultsCache.Entry(start: first, end: last, series: computed.series, data: computed.data,
                                          bytes: ResultsCache.size(of: computed.series)),
                  ifUnchangedSince: generation)
        return computed.series
    }

    private func evaluated(_ first: Int64, _ last: Int64) throws(QueryError) -> (series: [SeriesPoints], data: ClosedRange<Int64>)? {
        let (result, data) = try evaluate(first, last)
        guard result.annotations.isEmpty, case .matrix(let series) = result.value else { return nil }
        return (series, data)
    }

    /// Appends each series' points in `first ... last` (the pieces come in time order).
    private func append(_ series: [SeriesPoints], _ first: Int64, _ last: Int64, to joined: inout [Labels: [Sample]]) {
        for s in series {
            var points = s.points[...]
            if let i = points.firstIndex(where: { $0.t >= first }) { points = points[i...] } else { continue }
            if let j = points.firstIndex(where: { $0.t > last }) { points = points[..<j] }
            if points.isEmpty { continue }
            joined[s.labels, default: []].append(contentsOf: points)
        }
    }

    private func firstStep(atOrAfter t: Int64) -> Int64 { t <= start ? start : start + Self.ceilDiv(t - start, step) * step }
    private func lastStep(atOrBefore t: Int64) -> Int64 { t < start ? start - step : start + (t - start) / step * step }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { (a + b - 1) / b }
}
