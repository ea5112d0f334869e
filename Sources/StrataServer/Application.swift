#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import StrataBlockStore
import StrataHTTPAPI
import StrataObjectStore
import StrataRuntime
import StrataTSDB

/// Builds the whole server: storage opened from `config.tsdbPath`, and the HTTP API on top.
/// Tests call this too, so what they exercise is what `strata serve` runs.
/// `registry` receives Strata's request and query histograms; `strata serve` passes the one it
/// also installs as the swift-metrics backend, so anything reporting through swift-metrics shows
/// up on `/metrics` too.
public func buildApplication(
    config: ServerConfig,
    logger: Logger = Logger(label: "strata"),
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    inspectRoutes: ([(method: String, path: String)]) -> Void = { _ in },
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    // The web config first: TLS and credentials problems fail the start before anything is opened.
    let webConfig = try config.webConfigFile.map {
        try WebConfigSource(path: $0, openPaths: config.healthProbesWithoutAuth ? ["/-/healthy", "/-/ready"] : [], logger: logger)
    }
    let limits = try config.limitsConfigFile.map { file in
        try WatchedConfig(path: file, what: "limits config", logger: logger) { (try LimitsConfig.load(path: $0), []) }
    }
    let inlineLimits: WriteLimits
    do { inlineLimits = try config.limitsConfig.map(LimitsConfig.parse) ?? WriteLimits() } catch {
        throw ConfigError("--receive.limits-config: \(error)")
    }
    try StartupChecks.checkDataDirectory(config.tsdbPath)
    // One server per data directory, before anything in it is read or written (Prometheus' lock).
    let lock: DirectoryLock?
    if config.lockDataDirectory {
        do { lock = try DirectoryLock.acquire(dir: config.tsdbPath) } catch {
            throw ConfigError("\(error): only one server may use a data directory; stop the other one or choose another --tsdb.path (--tsdb.no-lockfile skips this check)")
        }
    } else {
        lock = nil
    }

    var headOptions = HeadOptions()
    headOptions.chunkRange = config.blockDuration
    headOptions.tooFarInFutureWindow = config.tooFarInFutureWindow
    var walOptions = WALOptions()
    walOptions.fsync = config.walFsync
    walOptions.compress = config.walCompression
    walOptions.segmentSize = config.walSegmentSize
    let walDir = config.tsdbPath + "/wal"
    // Opening the WAL starts a new segment; everything before it is replayed into the head first.
    let wal = try WAL(dir: walDir, options: walOptions)
    let head = Head(options: headOptions, wal: wal)
    var dbOptions = DBOptions()
    dbOptions.retentionTime = config.retentionTime
    dbOptions.retentionSize = config.retentionSize
    // The server listens at once; /-/ready, writes and queries answer 503 until replay is done.
    let startup = StartupState(ready: false)
    // `/api/v1/status/walreplay` shows the segments to replay from the first request on;
    // `current` moves as each is done.
    let toReplay = ((try? WALSegments.list(walDir)) ?? []).map(\.index).filter { $0 < wal.segmentIndex }
    startup.setWALReplay(.init(min: toReplay.first ?? 0, max: toReplay.last ?? 0, current: 0))
    // The bucket is checked before anything is replayed: a bad configuration fails at once.
    let shipper: Shipper?
    var bucket: InstrumentedBucket?
    var store: BucketStore?
    var compactorService: BucketCompactorService?
    if config.shipping {
        let instrumented: InstrumentedBucket
        do { instrumented = InstrumentedBucket(try config.effectiveObjectStore.makeBucket()) } catch {
            throw ConfigError("objstore: \(error)")
        }
        bucket = instrumented
        let catalog: BlockCatalog
        do { catalog = try BlockCatalog(dataDir: config.tsdbPath) } catch {
            throw ConfigError("block catalog \(config.tsdbPath)/\(BlockCatalog.fileName): \(error)")
        }
        let s = try Shipper(dataDir: config.tsdbPath, bucket: instrumented, externalLabels: config.effectiveExternalLabels, catalog: catalog)
        // As Thanos Receive: a block leaves the data directory only once it is in the bucket,
        // and blocks are not merged locally (the bucket's compactor does that).
        dbOptions.isShipped = { s.isDone($0) }
        shipper = s
        if config.store {
            let cache: PageCache
            do { cache = try PageCache(dir: config.tsdbPath + "/bucket-cache", capacityBytes: config.storeCacheSize) } catch {
                throw ConfigError("bucket page cache \(config.tsdbPath)/bucket-cache: \(error)")
            }
            store = BucketStore(bucket: instrumented, cache: cache, catalog: catalog,
                                deletionMarkDelay: Double(config.storeDeletionMarkDelay) / 1000)
        }
        if config.compact {
            var options = config.compactor
            // This server's own blocks still on their way up hold back their group.
            options.pendingUploads = { s.hasPendingUploads() ? [s.externalLabels] : [] }
            compactorService = BucketCompactorService(bucket: instrumented, workDir: config.tsdbPath + "/compact", options: options,
                                                      intervalMillis: config.compactInterval, stats: CompactorStats(), catalog: catalog,
                                                      store: store, startup: startup, logger: logger)
        }
    } else {
        shipper = nil
    }
    // Compaction waits for queries older than the block it cuts: the longest a query may run, and some.
    dbOptions.readerWaitTimeout = .milliseconds(config.queryTimeout) + .seconds(30)
    // Blocks open now (fast: their indexes are mapped, not read); the head fills during replay.
    let db = try DB(dir: config.tsdbPath, head: head, options: dbOptions)
    if let store {
        // Blocks retention has let go locally are read from the bucket: one query path, no gap.
        try? store.refresh()
        db.setRemoteBlocks { mint, maxt, local in try store.queriers(mint: mint, maxt: maxt, excluding: local) }
    }
    var apiOptions = APIOptions()
    apiOptions.maxRequestBytes = config.maxRequestBytes
    apiOptions.maxConcurrentWrites = config.maxConcurrentWrites
    apiOptions.writeQueueTimeout = .milliseconds(config.writeQueueTimeout)
    // A thread hop per write costs more than it saves unless each commit waits for an fsync.
    if case .always = config.walFsync { apiOptions.writesBlock = true }
    apiOptions.engine.lookbackDelta = config.lookbackDelta
    apiOptions.engine.maxSamples = config.queryMaxSamples
    apiOptions.engine.timeout = .milliseconds(config.queryTimeout)
    apiOptions.maxConcurrentQueries = config.queryMaxConcurrency
    apiOptions.remoteReadConcurrentLimit = config.remoteReadConcurrentLimit
    apiOptions.remoteReadSampleLimit = config.remoteReadSampleLimit
    apiOptions.remoteReadMaxBytesInFrame = config.remoteReadMaxBytesInFrame
    apiOptions.engine.delayedNameRemoval = config.enabledFeatures.contains(.promqlDelayedNameRemoval)
    apiOptions.parser.experimentalFunctions = config.enabledFeatures.contains(.promqlExperimentalFunctions)
    apiOptions.buildInfo.version = StrataVersion.current
    apiOptions.flags = config.flagValues
    apiOptions.replicaLabels = config.replicaLabels
    apiOptions.autoDownsampling = config.autoDownsampling
    apiOptions.partialResponse = config.partialResponse
    apiOptions.startTime = rfc3339Now()
    apiOptions.storageRetention = PrometheusAPI<StrataRequestContext>.storageRetention(timeMillis: config.retentionTime,
                                                                                       sizeBytes: config.retentionSize)
    apiOptions.logger = logger
    apiOptions.tenancy = config.tenancy
    apiOptions.writeLimits = { limits?.current() ?? inlineLimits }
    // One TSDB holds every tenant's series for now: a tenant's head series limit counts them all.
    apiOptions.headSeries = { _ in head.numSeries }
    let httpMetrics = HTTPMetrics(registry: registry)
    apiOptions.observeQuery = { kind, duration, failed in httpMetrics.observeQuery(kind: kind, duration: duration, failed: failed) }

    let router = Router(context: StrataRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(metrics: httpMetrics))
    let api = PrometheusAPI<StrataRequestContext>(storage: db, metadata: db, cardinality: db,
                                                 admin: config.enableAdminAPI ? db : nil,
                                                 options: apiOptions, startup: startup)
    api.register(on: router)
    let metrics = MetricsEndpoint(db: db, wal: wal, api: api.stats, tenants: api.tenantStats, queryLoad: { api.queryLoad }, shipper: shipper?.stats,
                                  bucket: bucket, store: store, compactor: compactorService?.stats, registry: registry)
    metrics.register(on: router)

    for (ulid, reason) in db.skippedBlocks {
        logger.error("skipping block: its meta.json cannot be read; the other blocks are served", metadata: ["block": "\(ulid)", "err": "\(reason)"])
    }
    logger.info("starting Strata", metadata: [
        "version": "\(StrataVersion.current)", "http": "\(config.httpHost):\(config.httpPort)",
        "tsdb.path": "\(config.tsdbPath)", "blocks": "\(db.blocks.count)",
        "bucket": "\(config.shipping ? config.effectiveObjectStore.kind : "none (--no-shipper)")",
    ])
    inspectRoutes(router.routes.map { ($0.method.rawValue, $0.path.description) })
    // Every request passes the web config's guard, routed or not (no web config: nothing to check).
    let noPolicy = WebAccessPolicy()
    let responder = WebGuardResponder(router.buildResponder(), verifier: BasicAuthVerifier()) { webConfig?.current().access ?? noPolicy }
    // A watcher per connection tells queries when their client went away.
    let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ClientDisconnectWatcher()])
    let server: HTTPServerBuilder
    if let webConfig, webConfig.current().tlsContext != nil {
        server = HTTPServerBuilder { respond in ReloadingTLSChannel(base: HTTP1Channel(responder: respond, configuration: http1), source: webConfig) }
    } else {
        server = .http1(configuration: http1)
    }
    if let webConfig {
        let c = webConfig.current().config
        logger.info("web config loaded", metadata: [
            "file": "\(webConfig.path)", "tls": "\(c.tls != nil)", "basic_auth_users": "\(c.users.count)",
        ])
    }
    return Application(
        responder: responder,
        server: server,
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "Strata"),
        services: [
            WALReplayService(db: db, wal: wal, walDir: walDir, snapshotDir: config.tsdbPath, startup: startup,
                             metrics: metrics, logger: logger),
            WALService(wal: wal, head: head, snapshotDir: config.tsdbPath, lock: lock, startup: startup, logger: logger),
            HeadSnapshotService(head: head, wal: wal, dir: config.tsdbPath, intervalMillis: config.headSnapshotInterval,
                                startup: startup, logger: logger),
            CompactionService(db: db, intervalMillis: config.compactionInterval, startup: startup, logger: logger),
        ] + (shipper.map { [ShipperService(shipper: $0, store: store, db: db, intervalMillis: config.shipperInterval,
                                                      storeSyncMillis: config.storeSyncInterval, shutdownTimeout: .seconds(30),
                                                      startup: startup, logger: logger)] } ?? [])
            + (compactorService.map { [$0] } ?? []),
        onServerRunning: onServerRunning,
        logger: logger
    )
}

public enum StrataVersion {
    public static let current = "0.1.0"
}

/// The current time as RFC 3339 UTC with seconds (`2026-11-27T19:10:34Z`).
func rfc3339Now() -> String {
    var t = time(nil)
    var tmv = tm()
    gmtime_r(&t, &tmv)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(tmv.tm_year + 1900)-\(two(tmv.tm_mon + 1))-\(two(tmv.tm_mday))T\(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec))Z"
}
