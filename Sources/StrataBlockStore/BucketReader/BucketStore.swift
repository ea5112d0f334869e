import Foundation
import StrataBlock
import StrataModel
import StrataObjectStore
import StrataStorage
import Synchronization

/// The store role: the bucket's blocks, as the catalog knows them, made queryable. Which blocks
/// a query sees follows Thanos' store gateway filters: complete blocks only (the catalog never
/// lists a partial upload), not those marked for deletion longer than `deletionMarkDelay` ago,
/// and not those whose `compaction.sources` another block covers (the inputs of a compaction
/// still waiting for deletion), each resolution on its own (a downsampled block has its raw
/// block's sources). A query reads the coarsest resolution it accepts
/// (`SelectHints.maxSourceResolution`) and fills the gaps with finer data, as Thanos' store does.
///
/// Blocks are opened on first use (their index's table of contents and symbols read through the
/// page cache) and kept open; a block that leaves the bucket is closed at the next refresh.
public final class BucketStore: Sendable {
    public let bucket: any Bucket
    public let cache: PageCache
    public let catalog: BlockCatalog
    /// Seconds a block marked for deletion stays visible (Thanos' `--ignore-deletion-marks-delay`).
    public let deletionMarkDelay: Double
    public let stats = Stats()

    public final class Stats: Sendable {
        /// Blocks queries can read (after the filters), as of the last refresh.
        public let visibleBlocks = Atomic<Int>(0)
        /// Blocks opened (index headers read) since start.
        public let blocksOpened = Atomic<Int>(0)
        public let syncFailures = Atomic<Int>(0)
        public let lastSyncNanos = Atomic<Int64>(0)
    }

    /// Thanos' resolutions, coarsest first.
    static let resolutions: [Int64] = [3_600_000, 300_000, 0]

    private struct State {
        /// Visible blocks by resolution, each list by `minTime`.
        var visible: [Int64: [BlockMeta]] = [:]
        var open: [String: BucketBlockReader] = [:]
        /// Each visible block's external labels (`thanos.labels`), attached to its series.
        var externalLabels: [String: Labels] = [:]
        /// The catalog's generation `visible` was computed from.
        var generation: UInt64?
    }

    private let state = Mutex(State())

    public init(bucket: any Bucket, cache: PageCache, catalog: BlockCatalog, deletionMarkDelay: Double = 3600) {
        self.bucket = bucket
        self.cache = cache
        self.catalog = catalog
        self.deletionMarkDelay = deletionMarkDelay
    }

    /// Lists the bucket into the catalog (new blocks, marks, deletions), then refreshes.
    public func sync() async throws {
        let start = ContinuousClock.now
        do { try await catalog.scanBucket(bucket) } catch {
            stats.syncFailures.add(1, ordering: .relaxed)
            throw error
        }
        let d = ContinuousClock.now - start
        stats.lastSyncNanos.store(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000, ordering: .relaxed)
        try refresh()
    }

    /// Recomputes the visible blocks from the catalog (no bucket request): a block the shipper
    /// has just uploaded is queryable from here on.
    public func refresh(now: Double = Date().timeIntervalSince1970) throws {
        let generation = catalog.generation
        var metas: [Int64: [BlockMeta]] = [:]
        var external: [String: Labels] = [:]
        for row in try catalog.blocks() where row.inBucket && Self.resolutions.contains(row.resolution) {
            if let marked = row.deletionMarkedAt, now - marked > deletionMarkDelay { continue }
            guard let json = row.bucketMetaJSON, let meta = try? BlockMeta.parse(Data(json.utf8), path: row.ulid) else { continue }
            metas[row.resolution, default: []].append(meta)
            external[meta.ulid] = Labels(ThanosMeta.from(meta)?.labels ?? [:])
        }
        // Each stream (external label set) on its own: one stream's block hides no other's.
        let visible = metas.mapValues { all in
            Dictionary(grouping: all) { external[$0.ulid] ?? .empty }.values.flatMap(Self.withoutCoveredSources)
                .sorted { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
        }
        let keep = Set(visible.values.joined().map(\.ulid))
        let before = state.withLock { s in
            let before = s.visible.values.joined().map { $0 }
            s.visible = visible
            s.externalLabels = external.filter { keep.contains($0.key) }
            s.open = s.open.filter { keep.contains($0.key) }
            s.generation = generation
            return before
        }
        stats.visibleBlocks.store(keep.count, ordering: .relaxed)
        // Blocks that appeared or went: answers over their time ranges may have changed.
        let was = Set(before.map(\.ulid))
        let changed = before.filter { !keep.contains($0.ulid) } + visible.values.joined().filter { !was.contains($0.ulid) }
        if !changed.isEmpty {
            let observers = changeObservers.withLock { $0 }
            for m in changed { for o in observers { o(m.minTime, m.maxTime) } }
        }
    }

    private let changeObservers = Mutex<[@Sendable (_ mint: Int64, _ maxt: Int64) -> Void]>([])

    /// Calls `observer` with the time range of every block that becomes visible or stops being
    /// visible (a results cache drops answers over it).
    public func onChange(_ observer: @escaping @Sendable (_ mint: Int64, _ maxt: Int64) -> Void) {
        changeObservers.withLock { $0.append(observer) }
    }

    /// Thanos' `DefaultDeduplicateFilter`: a block whose sources are all in another block's is
    /// that block's input (or a copy of it) and is hidden; of two blocks with the same sources,
    /// the one with the greater ULID stays.
    public static func withoutCoveredSources(_ metas: [BlockMeta]) -> [BlockMeta] {
        let sources = metas.map { Set($0.compaction.sources.isEmpty ? [$0.ulid] : $0.compaction.sources) }
        return metas.enumerated().filter { i, m in
            !sources.indices.contains { j in
                j != i && sources[i].isSubset(of: sources[j]) && (sources[i] != sources[j] || metas[j].ulid > m.ulid)
            }
        }.map(\.element).sorted { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
    }

    /// Every visible block, raw first, then 5m and 1h, each by `minTime`.
    public var visibleBlocks: [BlockMeta] { state.withLock { s in Self.resolutions.reversed().flatMap { s.visible[$0] ?? [] } } }

    /// A querier over the bucket's blocks in `[mint, maxt]` leaving out what is read locally:
    /// raw blocks among `local`, and downsampled blocks made from one of them (their raw data
    /// is read from the data directory). Which blocks it reads is decided at each select, from
    /// the query's `maxSourceResolution`; none when no visible block overlaps the range.
    ///
    /// The visible set is recomputed first if the catalog changed since: a block the shipper
    /// recorded as uploaded is queryable before retention may delete its local copy.
    public func queriers(mint: Int64, maxt: Int64, excluding local: Set<String>) throws -> [any Querier] {
        if state.withLock({ $0.generation }) != catalog.generation { try refresh() }
        let overlapping = state.withLock { $0.visible }.values.contains { $0.contains { $0.minTime <= maxt && $0.maxTime > mint } }
        return overlapping ? [BucketStoreQuerier(store: self, mint: mint, maxt: maxt, local: local)] : []
    }

    /// The blocks a read of `[mint, maxt]` at `maxResolution` uses, as Thanos' `getFor`: the
    /// coarsest resolution not above `maxResolution` where it has blocks, the gaps between them
    /// filled recursively from the finer resolutions; raw data stays the fallback.
    public func blocks(mint: Int64, maxt: Int64, maxResolution: Int64, excluding local: Set<String>) -> [BlockMeta] {
        // A raw block held locally is read there (a bucket block merged from it still is read:
        // its other sources may be gone locally). A downsampled block made from a block held
        // locally is left out: the raw data is at hand, and mixing both would count it twice.
        let (all, external) = state.withLock { ($0.visible, $0.externalLabels) }
        // Each stream (external label set: a tenant, a replica) is covered on its own: one
        // stream's downsampled block says nothing about another's raw data.
        var streams: [Labels: [Int64: [BlockMeta]]] = [:]
        for (resolution, metas) in all {
            for m in metas where resolution == 0 ? !local.contains(m.ulid) : local.isDisjoint(with: m.compaction.sources) {
                streams[external[m.ulid] ?? .empty, default: [:]][resolution, default: []].append(m)
            }
        }
        func fill(_ visible: [Int64: [BlockMeta]], _ mint: Int64, _ maxt: Int64, _ level: Int) -> [BlockMeta] {
            guard level < Self.resolutions.count, mint <= maxt else { return [] }
            var out: [BlockMeta] = []
            var start = mint
            for b in visible[Self.resolutions[level]] ?? [] {
                if b.maxTime <= mint { continue }
                if b.minTime > maxt { break }
                out += fill(visible, start, b.minTime - 1, level + 1)
                out.append(b)
                start = b.maxTime
            }
            return out + fill(visible, start, maxt, level + 1)
        }
        let first = Self.resolutions.firstIndex { $0 <= maxResolution } ?? Self.resolutions.count - 1
        return streams.keys.sorted().flatMap { fill(streams[$0]!, mint, maxt, first) }
    }

    /// The external labels of a visible block (empty for one without a `thanos` section).
    func externalLabels(of ulid: String) -> Labels { state.withLock { $0.externalLabels[ulid] } ?? .empty }

    /// The block, opened (index header read) on first use and kept open.
    func open(_ meta: BlockMeta) throws -> BucketBlockReader {
        if let r = state.withLock({ $0.open[meta.ulid] }) { return r }
        let reader = try BucketBlockReader(bucket: bucket, ulid: meta.ulid, meta: meta, cache: cache)
        stats.blocksOpened.add(1, ordering: .relaxed)
        return state.withLock { s in
            if let raced = s.open[meta.ulid] { return raced }
            s.open[meta.ulid] = reader
            return reader
        }
    }
}

/// Reads the bucket's blocks for one query range, choosing them at each select: Thanos'
/// querier lowers `max_source_resolution` to half a range for functions that need two samples
/// in it (`rate(x[5m])` never reads 1h data), then the store covers the range (`blocks`).
struct BucketStoreQuerier: Querier {
    let store: BucketStore
    let mint: Int64
    let maxt: Int64
    let local: Set<String>

    /// Thanos' `promqlFuncRequiresTwoSamples`.
    static let needsTwoSamples: Set<String> = [
        "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "holt_winters", "double_exponential_smoothing",
    ]

    static func resolution(for hints: SelectHints) -> Int64 {
        var r = hints.maxSourceResolution
        if hints.range > 0, let f = hints.function, needsTwoSamples.contains(f) { r = min(r, hints.range / 2) }
        return r
    }

    private func queriers(_ hints: SelectHints?, maxResolution: Int64) throws -> [any Querier] {
        let lo = max(mint, hints?.mint ?? mint), hi = min(maxt, hints?.maxt ?? maxt)
        let metas = store.blocks(mint: lo, maxt: hi, maxResolution: maxResolution, excluding: local)
        guard maxResolution > 0, let hints, AggrSelection(function: hints.function) == .counter else {
            return try metas.map { ExternalLabelsQuerier(try store.open($0).querier(mint: mint, maxt: maxt), labels: store.externalLabels(of: $0.ulid)) }
        }
        // A counter read: a stream whose blocks include downsampled ones is read as one
        // counter per series (`CounterChainQuerier`). `blocks` lists each stream's blocks
        // together, in time order.
        var out: [any Querier] = []
        var i = 0
        while i < metas.count {
            let labels = store.externalLabels(of: metas[i].ulid)
            var j = i + 1
            while j < metas.count && store.externalLabels(of: metas[j].ulid) == labels { j += 1 }
            let stream = try metas[i ..< j].map { (querier: try store.open($0).querier(mint: mint, maxt: maxt), resolution: ThanosMeta.from($0)?.resolution ?? 0) }
            if stream.contains(where: { $0.resolution > 0 }) {
                out.append(CounterChainQuerier(blocks: stream, labels: labels))
            } else {
                out += stream.map { ExternalLabelsQuerier($0.querier, labels: labels) }
            }
            i = j
        }
        return out
    }

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        do {
            let sets = try queriers(hints, maxResolution: Self.resolution(for: hints)).map { try $0.select(matchers, hints: hints.sorted) }
            let merged = MergeQuerier.merge(sets, encodeChunks: { XORChunk.encodeChunks($0) })
            guard let warnings = hints.partialResponse else { return merged }
            return merged.map { s in
                if let chain = s as? CounterChainSeries { return chain.partial(warnings, bucket: store.bucket.kind) }
                return PartialResponseSeries(base: s, warnings: warnings, bucket: store.bucket.kind)
            }
        } catch where hints.partialResponse != nil && Self.isBucketFailure(error) {
            hints.partialResponse?.add(Self.warning(store.bucket.kind, error))
            return []
        }
    }

    /// A failure to read the bucket (not a query's own timeout or cancellation, which still fail it).
    static func isBucketFailure(_ error: any Error) -> Bool {
        if let e = error as? StorageError { return e.kind != .timeout }
        return error is ObjectStoreError
    }

    static func warning(_ bucket: String, _ error: any Error) -> String {
        "the \(bucket) bucket could not be read, so this answer leaves out its blocks: \(error)"
    }

    // Names and values over the fewest blocks: the coarsest of each range, gaps filled finer.
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try labels(nil) { try $0.labelNames(matchers) } }
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try labels(nil) { try $0.labelValues(name, matchers) } }
    func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] { try labels(hints) { try $0.labelNames(matchers) } }
    func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try labels(hints) { try $0.labelValues(name, matchers) }
    }

    /// A label read over the blocks; under `partial_response`, a bucket failure is a warning
    /// and no names or values from the bucket.
    private func labels(_ hints: SelectHints?, _ read: (MergeQuerier) throws -> [String]) throws -> [String] {
        do {
            return try read(MergeQuerier(try queriers(hints, maxResolution: .max), encodeChunks: { XORChunk.encodeChunks($0) }))
        } catch where hints?.partialResponse != nil && Self.isBucketFailure(error) {
            hints?.partialResponse?.add(Self.warning(store.bucket.kind, error))
            return []
        }
    }
}

/// A bucket series under `partial_response`: a read that fails leaves its samples out and
/// reports why, rather than failing the query.
struct PartialResponseSeries: StorageSeries {
    let base: any StorageSeries
    let warnings: StorageWarnings
    let bucket: String
    var labels: Labels { base.labels }

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        let before = out.count
        do { try base.samples(mint: mint, maxt: maxt, into: &out) } catch where BucketStoreQuerier.isBucketFailure(error) {
            out.removeSubrange(before...)
            warnings.add(BucketStoreQuerier.warning(bucket, error))
        }
    }
}
