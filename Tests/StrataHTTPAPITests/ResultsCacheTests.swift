import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import StrataHTTPAPI
import StrataModel
import StrataRuntime
import StrataStorage
import StrataTSDB
import Testing

/// The range query results cache (`--query-range.*`): an answer served from it, in whole or in
/// part, is byte for byte the answer of one evaluation, whatever the expression, step and time
/// range; newer steps are always evaluated; a write under cached steps drops them.
@Suite struct ResultsCacheTests {
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    /// Three days of counters, gauges and a histogram, a sample a minute, ending two minutes ago.
    static func seeded(_ head: Head, now: Int64) throws {
        let app = head.appender()
        let end = now - 2 * minute
        let start = end - 72 * hour
        let times = Array(stride(from: start, through: end, by: Int(minute)))
        for job in ["api", "db", "web"] {
            let seed = Double(job.utf8.first!)
            var c = 0.0
            _ = app.append(Labels([("__name__", "c_total"), ("job", job)]), times.enumerated().map { i, t in
                c = i % 997 == 500 ? 1 : c + Double((i * 7 + Int(seed)) % 11)
                return Sample(t: t, v: c)
            })
            _ = app.append(Labels([("__name__", "g"), ("job", job)]),
                           times.enumerated().map { i, t in Sample(t: t, v: seed + Double((i * 13) % 37) / 3) })
            var counts = [0.0, 0, 0, 0]
            for (k, le) in ["0.1", "1", "10", "+Inf"].enumerated() {
                _ = app.append(Labels([("__name__", "h_bucket"), ("job", job), ("le", le)]), times.enumerated().map { i, t in
                    counts[k] += Double((i + k * 3) % (k + 2) + k)
                    return Sample(t: t, v: counts[k] + (k > 0 ? Double(k) * Double(i) : 0))
                })
            }
        }
        try app.commit()
    }

    /// Two APIs over one head: one with the cache, one without.
    struct Pair {
        let head: Head
        let cache: ResultsCache
        let cached: Router<BasicRequestContext>
        let plain: Router<BasicRequestContext>

        init(cache options: ResultsCache.Options = ResultsCache.Options()) {
            let cache = ResultsCache(options: options)
            var headOptions = HeadOptions()
            headOptions.onCommit = { cache.invalidate(mint: $0, maxt: $1) }
            head = Head(options: headOptions)
            self.cache = cache
            var on = APIOptions()
            on.resultsCache = cache
            cached = Router()
            PrometheusAPI<BasicRequestContext>(storage: head, options: on).register(on: cached)
            plain = Router()
            PrometheusAPI<BasicRequestContext>(storage: head, options: APIOptions()).register(on: plain)
        }

        func get(_ router: Router<BasicRequestContext>, _ uri: String) async throws -> String {
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: uri, method: .get) { res in String(buffer: res.body) }
            }
        }

        /// The cached API's answer, checked against the plain one's.
        @discardableResult
        func compare(_ query: String, start: Int64, end: Int64, step: Int64, _ note: String = "", succeeds: Bool = true) async throws -> String {
            let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let uri = "/api/v1/query_range?query=\(q)&start=\(Double(start) / 1000)&end=\(Double(end) / 1000)&step=\(Double(step) / 1000)"
            let want = try await get(plain, uri)
            let got = try await get(cached, uri)
            #expect(got == want, "\(query) \(note) [\(start), \(end)] / \(step)")
            #expect(want.hasPrefix(#"{"status":"success""#) == succeeds, "\(query): \(want.prefix(300))")
            return got
        }
    }

    /// A spread of dashboard expressions (ResultsCacheCorpusTests covers the language).
    static let expressions = [
        "sum by (job) (rate(c_total[5m]))", "increase(c_total[1h])", "avg_over_time(g[10m])",
        "max_over_time(rate(c_total[5m])[30m:1m])", "g offset 1h", "histogram_quantile(0.9, sum by (le) (rate(h_bucket[10m])))",
        "topk(2, g)", "time()", "absent(nope)", "count by (job) (g > 20)",
    ]

    @Test func answersFromTheCacheAreTheAnswersOfOneEvaluation() async throws {
        let now = WallClock.nowMillis()
        let pair = Pair()
        try Self.seeded(pair.head, now: now)
        // Steps on and off the minute, ranges across day boundaries and into the fresh minute.
        let cases: [(start: Int64, end: Int64, step: Int64)] = [
            (now - 60 * Self.hour, now, 5 * Self.minute),
            (now - 60 * Self.hour + 17_000, now - 3 * Self.hour, 7 * Self.minute),
            (now - 70 * Self.hour, now - 20 * Self.hour, Self.hour),
            (now - 30 * Self.hour, now - 29 * Self.hour, 15_000),
        ]
        for expr in Self.expressions {
            for c in cases {
                try await pair.compare(expr, start: c.start, end: c.end, step: c.step, "first")
                let (hits, misses) = (pair.cache.hits.load(ordering: .relaxed), pair.cache.misses.load(ordering: .relaxed))
                try await pair.compare(expr, start: c.start, end: c.end, step: c.step, "again")
                // At most the last piece grows: steps may have left the fresh minute meanwhile.
                #expect(pair.cache.misses.load(ordering: .relaxed) <= misses + 1 && pair.cache.hits.load(ordering: .relaxed) > hits,
                        "\(expr): the same query again is answered from the cache")
                // A dashboard that refreshes a step later and one that pans back about an hour
                // (Grafana moves ranges by whole steps, so the grid stays); a shifted grid.
                let pan = Swift.max(1, Self.hour / c.step) * c.step
                try await pair.compare(expr, start: c.start + c.step, end: c.end + c.step, step: c.step, "refreshed")
                try await pair.compare(expr, start: c.start - pan, end: c.end - pan, step: c.step, "panned")
                try await pair.compare(expr, start: c.start + 1000, end: c.end, step: c.step, "another grid")
            }
        }
        #expect(pair.cache.usage.entries > 0)
    }

    @Test func separateWindowsOfOneDayAreNotJoinedAcrossTheirGap() async throws {
        let now = WallClock.nowMillis()
        let pair = Pair()
        try Self.seeded(pair.head, now: now)
        let day = 24 * Self.hour
        let d = (now - 48 * Self.hour) / day * day
        for (from, to) in [(1, 2), (5, 6), (1, 6), (0, 7), (3, 4)] as [(Int64, Int64)] {
            try await pair.compare("sum(rate(c_total[5m]))", start: d + from * Self.hour, end: d + to * Self.hour, step: Self.minute, "\(from)h-\(to)h")
        }
    }

    @Test func stepsNewerThanTheFreshnessLimitAreAlwaysEvaluated() async throws {
        let now = WallClock.nowMillis()
        var options = ResultsCache.Options()
        options.maxFreshness = 10 * Self.minute
        let pair = Pair(cache: options)
        try Self.seeded(pair.head, now: now)
        try await pair.compare("max(g)", start: now - 6 * Self.hour, end: now, step: Self.minute)
        let (bytes, entries) = pair.cache.usage
        #expect(entries >= 1 && bytes > 0)
        // A sample two minutes old arrives late: the fresh steps see it with no invalidation needed.
        let app = pair.head.appender()
        _ = app.append(Labels([("__name__", "g"), ("job", "late")]), [Sample(t: now - 3 * Self.minute, v: 1000)])
        try app.commit()
        #expect(pair.cache.invalidations.load(ordering: .relaxed) == 0, "nothing cached is newer than now - 10m")
        let answer = try await pair.compare("max(g)", start: now - 6 * Self.hour, end: now, step: Self.minute)
        #expect(answer.contains(#""1000""#), "the late sample is in the fresh steps: \(answer.suffix(200))")
    }

    @Test func aWriteUnderCachedStepsDropsThem() async throws {
        let now = WallClock.nowMillis()
        let pair = Pair()
        try Self.seeded(pair.head, now: now)
        let (start, end, step) = (now - 48 * Self.hour, now - 5 * Self.minute, Self.minute)
        let before = try await pair.compare("count(g)", start: start, end: end, step: step)
        try await pair.compare("count(g)", start: start, end: end, step: step)
        #expect(pair.cache.hits.load(ordering: .relaxed) > 0)
        // A late series (the head takes samples up to an hour behind its newest): under
        // cached steps.
        let app = pair.head.appender()
        let added = app.append(Labels([("__name__", "g"), ("job", "late")]),
                               stride(from: now - 50 * Self.minute, through: now - 40 * Self.minute, by: Int(Self.minute)).map { Sample(t: $0, v: 1) })
        try app.commit()
        #expect(added.accepted == 11, "\(added)")
        #expect(pair.cache.invalidations.load(ordering: .relaxed) > 0)
        let after = try await pair.compare("count(g)", start: start, end: end, step: step)
        #expect(after != before && after.contains(#""4""#), "the late series is counted")
    }

    @Test func theCacheStaysWithinItsSizeAndKeepsTheRecentlyUsed() async throws {
        let now = WallClock.nowMillis()
        var options = ResultsCache.Options()
        options.capacityBytes = 64 << 10
        let pair = Pair(cache: options)
        try Self.seeded(pair.head, now: now)
        for expr in Self.expressions.prefix(8) {
            try await pair.compare(expr, start: now - 70 * Self.hour, end: now - Self.hour, step: 5 * Self.minute)
        }
        #expect(pair.cache.usage.bytes <= options.capacityBytes)
        #expect(pair.cache.evictions.load(ordering: .relaxed) > 0)
    }

    @Test func queriesThatCannotBeSplitAreEvaluatedWhole() async throws {
        let now = WallClock.nowMillis()
        let pair = Pair()
        try Self.seeded(pair.head, now: now)
        // `@ end()` ties every step to the query's end; `rate` over a gauge comes with an info.
        for expr in ["g @ end()", "rate(g[5m])", "sum(rate(c_total[5m] @ start()))"] {
            try await pair.compare(expr, start: now - 50 * Self.hour, end: now - Self.hour, step: 10 * Self.minute)
        }
        #expect(pair.cache.usage.entries == 0)
        // Too many points is the engine's error, not a split answer.
        let tooMany = try await pair.compare("g", start: now - 50 * Self.hour, end: now, step: 1000, succeeds: false)
        #expect(tooMany.contains("exceeded maximum resolution"), "\(tooMany)")
    }
}
