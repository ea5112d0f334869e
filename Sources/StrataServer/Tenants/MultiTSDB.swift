import Logging
import StrataBlock
import StrataBlockStore
import StrataHTTPAPI
import StrataModel
import StrataObjectStore
import StrataStorage
import StrataTSDB
import Synchronization

/// How every tenant's TSDB is opened.
public struct TenantTSDBOptions: Sendable {
    public var head = HeadOptions()
    public var wal = WALOptions()
    public var db = DBOptions()
    /// `--label`: external labels every tenant's blocks carry.
    public var externalLabels: [String: String] = [:]
    /// `--receive.tenant-label-name`: the external label that names the tenant.
    public var tenantLabelName = "tenant_id"
    /// `--receive.default-tenant-id`: the tenant a single-tenant data directory's data moves to.
    public var defaultTenant = "default-tenant"
    public init() {}

    /// A tenant's external labels: `--label` plus the tenant label, which wins a clash.
    public func externalLabels(tenant: String) -> [String: String] {
        var labels = externalLabels
        labels[tenantLabelName] = tenant
        return labels
    }
}

/// The tenants' TSDBs under one data directory, as Thanos Receive's MultiTSDB: each tenant in
/// `<tsdb.path>/<tenant>/`, opened at start when its directory is there and created by its
/// first write. Queries read every tenant (each series with its tenant's external labels) and
/// the bucket's blocks that no tenant holds locally, merged.
public final class MultiTSDB: Sendable {
    public let root: String
    public let options: TenantTSDBOptions
    /// Where blocks are shipped (nil with `--no-shipper`).
    public let bucket: (any Bucket)?
    public let catalog: BlockCatalog?
    /// The bucket's blocks, read by queries (the store role; nil without it).
    public let store: BucketStore?
    let logger: Logger
    private let tenants = Mutex<[String: TenantTSDB]>([:])
    /// Creating a tenant, and registering a block observer, one at a time.
    private let creation = Mutex<[@Sendable (TenantTSDB, BlockEvent) -> Void]>([])

    /// Moves a single-tenant data directory's layout into the default tenant's directory, then
    /// opens every tenant found (WALs opened, not replayed: see `replay`).
    public init(root: String, options: TenantTSDBOptions, bucket: (any Bucket)? = nil, catalog: BlockCatalog? = nil,
                store: BucketStore? = nil, logger: Logger) throws {
        self.root = root
        self.options = options
        self.bucket = bucket
        self.catalog = catalog
        self.store = store
        self.logger = logger
        if let moved = try TenantLayout.migrateSingleTenant(root: root, into: options.defaultTenant) {
            logger.warning("moved the data directory's single-tenant layout into the default tenant's directory", metadata: [
                "dir": "\(root)/\(options.defaultTenant)", "entries": "\(moved)",
            ])
        }
        var found: [String: TenantTSDB] = [:]
        for name in try TenantLayout.tenants(in: root) { found[name] = try open(name, replayed: false) }
        tenants.withLock { $0 = found }
    }

    /// The open tenants, by name.
    public var all: [TenantTSDB] { tenants.withLock { Array($0.values) }.sorted { $0.name < $1.name } }

    public func tenant(_ name: String) -> TenantTSDB? { tenants.withLock { $0[name] } }

    /// The tenant's TSDB, created (directory, WAL, head) on first use, opened again after it
    /// was closed for being idle.
    public func tenantForWrite(_ name: String) throws -> TenantTSDB {
        if let t = tenant(name), !t.isClosed { return t }
        return try creation.withLock { observers in
            let existing = tenant(name)
            if let t = existing, !t.isClosed { return t }
            // The closed form's compaction and retention stop before the new DB opens the blocks.
            existing?.db.retire()
            let t = try open(name, replayed: true)
            // A directory left by an earlier run that was not found at start (it had no WAL then).
            if !t.segmentsToReplay.isEmpty { _ = try replay(t) }
            for observer in observers { t.db.onBlockEvent { observer(t, $0) } }
            tenants.withLock { $0[name] = t }
            logger.info(existing == nil ? "tenant created" : "idle tenant opened again by a write", metadata: ["tenant": "\(name)", "dir": "\(t.dir)"])
            return t
        }
    }

    /// Flushes and closes every open tenant no write has asked for in `idleMillis`: its whole
    /// head is written as blocks (shipped like any other), its WAL closed and removed (the blocks
    /// hold all of it), and its head dropped from memory. Its blocks stay queryable and under
    /// retention; its next write opens it again. Returns the tenants closed.
    @discardableResult
    public func closeIdle(idleMillis: Int64, now: Int64 = WallClock.nowMillis()) -> [String] {
        var closed: [String] = []
        for t in all where !t.isClosed && t.replayed.load(ordering: .acquiring) && now - t.lastWriteMillis.load(ordering: .relaxed) > idleMillis {
            let log = logger.with(tenant: t.name)
            do {
                let flushed = try t.db.compactHead(flushAll: true)
                // Series created by writes whose samples were all refused go at a second truncation.
                t.db.truncateHeadToBlocks()
                if try close(t) {
                    closed.append(t.name)
                    log.info("idle tenant flushed and closed", metadata: [
                        "idle_seconds": "\((now - t.lastWriteMillis.load(ordering: .relaxed)) / 1000)", "blocks_written": "\(flushed.blocks.map(\.ulid))",
                    ])
                }
            } catch {
                log.error("flushing an idle tenant failed; it stays open and is tried again later", metadata: ["error": "\(error)"])
            }
        }
        return closed
    }

    /// Replaces an open tenant whose head is empty by its closed form, unless a write came in
    /// since it was flushed. No commit can slip between the check and the WAL's close; a write
    /// that took an appender before fails to commit (a 5xx, nothing acknowledged) and is retried
    /// into the tenant opened again.
    private func close(_ t: TenantTSDB) throws -> Bool {
        guard let wal = t.wal else { return false }
        return try creation.withLock { observers in
            guard tenant(t.name) === t else { return false }
            // Opened first (the blocks the flush wrote), so a failure leaves the tenant as it was.
            let head = Head(options: options.head)
            var dbOptions = options.db
            if let s = t.shipper { dbOptions.isShipped = { s.isDone($0) } }
            let db = try DB(dir: t.dir, head: head, options: dbOptions)
            let closed = TenantTSDB(name: t.name, dir: t.dir, wal: nil, head: head, db: db, shipper: t.shipper,
                                    externalLabels: t.externalLabels, replayed: true)
            let empty = try t.head.withCommitsPaused {
                guard t.head.numSeries == 0 else { return false }
                try wal.close()
                return true
            }
            guard empty else { return false }
            t.db.retire()
            for observer in observers { db.onBlockEvent { observer(closed, $0) } }
            tenants.withLock { $0[t.name] = closed }
            // The blocks hold everything the WAL did.
            try? HeadSnapshot.remove(dir: t.dir)
            try FileSystem.removeAll(t.walDir)
            return true
        }
    }

    /// Calls `observer` after every block written or deleted by any tenant, now open or created later.
    public func onBlockEvent(_ observer: @escaping @Sendable (TenantTSDB, BlockEvent) -> Void) {
        creation.withLock { observers in
            observers.append(observer)
            for t in all { t.db.onBlockEvent { observer(t, $0) } }
        }
    }

    private func open(_ name: String, replayed: Bool) throws -> TenantTSDB {
        let dir = root + "/" + name
        try FileSystem.mkdirAll(dir)
        let labels = options.externalLabels(tenant: name)
        // Opening the WAL starts a new segment; everything before it is replayed into the head first.
        let wal = try WAL(dir: dir + "/wal", options: options.wal)
        let head = Head(options: options.head, wal: wal)
        var dbOptions = options.db
        var shipper: Shipper?
        if let bucket {
            let s = try Shipper(dataDir: dir, bucket: bucket, externalLabels: labels, catalog: catalog)
            // As Thanos Receive: a block leaves the data directory only once it is in the bucket,
            // and blocks are not merged locally (the bucket's compactor does that).
            dbOptions.isShipped = { s.isDone($0) }
            shipper = s
        }
        let db = try DB(dir: dir, head: head, options: dbOptions)
        for (ulid, reason) in db.skippedBlocks {
            logger.error("skipping block: its meta.json cannot be read; the other blocks are served",
                         metadata: ["tenant": "\(name)", "block": "\(ulid)", "err": "\(reason)"])
        }
        return TenantTSDB(name: name, dir: dir, wal: wal, head: head, db: db, shipper: shipper, externalLabels: labels, replayed: replayed)
    }

    /// Replays the tenant's WAL (from its head snapshot when there is one) into its head, then
    /// drops what its blocks already hold.
    @discardableResult
    func replay(_ t: TenantTSDB, progress: (String) -> Void = { _ in },
                segmentDone: (_ done: Int, _ of: [Int]) -> Void = { _, _ in }) throws -> WALReplayStats {
        let stats = try t.head.replayWAL(dir: t.walDir, below: t.wal?.segmentIndex ?? 0, snapshotDir: t.dir, progress: progress, segmentDone: segmentDone)
        // The WAL may still hold samples that blocks already have (compacted before the restart).
        if let cut = t.db.truncateHeadToBlocks(), cut.chunksRemoved > 0 {
            logger.info("dropped head data already in blocks",
                        metadata: ["tenant": "\(t.name)", "chunks": "\(cut.chunksRemoved)", "series": "\(cut.seriesRemoved)"])
        }
        t.replayed.store(true, ordering: .releasing)
        return stats
    }
}

extension MultiTSDB: TenantAppendable {
    public func appender(tenant: String) throws -> any Appender {
        let t = try tenantForWrite(tenant)
        t.lastWriteMillis.store(WallClock.nowMillis(), ordering: .relaxed)
        return t.head.appender()
    }
}

extension MultiTSDB: Queryable {
    /// Every tenant's head and blocks, each series with its tenant's external labels (a selector
    /// on the tenant label reads only that tenant), then the bucket's blocks none of them holds.
    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        var sources: [any Querier] = []
        var local = Set<String>()
        for t in all {
            let (q, blocks) = try t.db.localQuerier(mint: mint, maxt: maxt)
            sources.append(ExternalLabelsQuerier(q, labels: t.labels))
            local.formUnion(blocks)
        }
        // The bucket's blocks are older than what is still here.
        let remote = try store?.queriers(mint: mint, maxt: maxt, excluding: local) ?? []
        if remote.isEmpty && sources.count == 1 { return sources[0] }
        return BucketMergeQuerier(bucket: remote, local: sources)
    }
}

extension MultiTSDB: MetadataSource {
    /// Every tenant's metric metadata, each distinct entry once.
    public var metricMetadata: [MetricMetadata] {
        let tenants = all
        if tenants.count == 1 { return tenants[0].head.metricMetadata }
        var seen = Set<MetricMetadata>()
        return tenants.flatMap(\.head.metricMetadata).filter { seen.insert($0).inserted }
    }
}

extension MultiTSDB: CardinalitySource {
    /// The tenants' head statistics summed (a label value two tenants share counts twice).
    public func cardinalityStats(limit: Int) -> CardinalityStats {
        let stats = all.map { $0.head.cardinalityStats(limit: .max) }
        if stats.count == 1 { return Self.top(stats[0], limit) }
        var total = CardinalityStats()
        total.minTime = stats.map(\.minTime).filter { $0 != 0 }.min() ?? 0
        total.maxTime = stats.map(\.maxTime).max() ?? 0
        func sum(_ lists: [[CardinalityStats.Entry]]) -> [CardinalityStats.Entry] {
            var by: [String: Int] = [:]
            for list in lists { for e in list { by[e.name, default: 0] += e.value } }
            return by.map { CardinalityStats.Entry(name: $0.key, value: $0.value) }
        }
        for s in stats {
            total.numSeries += s.numSeries
            total.numLabelPairs += s.numLabelPairs
            total.chunkCount += s.chunkCount
        }
        total.seriesCountByMetricName = sum(stats.map(\.seriesCountByMetricName))
        total.labelValueCountByLabelName = sum(stats.map(\.labelValueCountByLabelName))
        total.memoryInBytesByLabelName = sum(stats.map(\.memoryInBytesByLabelName))
        total.seriesCountByLabelValuePair = sum(stats.map(\.seriesCountByLabelValuePair))
        return Self.top(total, limit)
    }

    /// Each list sorted by value (then name) and cut to `limit`, as Prometheus lists them.
    static func top(_ s: CardinalityStats, _ limit: Int) -> CardinalityStats {
        var s = s
        func cut(_ l: [CardinalityStats.Entry]) -> [CardinalityStats.Entry] {
            Array(l.sorted { $0.value != $1.value ? $0.value > $1.value : $0.name < $1.name }.prefix(limit))
        }
        s.seriesCountByMetricName = cut(s.seriesCountByMetricName)
        s.labelValueCountByLabelName = cut(s.labelValueCountByLabelName)
        s.memoryInBytesByLabelName = cut(s.memoryInBytesByLabelName)
        s.seriesCountByLabelValuePair = cut(s.seriesCountByLabelValuePair)
        return s
    }
}

extension MultiTSDB: TSDBAdmin {
    /// Every tenant's snapshot under `<tsdb.path>/snapshots/<name>/<tenant>/`: a data directory
    /// Strata can be started on, tenants kept apart.
    public func snapshot(skipHead: Bool) throws -> String {
        let name = DB.snapshotName()
        let target = root + "/snapshots/" + name
        do {
            try FileSystem.mkdirAll(target)
            for t in all { try t.db.snapshot(into: target + "/" + t.name, skipHead: skipHead) }
            try FileSystem.syncDir(root + "/snapshots")
        } catch {
            try? FileSystem.removeAll(target)
            throw error
        }
        return name
    }
}
