import StrataModel
import StrataPromQL

/// A range query answered in pieces, as Thanos' query-frontend answers it: the steps are split
/// at multiples of the cache's split interval; in each piece the steps older than the
/// freshness limit come from the cache where it has them (evaluating only the steps it lacks,
/// and storing the result), the newer ones are evaluated every time. The pieces are joined
/// series by series, so the answer is the one a single evaluation gives: each step of a range
/// query is evaluated on its own. When the cache has nothing for the query, it is evaluated
/// once, whole, and its answer cut into entries: a first request costs what it would without
/// the cache.
struct SplitRangeQuery {
    let cache: ResultsCache
    /// The cache key's query part (everything but the time range).
    let key: String
    let start: Int64
    let end: Int64
    let step: Int64
    /// The wall clock (ms).
    let now: Int64
    /// Evaluates the steps `first ... last` (on this query's grid).
    let evaluate: (_ first: Int64, _ last: Int64) throws(QueryError) -> QueryResult
    /// The stored data an evaluation of `first ... last` reads.
    let dataRange: (_ first: Int64, _ last: Int64) -> ClosedRange<Int64>

    /// One split interval's steps: `first ... settled` may be cached, the rest is fresh.
    struct Piece {
        let key: ResultsCache.Key
        let first: Int64
        let settled: Int64
        let last: Int64
    }

    /// The answer, or nil when a piece came with annotations (warnings or infos, whose order
    /// and number a single evaluation decides): then the caller evaluates it whole.
    func run() throws(QueryError) -> QueryResult? {
        let pieces = plan()
        if !pieces.contains(where: { usable(cache.get($0.key), for: $0) }) { return try evaluateWhole(pieces) }
        var joined: [Labels: [Sample]] = [:]
        for p in pieces {
            if p.settled >= p.first {
                guard let series = try cached(p) else { return nil }
                append(series, p.first, p.settled, to: &joined)
            }
            let freshFirst = Swift.max(p.first, p.settled + step)
            if freshFirst <= p.last {
                guard let series = try evaluated(freshFirst, p.last) else { return nil }
                append(series, freshFirst, p.last, to: &joined)
            }
        }
        let matrix = joined.map { SeriesPoints(labels: $0.key, points: $0.value) }.sorted { Labels.compare($0.labels, $1.labels) < 0 }
        return QueryResult(value: .matrix(matrix), annotations: [])
    }

    /// The query's steps by split interval.
    func plan() -> [Piece] {
        let interval = cache.options.splitInterval
        let freshFrom = now - cache.options.maxFreshness
        var pieces: [Piece] = []
        var from = Self.floorDiv(start, interval) * interval
        while from <= end {
            let first = firstStep(atOrAfter: Swift.max(start, from))
            let last = lastStep(atOrBefore: Swift.min(end, from + interval - 1))
            if first <= last {
                pieces.append(Piece(key: ResultsCache.Key(query: key, interval: from), first: first,
                                    settled: lastStep(atOrBefore: Swift.min(last, freshFrom)), last: last))
            }
            guard from <= Int64.max - interval else { break }
            from += interval
        }
        return pieces
    }

    /// Whether `entry` can answer the start of `piece`: it starts no later and reaches at least
    /// the step before the piece's first (an entry holds every step from its start to its end).
    private func usable(_ entry: ResultsCache.Entry?, for piece: Piece) -> Bool {
        guard let entry, piece.settled >= piece.first else { return false }
        return entry.start <= piece.first && entry.end + step >= piece.first
    }

    /// Nothing cached: one evaluation of the whole query, its settled steps stored by piece.
    /// An answer with annotations is returned as it is and not stored.
    private func evaluateWhole(_ pieces: [Piece]) throws(QueryError) -> QueryResult {
        let generation = cache.generation
        let result = try evaluate(start, end)
        guard result.annotations.isEmpty, case .matrix(let series) = result.value else { return result }
        for p in pieces where p.settled >= p.first {
            cache.misses.add(1, ordering: .relaxed)
            store(p.key, first: p.first, last: p.settled, series, data: dataRange(p.first, p.settled), ifUnchangedSince: generation)
        }
        return result
    }

    /// A piece's settled steps, from the cache (evaluating what the entry lacks at its end) or
    /// evaluated and stored.
    private func cached(_ p: Piece) throws(QueryError) -> [SeriesPoints]? {
        let generation = cache.generation
        let entry = cache.get(p.key)
        guard let entry, usable(entry, for: p) else {
            cache.misses.add(1, ordering: .relaxed)
            guard let series = try evaluated(p.first, p.settled) else { return nil }
            store(p.key, first: p.first, last: p.settled, series, data: dataRange(p.first, p.settled), ifUnchangedSince: generation)
            return series
        }
        if entry.end >= p.settled {
            cache.hits.add(1, ordering: .relaxed)
            return entry.series
        }
        // The entry ends early (a dashboard moving forward): evaluate the rest and extend it.
        cache.misses.add(1, ordering: .relaxed)
        guard let more = try evaluated(entry.end + step, p.settled) else { return nil }
        var joined: [Labels: [Sample]] = [:]
        append(entry.series, entry.start, entry.end, to: &joined)
        append(more, entry.end + step, p.settled, to: &joined)
        let series = joined.map { SeriesPoints(labels: $0.key, points: $0.value) }
        let data = dataRange(entry.end + step, p.settled)
        store(p.key, first: entry.start, last: p.settled, series,
              data: Swift.min(entry.data.lowerBound, data.lowerBound) ... Swift.max(entry.data.upperBound, data.upperBound), ifUnchangedSince: generation)
        return series
    }

    /// Stores the steps `first ... last` of `series` as the entry of `key`.
    private func store(_ key: ResultsCache.Key, first: Int64, last: Int64, _ series: [SeriesPoints], data: ClosedRange<Int64>,
                       ifUnchangedSince generation: UInt64) {
        var joined: [Labels: [Sample]] = [:]
        append(series, first, last, to: &joined)
        let kept = joined.map { SeriesPoints(labels: $0.key, points: $0.value) }
        cache.put(key, ResultsCache.Entry(start: first, end: last, series: kept, data: data, bytes: ResultsCache.size(of: kept)),
                  ifUnchangedSince: generation)
    }

    /// Steps `first ... last` evaluated (the caller keeps the points in that range). A lone
    /// step is evaluated with a neighbour: the engine treats a one-step range query as an
    /// instant one (no "sort is ineffective" warning, for one), and the whole query has more.
    private func evaluated(_ first: Int64, _ last: Int64) throws(QueryError) -> [SeriesPoints]? {
        precondition(start < end, "a one-step query is not split")
        let result = first < last ? try evaluate(first, last) : last < end ? try evaluate(first, last + step) : try evaluate(first - step, last)
        guard result.annotations.isEmpty, case .matrix(let series) = result.value else { return nil }
        return series
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
