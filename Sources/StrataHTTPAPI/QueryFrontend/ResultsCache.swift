import StrataModel
import StrataPromQL
import Synchronization

/// Finished pieces of range queries kept in memory, as Thanos' query-frontend keeps them in its
/// results cache: a dashboard that refreshes or pans asks again for mostly the same steps, and
/// only the new ones are evaluated (`SplitRangeQuery`).
///
/// An entry is one split interval (a UTC day by default) of one query on one step grid: the
/// points it holds (`start ... end`) and the stored data they were computed from. A write older
/// than the present, a deletion or a block appearing in the bucket drops every entry whose data
/// it touches (`invalidate`); the least recently used entries go when the cache is full.
public final class ResultsCache: Sendable {
    public struct Options: Sendable {
        /// Bytes the entries may hold (`--query-range.results-cache-size`).
        public var capacityBytes = 100 << 20
        /// Range queries are answered in pieces aligned to multiples of this (ms; 24h, as Thanos'
        /// `--query-range.split-interval`).
        public var splitInterval: Int64 = 24 * 3_600_000
        /// Steps newer than now minus this are always evaluated, never cached (ms; 1m, as
        /// Thanos' `--query-range.max-freshness`): recent data may still arrive.
        public var maxFreshness: Int64 = 60_000
        public init() {}
    }

    struct Key: Hashable {
        /// Everything the answer depends on except the time range: the expression, step and
        /// grid offset, tenant, resolution, dedup, lookback.
        let query: String
        /// The split interval the entry belongs to.
        let interval: Int64
    }

    struct Entry {
        /// First and last step held.
        var start: Int64
        var end: Int64
        var series: [SeriesPoints]
        /// The stored data the steps were computed from.
        var data: ClosedRange<Int64>
        var bytes: Int
        var lastUse: UInt64 = 0
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        /// Bumped by every invalidation: an answer computed across one is not stored.
        var generation: UInt64 = 0
    }

    public let options: Options
    private let state = Mutex(State())
    /// The newest data time any entry depends on (or later): a write after it changes nothing
    /// cached and is let through without the lock (the head calls `invalidate` on every
    /// commit). Changed under the lock only.
    private let newestData = Atomic<Int64>(.min)

    public let hits = Atomic<Int>(0)
    public let misses = Atomic<Int>(0)
    public let evictions = Atomic<Int>(0)
    public let invalidations = Atomic<Int>(0)

    public init(options: Options = Options()) { self.options = options }

    /// Bytes and entries held.
    public var usage: (bytes: Int, entries: Int) { state.withLock { ($0.bytes, $0.entries.count) } }

    /// Drops every entry computed from data in `[mint, maxt]` (ms): data there was written,
    /// deleted or appeared.
    public func invalidate(mint: Int64, maxt: Int64) {
        guard mint <= newestData.load(ordering: .relaxed) else { return }
        state.withLock { s in
            s.generation &+= 1
            var dropped = 0, newest = Int64.min
            for (key, entry) in s.entries {
                if entry.data.overlaps(mint ... Swift.max(mint, maxt)) {
                    s.entries[key] = nil
                    s.bytes -= entry.bytes
                    dropped += 1
                } else {
                    newest = Swift.max(newest, entry.data.upperBound)
                }
            }
            // Later writes to the same times (a sender running late) take the quick path.
            newestData.store(newest, ordering: .relaxed)
            if dropped > 0 { invalidations.add(dropped, ordering: .relaxed) }
        }
    }

    /// Drops everything (blocks went away, for instance by retention).
    public func invalidateAll() { invalidate(mint: .min, maxt: .max) }

    var generation: UInt64 { state.withLock { $0.generation } }

    func get(_ key: Key) -> Entry? {
        state.withLock { s in
            guard var e = s.entries[key] else { return nil }
            s.clock &+= 1
            e.lastUse = s.clock
            s.entries[key] = e
            return e
        }
    }

    /// Stores `entry` unless an invalidation happened since `generation` was read (the answer
    /// may predate it); evicts the least recently used entries to make room.
    func put(_ key: Key, _ entry: Entry, ifUnchangedSince generation: UInt64) {
        guard entry.bytes <= options.capacityBytes else { return }
        state.withLock { s in
            guard s.generation == generation else { return }
            if let old = s.entries.removeValue(forKey: key) { s.bytes -= old.bytes }
            var entry = entry
            s.clock &+= 1
            entry.lastUse = s.clock
            s.entries[key] = entry
            s.bytes += entry.bytes
            if s.bytes > options.capacityBytes {
                // Oldest use first, until the new total fits.
                var evicted = 0
                for (k, e) in s.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) where s.bytes > options.capacityBytes {
                    s.entries[k] = nil
                    s.bytes -= e.bytes
                    evicted += 1
                }
                evictions.add(evicted, ordering: .relaxed)
            }
            if entry.data.upperBound > newestData.load(ordering: .relaxed) { newestData.store(entry.data.upperBound, ordering: .relaxed) }
        }
    }

    /// What an entry of `series` costs, roughly: label bytes, 16 bytes a point, and overhead.
    static func size(of series: [SeriesPoints]) -> Int {
        series.reduce(0) { $0 + $1.labels.bytes.count + 64 + $1.points.count * 16 } + 128
    }
}
