import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import StrataBlockStore
import StrataHTTPAPI
import StrataModel
import StrataObjectStore
import StrataPromQL
import StrataPromQLParser
import StrataRules
import StrataRuntime
import StrataStorage
import StrataTSDB
import StrataUI

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
    reloader: Reloader = Reloader(),
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    // The web config first: TLS and credentials problems fail the start before anything is opened.
    let webConfig = try config.webConfigFile.map {
        try WebConfigSource(path: $0, openPaths: config.healthProbesWithoutAuth ? ["/-/healthy", "/-/ready"] : [], logger: logger)
    }
    try StartupChecks.checkTenantCertificateField(config.tenancy.certificateField, webConfig: webConfig?.current().config)
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

    var options = TenantTSDBOptions()
    options.head.chunkRange = config.blockDuration
    options.head.tooFarInFutureWindow = config.tooFarInFutureWindow
    // Lock stripes are a fixed cost per tenant's head (two small objects each): enough that the
    // writers one machine runs at once rarely share one, not Prometheus' 16384 per head.
    options.head.stripeCount = max(256, 1 << (64 - (ProcessInfo.processInfo.activeProcessorCount * 64 - 1).leadingZeroBitCount))
    options.wal.fsync = config.walFsync
    options.wal.compress = config.walCompression
    options.wal.segmentSize = config.walSegmentSize
    options.db.retentionTime = config.retentionTime
    options.db.retentionSize = config.retentionSize
    // Compaction waits for queries older than the block it cuts: the longest a query may run, and some.
    options.db.readerWaitTimeout = .milliseconds(config.queryTimeout) + .seconds(30)
    options.externalLabels = config.externalLabels
    options.tenantLabelName = config.tenantLabelName
    options.defaultTenant = config.tenancy.defaultTenant
    // Cached range answers go when older data is written, a block appears in or leaves the
    // bucket, or retention deletes blocks.
    let resultsCache = config.resultsCache.capacityBytes > 0 ? ResultsCache(options: config.resultsCache) : nil
    if let resultsCache { options.head.onCommit = { resultsCache.invalidate(mint: $0, maxt: $1) } }
    // The server listens at once; /-/ready, writes and queries answer 503 until replay is done.
    let startup = StartupState(ready: false)
    // The bucket is checked before anything is replayed: a bad configuration fails at once.
    var bucket: InstrumentedBucket?
    var catalog: BlockCatalog?
    var store: BucketStore?
    if config.shipping {
        let instrumented: InstrumentedBucket
        do { instrumented = InstrumentedBucket(try config.effectiveObjectStore.makeBucket()) } catch {
            throw ConfigError("objstore: \(error)")
        }
        bucket = instrumented
        do { catalog = try BlockCatalog(dataDir: config.tsdbPath) } catch {
            throw ConfigError("block catalog \(config.tsdbPath)/\(BlockCatalog.fileName): \(error)")
        }
        if config.store {
            let cache: PageCache
            do { cache = try PageCache(dir: config.tsdbPath + "/bucket-cache", capacityBytes: config.storeCacheSize) } catch {
                throw ConfigError("bucket page cache \(config.tsdbPath)/bucket-cache: \(error)")
            }
            // Blocks retention has let go locally are read from the bucket: one query path, no gap.
            let s = BucketStore(bucket: instrumented, cache: cache, catalog: catalog!,
                                deletionMarkDelay: Double(config.storeDeletionMarkDelay) / 1000)
            try? s.refresh()
            store = s
        }
    }
    // Every tenant's blocks open now (fast: their indexes are mapped, not read); heads fill during replay.
    let tenants = try MultiTSDB(root: config.tsdbPath, options: options, bucket: bucket, catalog: catalog, store: store, logger: logger)
    if let resultsCache {
        store?.onChange { resultsCache.invalidate(mint: $0, maxt: $1) }
        tenants.onBlockEvent { _, event in
            if case .deleted(_, .retention) = event { resultsCache.invalidateAll() }
        }
    }
    // `/api/v1/status/walreplay` shows the segments to replay from the first request on;
    // `current` moves as each is done.
    startup.setWALReplay(WALReplayService.initialProgress(tenants.all))
    var compactorService: BucketCompactorService?
    if let bucket, config.compact {
        var compactor = config.compactor
        // Tenants' blocks still on their way up hold back their groups.
        compactor.pendingUploads = {
            tenants.all.compactMap { t in t.shipper?.hasPendingUploads() == true ? t.externalLabels : nil }
        }
        compactorService = BucketCompactorService(bucket: bucket, workDir: config.tsdbPath + "/compact", options: compactor,
                                                  intervalMillis: config.compactInterval, stats: CompactorStats(), catalog: catalog,
                                                  store: store, startup: startup, logger: logger)
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
    apiOptions.engine.parallelism = config.queryWorkersPerQuery
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
    apiOptions.resultsCache = resultsCache
    apiOptions.startTime = rfc3339Now()
    apiOptions.storageRetention = PrometheusAPI<StrataRequestContext>.storageRetention(timeMillis: config.retentionTime,
                                                                                       sizeBytes: config.retentionSize)
    apiOptions.logger = logger
    apiOptions.slowQueryLog = config.slowQueryLog > 0 ? .milliseconds(config.slowQueryLog) : nil
    apiOptions.tenancy = config.tenancy
    apiOptions.queryTenancy = config.queryTenancy
    apiOptions.splitTenantLabel = config.splitTenantLabel
    apiOptions.tenantSources = { name in
        let t = tenants.tenant(name)
        return (t?.db, t?.db)
    }
    apiOptions.writeLimits = { limits?.current() ?? inlineLimits }
    apiOptions.headSeries = { tenants.tenant($0)?.head.numSeries ?? 0 }
    let notifier = try makeNotifier(config: config, logger: logger)
    let rules = try makeRuleManager(config: config, tenants: tenants, engine: apiOptions.engine, parser: apiOptions.parser,
                                    notifier: notifier, logger: logger)
    apiOptions.rules = rules
    apiOptions.configYAML = configYAML(config)
    reloader.set { try rules.reload() }
    if config.enableLifecycle { apiOptions.reload = { try reloader.reload() } }
    let httpMetrics = HTTPMetrics(registry: registry)
    apiOptions.observeQuery = { kind, duration, failed in httpMetrics.observeQuery(kind: kind, duration: duration, failed: failed) }

    let router = Router(context: StrataRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(metrics: httpMetrics))
    let api = PrometheusAPI<StrataRequestContext>(storage: tenants, writer: tenants, metadata: tenants, cardinality: tenants,
                                                 admin: config.enableAdminAPI ? tenants : nil,
                                                 options: apiOptions, startup: startup)
    api.register(on: router)
    WebUI.register(on: router)
    BlocksEndpoint(tenants: tenants, bucket: bucket, catalog: catalog).register(on: router)
    let metrics = MetricsEndpoint(tenants: tenants, api: api.stats, writes: api.tenantStats, queryLoad: { api.queryLoad },
                                  bucket: bucket, store: store, compactor: compactorService?.stats, resultsCache: resultsCache,
                                  rules: rules, notifier: notifier, registry: registry)
    metrics.register(on: router)

    logger.info("starting Strata", metadata: [
        "version": "\(StrataVersion.current)", "http": "\(config.httpHost):\(config.httpPort)",
        "tsdb.path": "\(config.tsdbPath)", "tenants": "\(tenants.all.map(\.name))", "blocks": "\(tenants.all.reduce(0) { $0 + $1.db.blocks.count })",
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
            WALReplayService(tenants: tenants, startup: startup, metrics: metrics, logger: logger),
            WALService(tenants: tenants, fsync: config.walFsync, lock: lock, startup: startup, logger: logger),
            HeadSnapshotService(tenants: tenants, intervalMillis: config.headSnapshotInterval, startup: startup, logger: logger),
            CompactionService(tenants: tenants, tenantIdleMillis: config.tenantIdleTimeout, intervalMillis: config.compactionInterval,
                              startup: startup, logger: logger),
        ] + (notifier.map { [NotifierService(notifier: $0)] } ?? []) + [
            RulesService(manager: rules, startup: startup, logger: logger),
        ] + (bucket.map { [ShipperService(tenants: tenants, bucket: $0, catalog: catalog, store: store, intervalMillis: config.shipperInterval,
                                                     storeSyncMillis: config.storeSyncInterval, shutdownTimeout: .seconds(30),
                                                     startup: startup, logger: logger)] } ?? [])
            + (compactorService.map { [$0] } ?? []),
        onServerRunning: onServerRunning,
        logger: logger
    )
}

/// The rule manager of `--rule-file`: queries see everything a query sees (all tenants, the
/// bucket, replicas merged), writes go to the default tenant. The files are checked now, so a
/// bad one fails the start as it fails Prometheus'.
func makeRuleManager(config: ServerConfig, tenants: MultiTSDB, engine: EngineOptions, parser: ParserOptions,
                     notifier: Notifier?, logger: Logger) throws -> RuleManager {
    var options = config.rules
    options.parser.parserOptions = parser
    options.parser.checkTemplate = AlertTemplates.parseCheck
    var queryable: any Queryable = tenants
    if !config.replicaLabels.isEmpty { queryable = DedupQueryable(queryable, replicaLabels: config.replicaLabels) }
    let context = RuleEvaluationContext(engine: Engine(options: engine), queryable: queryable,
                                        templater: GoAlertTemplater(externalLabels: config.rulerExternalLabels, externalURL: config.effectiveExternalURL),
                                        limit: 0)
    let externalURL = config.effectiveExternalURL
    let output = RuleGroupOutput(appendable: TenantWriter(tenants: tenants, tenant: config.tenancy.defaultTenant),
                                 resendDelay: options.resendDelay) { expr, alerts in
        notifier?.send(Notifier.alerts(alerts, expr: expr, externalURL: externalURL))
    }
    let manager = RuleManager(options: options, context: context, output: output, logger: logger)
    do { _ = try manager.loadGroups(restored: false) } catch { throw ConfigError("rule files: \(error)") }
    return manager
}

/// The notifier of `--alertmanager.url` and `--alertmanager.config-file`; nil without any.
/// Alerts carry the ruler's external labels, as Prometheus' carry its global external labels.
func makeNotifier(config: ServerConfig, logger: Logger) throws -> Notifier? {
    guard !config.alertmanagers.isEmpty else { return nil }
    var options = Notifier.Options()
    options.queueCapacity = config.notificationQueueCapacity
    options.externalLabels = config.rulerExternalLabels
    do { return try Notifier(endpoints: config.alertmanagers, options: options, logger: logger) } catch {
        throw ConfigError("alertmanager: \(error)")
    }
}

/// `/api/v1/status/config`: what Strata runs, in the shape of a Prometheus configuration.
func configYAML(_ config: ServerConfig) -> String {
    var yaml = "global:\n  evaluation_interval: \(formatPrometheusDuration(milliseconds: config.rules.evaluationInterval))\n"
    if !config.externalLabels.isEmpty {
        yaml += "  external_labels:\n"
        for (k, v) in config.externalLabels.sorted(by: { $0.key < $1.key }) { yaml += "    \(k): \(goQuote(v))\n" }
    }
    if !config.alertmanagers.isEmpty {
        yaml += "alerting:\n  alertmanagers:\n"
        for am in config.alertmanagers {
            // The URL only: never credentials.
            yaml += "  - url: \(goQuote(am.url))\n"
        }
    }
    if !config.rules.ruleFiles.isEmpty {
        yaml += "rule_files:\n"
        for f in config.rules.ruleFiles { yaml += "- \(goQuote(f))\n" }
    }
    return yaml
}

public enum StrataVersion {
    public static let current = "0.1.0"
}

/// The current time as RFC 3339 UTC with seconds (`2026-11-27T19:10:34Z`).
func rfc3339Now() -> String {
    CivilDate.rfc3339(milliseconds: WallClock.nowMillis() / 1000 * 1000)
}
