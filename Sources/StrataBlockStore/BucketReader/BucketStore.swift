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
/// still waiting for deletion). Raw-resolution blocks only, for now.
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

    private struct State {
        var visible: [BlockMeta] = []
        var open: [String: BucketBlockReader] = [:]
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
        var metas: [BlockMeta] = []
        for row in try catalog.blocks() where row.inBucket && row.resolution == 0 {
            if let marked = row.deletionMarkedAt, now - marked > deletionMarkDelay { continue }
            guard let json = row.bucketMetaJSON, let meta = try? BlockMeta.parse(Data(json.utf8), path: row.ulid) else { continue }
            metas.append(meta)
        }
        let visible = Self.withoutCoveredSources(metas)
        let keep = Set(visible.map(\.ulid))
        state.withLock { s in
            s.visible = visible
            s.open = s.open.filter { keep.contains($0.key) }
            s.generation = generation
        }
        stats.visibleBlocks.store(visible.count, ordering: .relaxed)
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

    public var visibleBlocks: [BlockMeta] { state.withLock { $0.visible } }

    /// Queriers over the visible blocks overlapping `[mint, maxt]` that are not among `local`
    /// (the same block in the data directory is read there). Opens blocks as needed, waiting
    /// for the bucket on this thread: call from a query's blocking thread.
    ///
    /// The visible set is recomputed first if the catalog changed since: a block the shipper
    /// recorded as uploaded is queryable before retention may delete its local copy.
    public func queriers(mint: Int64, maxt: Int64, excluding local: Set<String>) throws -> [any Querier] {
        if state.withLock({ $0.generation }) != catalog.generation { try refresh() }
        let wanted = state.withLock { $0.visible }.filter { $0.minTime <= maxt && $0.maxTime > mint && !local.contains($0.ulid) }
        return try wanted.map { meta in try open(meta).querier(mint: mint, maxt: maxt) }
    }

    private func open(_ meta: BlockMeta) throws -> BucketBlockReader {
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
