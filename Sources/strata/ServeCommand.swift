import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StrataHTTPAPI
import StrataObjectStore
import StrataServer
import Synchronization

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: remote-write ingest and the query API.",
        discussion: """
            With no flags Strata keeps its data in ./data and listens on 127.0.0.1:10902 (Thanos \
            Query's port). Remote write goes to /api/v1/write or /api/v1/receive.
            """
    )

    @Option(name: .customLong("http-address"), help: "Listen address for the HTTP API and remote write (HOST:PORT).")
    var httpAddress = "127.0.0.1:10902"

    @Option(name: .customLong("tsdb.path"), help: "Data directory.")
    var tsdbPath = "./data"

    @Flag(name: .customLong("tsdb.no-lockfile"),
          help: "Do not lock the data directory (by default a second server on the same --tsdb.path is refused at start).")
    var noLockfile = false

    @Option(name: .customLong("receive.max-request-bytes"),
            help: "Largest remote-write request body in bytes, checked before and after snappy decompression; larger requests get 413.")
    var maxRequestBytes = 32 << 20

    @Option(name: .customLong("receive.max-concurrent-writes"),
            help: "Remote-write requests decoded and stored at once (default: twice the CPU count); more wait, unread, for a slot.")
    var maxConcurrentWrites: Int?

    @Option(name: .customLong("receive.write-queue-timeout"),
            help: "How long a remote write waits for a slot before it is answered 503 with Retry-After (Prometheus duration).")
    var writeQueueTimeout = "10s"

    @Option(name: .customLong("receive.tenant-header"),
            help: "HTTP header that names a write's tenant (then the THANOS-TENANT header, then --receive.default-tenant-id), as Thanos Receive.")
    var tenantHeader = "THANOS-TENANT"

    @Option(name: .customLong("receive.default-tenant-id"), help: "Tenant of writes that name none.")
    var defaultTenant = "default-tenant"

    @Option(name: .customLong("receive.tenant-label-name"),
            help: "External label that carries a block's tenant: written into shipped meta.json and attached to every series at query time.")
    var tenantLabelName = "tenant_id"

    @Option(name: .customLong("query.log-slow"),
            help: "Log queries that take at least this long at info, with their expression and times (Prometheus duration; 0s: off). Failed queries are logged at debug.")
    var queryLogSlow = "0s"

    @Option(name: .customLong("tsdb.tenant-idle-timeout"),
            help: "A tenant without writes for this long is flushed (its head written as blocks, shipped as any other) and closed (WAL removed, head freed); its blocks stay queryable and its next write opens it again. 0s: never (Prometheus duration).")
    var tenantIdleTimeout = "3h"

    @Option(name: .customLong("receive.tenant-certificate-field"),
            help: "Take a write's tenant from this field of its TLS client certificate instead of the header: organization, organizationalUnit or commonName (needs client certificates in --web.config.file), as Thanos Receive.")
    var tenantCertificateField: String?

    @Option(name: .customLong("receive.split-tenant-label-name"),
            help: "Series label that names each series' tenant (removed before the series is stored); series without it go to the request's tenant, as Thanos Receive.")
    var splitTenantLabel: String?

    @Option(name: .customLong("query.tenant-header"), help: "HTTP header that names a read's tenant, under --query.enforce-tenancy.")
    var queryTenantHeader = "THANOS-TENANT"

    @Option(name: .customLong("query.default-tenant-id"), help: "Tenant of reads that name none, under --query.enforce-tenancy.")
    var queryDefaultTenant = "default-tenant"

    @Option(name: .customLong("query.tenant-label-name"), help: "Label a read's tenant is matched on, under --query.enforce-tenancy.")
    var queryTenantLabelName = "tenant_id"

    @Flag(name: .customLong("query.enforce-tenancy"),
          help: "Confine every read to the tenant its --query.tenant-header names (the default tenant without one): each selector and match[] gets the tenant matcher, as prom-label-proxy adds it.")
    var enforceTenancy = false

    @Option(name: .customLong("receive.limits-config-file"),
            help: "Thanos Receive limits YAML (write.global.max_concurrency, per-request size/series/samples limits, head_series_limit, per tenant with defaults; plus ingestion_rate and ingestion_burst_size). Re-read when it changes.")
    var limitsConfigFile: String?

    @Option(name: .customLong("receive.limits-config"), help: "The limits YAML itself, instead of --receive.limits-config-file.")
    var limitsConfig: String?

    @Option(name: .customLong("query.replica-label"), parsing: .singleValue,
            help: "Label that tells HA replicas apart (repeatable), as Thanos' querier: series equal but for it are read as one, unless a request says dedup=false.")
    var replicaLabels: [String] = []

    @Flag(name: .customLong("query.partial-response"),
          help: "When the bucket cannot be read, queries without partial_response answer from local data with a warning instead of failing (Thanos' querier flag; off by default here).")
    var partialResponse = false

    @Flag(name: .customLong("query.auto-downsampling"),
          help: "Range queries without max_source_resolution read downsampled blocks up to step/5, as Thanos' querier with the same flag.")
    var autoDownsampling = false

    @Option(name: .customLong("query-range.split-interval"),
            help: "Range queries are answered in pieces of this length (aligned to it), each cached on its own (Prometheus duration).")
    var splitInterval = "24h"

    @Option(name: .customLong("query-range.results-cache-size"),
            help: "Memory for cached range query pieces (bytes: 100MB, 1GiB, …; 0 turns the cache off).")
    var resultsCacheSize = "100MB"

    @Option(name: .customLong("query-range.max-freshness"),
            help: "Steps newer than this are always evaluated, never cached: data may still arrive for them (Prometheus duration).")
    var maxFreshness = "1m"

    @Option(name: .customLong("query.lookback-delta"),
            help: "How far back an instant selector looks for the newest sample (Prometheus duration).")
    var lookbackDelta = "5m"

    @Option(name: .customLong("query.max-samples"),
            help: "Most samples a single query may load into memory; larger queries fail with a clear error.")
    var queryMaxSamples = 50_000_000

    @Option(name: .customLong("query.max-concurrency"),
            help: "Queries evaluated at once; more wait in line (their wait counts against --query.timeout).")
    var queryMaxConcurrency = 20

    @Option(name: .customLong("query.workers-per-query"),
            help: "Threads one query may use to evaluate a range function over a large selection (default: the machine's cores; 1: none besides its own).")
    var queryWorkersPerQuery: Int?

    @Option(name: .customLong("query.timeout"), help: "Longest a query may run (Prometheus duration).")
    var queryTimeout = "2m"

    @Option(name: .customLong("storage.remote.read-concurrent-limit"),
            help: "Remote-read requests served at once (0 = no limit); they do not take query slots.")
    var remoteReadConcurrentLimit = 10

    @Option(name: .customLong("storage.remote.read-sample-limit"),
            help: "Most samples one remote-read response of type SAMPLES may hold (0 = no limit); streamed chunks are not limited.")
    var remoteReadSampleLimit = 50_000_000

    @Option(name: .customLong("storage.remote.read-max-bytes-in-frame"),
            help: "Target size of one frame of a streamed remote-read response, in bytes.")
    var remoteReadMaxBytesInFrame = 1 << 20

    @Option(name: .customLong("enable-feature"), parsing: .singleValue,
            help: "Experimental Prometheus features to turn on (repeatable or comma-separated): promql-experimental-functions, promql-delayed-name-removal.")
    var enableFeature: [String] = []

    @Option(name: .customLong("tsdb.block-duration"),
            help: "Block range (Prometheus duration). Head chunks never cross a multiple of it; samples older than half of it behind the newest sample are out of bounds.")
    var blockDuration = "2h"

    @Option(name: .customLong("tsdb.too-far-in-future.time-window"),
            help: "Remote-write samples more than this ahead of the server's clock are refused as out of bounds, so one client with a wrong clock cannot make every later write out of bounds (Prometheus duration; 0 = accept any future time).")
    var tooFarInFuture = "10m"

    @Option(name: .customLong("tsdb.retention.time"),
            help: "How long blocks are kept: a block is deleted once it ends this long before the newest block ends (Prometheus duration; 0 = keep all).")
    var retentionTime = "15d"

    @Option(name: .customLong("tsdb.retention.size"),
            help: "Most bytes blocks and WAL may take; the oldest blocks are deleted beyond it (B, KB, MB, GB, TB, PB, EB; powers of 1024; 0 = no limit).")
    var retentionSize = "0"

    @Option(name: .customLong("tsdb.compaction-interval"),
            help: "How often to check whether the head holds a range to cut into a block, and to apply retention (Prometheus duration).")
    var compactionInterval = "1m"

    @Option(name: .customLong("tsdb.wal-fsync"),
            help: "When to fsync the write-ahead log: 'interval' (every --tsdb.wal-fsync-interval; a power loss can take that much), 'always' (before every acknowledgement, shared by concurrent writes), or 'segment' (only when a 128 MiB segment is closed, as Prometheus). A crash of the process loses nothing in any mode.")
    var walFsync = "interval"

    @Option(name: .customLong("tsdb.wal-fsync-interval"), help: "Period of the 'interval' fsync policy (Prometheus duration).")
    var walFsyncInterval = "1s"

    @Option(name: .customLong("tsdb.head-snapshot-interval"),
            help: "How often to snapshot the head while running, so a restart after a crash replays only the WAL written since (Prometheus duration; 0 = only at a clean shutdown).")
    var headSnapshotInterval = "10m"

    @Flag(name: .customLong("tsdb.wal-compression"), inversion: .prefixedNo,
          help: "Compress WAL records with snappy when that makes them smaller.")
    var walCompression = true

    @Option(name: .customLong("objstore.config-file"),
            help: "Thanos objstore YAML file for the bucket blocks are shipped to (type FILESYSTEM, S3, GCS or AZURE). Default: a filesystem bucket at <tsdb.path>/bucket.")
    var objstoreConfigFile: String?

    @Option(name: .customLong("objstore.config"), help: "The objstore YAML itself, instead of --objstore.config-file.")
    var objstoreConfig: String?

    @Option(name: .customLong("label"), parsing: .singleValue,
            help: "External label of every tenant's blocks, name=\"value\" (repeatable), besides the tenant label (--receive.tenant-label-name); attached to series at query time.")
    var labels: [String] = []

    @Flag(name: .customLong("shipper"), inversion: .prefixedNo,
          help: "Ship new blocks to the bucket (local retention then waits for each block to be uploaded, and blocks are not merged locally).")
    var shipper = true

    @Flag(name: .customLong("store"), inversion: .prefixedNo,
          help: "Query the bucket's blocks too (the store role), so data local retention let go stays queryable. Needs the shipper.")
    var store = true

    @Option(name: .customLong("store.cache-size"), help: "Disk cache for bucket pages under <tsdb.path>/bucket-cache (bytes: 512MB, 2GiB, …).")
    var storeCacheSize = "1GiB"

    @Option(name: .customLong("store.sync-interval"), help: "How often the bucket is listed for blocks written or deleted by others (Strata's own uploads are queryable at once).")
    var storeSyncInterval = "5m"

    @Option(name: .customLong("store.ignore-deletion-marks-delay"), help: "How long a block marked for deletion stays queryable, as Thanos' store gateway.")
    var storeDeletionMarkDelay = "24h"

    @Flag(name: .customLong("compact"),
          help: "Run the bucket compactor too (Thanos' compactor role): merge the bucket's blocks, apply --retention.resolution-*, delete marked blocks after --delete-delay. Run it on one server per bucket.")
    var compact = false

    @Option(name: .customLong("compact.wait-interval"), help: "Time between two compactor iterations (Thanos' --wait-interval).")
    var compactWaitInterval = "5m"

    @OptionGroup var compactor: CompactorFlags

    @OptionGroup var ruleFlags: RuleFlags

    @Option(name: .customLong("shipper.interval"),
            help: "How often the shipper looks for blocks to upload and retries failed uploads, besides a pass on each block written (Prometheus duration).")
    var shipperInterval = "30s"

    @Flag(name: .customLong("web.enable-admin-api"), help: "Serve Prometheus' TSDB admin API (POST /api/v1/admin/tsdb/snapshot).")
    var enableAdminAPI = false

    @Option(name: .customLong("web.config.file"),
            help: "Prometheus web-config file (exporter-toolkit format): tls_server_config, basic_auth_users (bcrypt), http_server_config.headers. Re-read when it or its TLS files change.")
    var webConfigFile: String?

    @Flag(name: .customLong("web.health-probes-without-auth"),
          help: "Answer /-/healthy and /-/ready without basic auth, for load balancers and orchestrators that cannot send credentials.")
    var healthProbesWithoutAuth = false

    @Option(name: .customLong("log.level"), help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(name: .customLong("log.format"), help: "Log format on standard error: logfmt or json, as Prometheus.")
    var logFormat = "logfmt"

    /// A flag's value that must be an HTTP header name.
    static func headerName(_ flag: String, _ value: String) throws -> String {
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
            throw ValidationError("invalid \(flag) \"\(value)\": not an HTTP header name")
        }
        return value
    }

    /// A flag's value that must be a valid tenant name (the rule writes are held to).
    static func tenantName(_ flag: String, _ value: String) throws -> String {
        if let problem = TenantOptions.problem(value) { throw ValidationError("invalid \(flag) \"\(value)\": \(problem)") }
        return value
    }

    /// A flag's value that must be a Prometheus label name.
    static func labelName(_ flag: String, _ value: String) throws -> String {
        guard ServerConfig.isLabelName(value) else { throw ValidationError("invalid \(flag) \"\(value)\": not a label name") }
        return value
    }

    func run() async throws {
        var config = ServerConfig()
        try config.setHTTPAddress(httpAddress)
        config.tsdbPath = tsdbPath
        config.lockDataDirectory = !noLockfile
        guard maxRequestBytes > 0 else { throw ValidationError("--receive.max-request-bytes must be positive") }
        config.maxRequestBytes = maxRequestBytes
        if let maxConcurrentWrites {
            guard maxConcurrentWrites > 0 else { throw ValidationError("--receive.max-concurrent-writes must be positive") }
            config.maxConcurrentWrites = maxConcurrentWrites
        }
        guard let wqt = DurationFlag.parse(writeQueueTimeout), wqt > 0 else {
            throw ValidationError("invalid --receive.write-queue-timeout \"\(writeQueueTimeout)\"")
        }
        config.writeQueueTimeout = wqt
        guard let lb = DurationFlag.parse(lookbackDelta), lb > 0 else {
            throw ValidationError("invalid --query.lookback-delta \"\(lookbackDelta)\"")
        }
        config.lookbackDelta = lb
        guard queryMaxSamples > 0 else { throw ValidationError("--query.max-samples must be positive") }
        config.queryMaxSamples = queryMaxSamples
        guard queryMaxConcurrency > 0 else { throw ValidationError("--query.max-concurrency must be positive") }
        config.queryMaxConcurrency = queryMaxConcurrency
        if let queryWorkersPerQuery {
            guard queryWorkersPerQuery > 0 else { throw ValidationError("--query.workers-per-query must be positive") }
            config.queryWorkersPerQuery = queryWorkersPerQuery
        }
        guard remoteReadConcurrentLimit >= 0 else { throw ValidationError("--storage.remote.read-concurrent-limit must not be negative") }
        guard remoteReadSampleLimit >= 0 else { throw ValidationError("--storage.remote.read-sample-limit must not be negative") }
        guard remoteReadMaxBytesInFrame > 0 else { throw ValidationError("--storage.remote.read-max-bytes-in-frame must be positive") }
        config.remoteReadConcurrentLimit = remoteReadConcurrentLimit
        config.remoteReadSampleLimit = remoteReadSampleLimit
        config.remoteReadMaxBytesInFrame = remoteReadMaxBytesInFrame
        guard let qt = DurationFlag.parse(queryTimeout), qt > 0 else {
            throw ValidationError("invalid --query.timeout \"\(queryTimeout)\"")
        }
        config.queryTimeout = qt
        guard let si = DurationFlag.parse(splitInterval), si > 0 else {
            throw ValidationError("invalid --query-range.split-interval \"\(splitInterval)\"")
        }
        config.resultsCache.splitInterval = si
        guard let rcs = ByteSizeFlag.parse(resultsCacheSize) else {
            throw ValidationError("invalid --query-range.results-cache-size \"\(resultsCacheSize)\": want a size such as 100MB or 1GiB, or 0")
        }
        config.resultsCache.capacityBytes = rcs
        guard let mf = DurationFlag.parse(maxFreshness), mf >= 0 else {
            throw ValidationError("invalid --query-range.max-freshness \"\(maxFreshness)\"")
        }
        config.resultsCache.maxFreshness = mf
        for name in enableFeature.flatMap({ $0.split(separator: ",") }).map({ String($0.filter { $0 != " " }) }) where !name.isEmpty {
            guard let f = ServerConfig.Feature(rawValue: name) else {
                throw ValidationError("unknown --enable-feature \"\(name)\": known are \(ServerConfig.Feature.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.enabledFeatures.insert(f)
        }
        guard let bd = DurationFlag.parse(blockDuration), bd >= 60_000 else {
            throw ValidationError("invalid --tsdb.block-duration \"\(blockDuration)\" (at least 1m)")
        }
        config.blockDuration = bd
        if tooFarInFuture == "0" || tooFarInFuture == "0s" { config.tooFarInFutureWindow = 0 } else {
            guard let w = DurationFlag.parse(tooFarInFuture), w > 0 else {
                throw ValidationError("invalid --tsdb.too-far-in-future.time-window \"\(tooFarInFuture)\"")
            }
            config.tooFarInFutureWindow = w
        }
        if retentionTime == "0" { config.retentionTime = 0 } else {
            guard let rt = DurationFlag.parse(retentionTime), rt > 0 else {
                throw ValidationError("invalid --tsdb.retention.time \"\(retentionTime)\"")
            }
            config.retentionTime = rt
        }
        guard let rs = ByteSizeFlag.parse(retentionSize) else {
            throw ValidationError("invalid --tsdb.retention.size \"\(retentionSize)\": want a number with a unit such as 512MB or 10GB")
        }
        config.retentionSize = rs
        guard let ci = DurationFlag.parse(compactionInterval), ci > 0 else {
            throw ValidationError("invalid --tsdb.compaction-interval \"\(compactionInterval)\"")
        }
        config.compactionInterval = ci
        guard let si = DurationFlag.parse(shipperInterval), si > 0 else {
            throw ValidationError("invalid --shipper.interval \"\(shipperInterval)\"")
        }
        config.shipperInterval = si
        config.store = store
        guard let cs = ByteSizeFlag.parse(storeCacheSize), cs > 0 else {
            throw ValidationError("invalid --store.cache-size \"\(storeCacheSize)\": want a size such as 512MB or 2GiB")
        }
        config.storeCacheSize = cs
        guard let ssi = DurationFlag.parse(storeSyncInterval), ssi > 0 else { throw ValidationError("invalid --store.sync-interval \"\(storeSyncInterval)\"") }
        config.storeSyncInterval = ssi
        guard let dmd = DurationFlag.parse(storeDeletionMarkDelay), dmd >= 0 else {
            throw ValidationError("invalid --store.ignore-deletion-marks-delay \"\(storeDeletionMarkDelay)\"")
        }
        config.storeDeletionMarkDelay = dmd
        config.compact = compact
        for l in replicaLabels where !ServerConfig.isLabelName(l) { throw ValidationError("invalid --query.replica-label \"\(l)\": not a label name") }
        config.replicaLabels = replicaLabels
        config.autoDownsampling = autoDownsampling
        config.partialResponse = partialResponse
        guard let cwi = DurationFlag.parse(compactWaitInterval), cwi > 0 else { throw ValidationError("invalid --compact.wait-interval \"\(compactWaitInterval)\"") }
        config.compactInterval = cwi
        config.compactor = try compactor.options()
        if compact && !shipper { throw ValidationError("--compact needs the bucket: it cannot be used with --no-shipper") }
        switch walFsync {
        case "always": config.walFsync = .always
        case "segment": config.walFsync = .segment
        case "interval":
            guard let ms = DurationFlag.parse(walFsyncInterval), ms > 0 else {
                throw ValidationError("invalid --tsdb.wal-fsync-interval \"\(walFsyncInterval)\"")
            }
            config.walFsync = .interval(ms)
        default:
            throw ValidationError("invalid --tsdb.wal-fsync \"\(walFsync)\": want interval, always or segment")
        }
        config.walCompression = walCompression
        config.enableAdminAPI = enableAdminAPI
        config.webConfigFile = webConfigFile
        config.tenancy.header = try Self.headerName("--receive.tenant-header", tenantHeader)
        config.tenancy.defaultTenant = try Self.tenantName("--receive.default-tenant-id", defaultTenant)
        config.tenantLabelName = try Self.labelName("--receive.tenant-label-name", tenantLabelName)
        if let field = tenantCertificateField {
            guard let f = TenantCertificateField(rawValue: field) else {
                throw ValidationError("invalid --receive.tenant-certificate-field \"\(field)\": tls client cert field requested is not supported (want organization, organizationalUnit or commonName)")
            }
            config.tenancy.certificateField = f
        }
        guard let idle = DurationFlag.parse(tenantIdleTimeout), idle >= 0 else {
            throw ValidationError("invalid --tsdb.tenant-idle-timeout \"\(tenantIdleTimeout)\"")
        }
        config.tenantIdleTimeout = idle
        guard let slow = DurationFlag.parse(queryLogSlow), slow >= 0 else { throw ValidationError("invalid --query.log-slow \"\(queryLogSlow)\"") }
        config.slowQueryLog = slow
        config.splitTenantLabel = try splitTenantLabel.map { try Self.labelName("--receive.split-tenant-label-name", $0) }
        config.queryTenancy.enforce = enforceTenancy
        config.queryTenancy.header = try Self.headerName("--query.tenant-header", queryTenantHeader)
        config.queryTenancy.defaultTenant = try Self.tenantName("--query.default-tenant-id", queryDefaultTenant)
        config.queryTenancy.labelName = try Self.labelName("--query.tenant-label-name", queryTenantLabelName)
        if limitsConfigFile != nil && limitsConfig != nil {
            throw ValidationError("--receive.limits-config-file and --receive.limits-config cannot both be given")
        }
        // Checked now, before the data directory is touched; the server reads them again.
        if let limitsConfigFile { do { _ = try LimitsConfig.load(path: limitsConfigFile) } catch { throw ValidationError("\(error)") } }
        if let limitsConfig { do { _ = try LimitsConfig.parse(limitsConfig) } catch { throw ValidationError("--receive.limits-config: \(error)") } }
        config.limitsConfigFile = limitsConfigFile
        config.limitsConfig = limitsConfig
        config.healthProbesWithoutAuth = healthProbesWithoutAuth
        if headSnapshotInterval == "0" {
            config.headSnapshotInterval = 0
        } else {
            guard let ms = DurationFlag.parse(headSnapshotInterval), ms > 0 else {
                throw ValidationError("invalid --tsdb.head-snapshot-interval \"\(headSnapshotInterval)\"")
            }
            config.headSnapshotInterval = ms
        }
        if objstoreConfigFile != nil && objstoreConfig != nil {
            throw ValidationError("--objstore.config-file and --objstore.config cannot both be given")
        }
        if let path = objstoreConfigFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read --objstore.config-file \(path)")
            }
            do { config.objectStore = try ObjectStoreConfig.parse(text) } catch { throw ValidationError("--objstore.config-file \(path): \(error)") }
        } else if let yaml = objstoreConfig {
            do { config.objectStore = try ObjectStoreConfig.parse(yaml) } catch { throw ValidationError("--objstore.config: \(error)") }
        }
        do { config.externalLabels = try ServerConfig.parseLabels(labels) } catch { throw ValidationError("\(error)") }
        if config.externalLabels[tenantLabelName] != nil {
            throw ValidationError("--label \(tenantLabelName) clashes with the tenant label (--receive.tenant-label-name); each tenant's blocks carry their own")
        }
        config.shipping = shipper
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("invalid --log.level \"\(logLevel)\"") }
        config.flagValues = [
            "http-address": httpAddress, "tsdb.path": tsdbPath, "tsdb.no-lockfile": String(noLockfile), "receive.max-request-bytes": String(maxRequestBytes),
            "receive.max-concurrent-writes": String(config.maxConcurrentWrites), "receive.write-queue-timeout": writeQueueTimeout,
            "query.lookback-delta": lookbackDelta, "query.max-samples": String(queryMaxSamples), "query.timeout": queryTimeout,
            "query.max-concurrency": String(queryMaxConcurrency), "query.workers-per-query": String(config.queryWorkersPerQuery),
            "query-range.split-interval": splitInterval, "query-range.results-cache-size": resultsCacheSize,
            "query-range.max-freshness": maxFreshness,
            "storage.remote.read-concurrent-limit": String(remoteReadConcurrentLimit),
            "storage.remote.read-sample-limit": String(remoteReadSampleLimit),
            "storage.remote.read-max-bytes-in-frame": String(remoteReadMaxBytesInFrame),
            "enable-feature": enableFeature.joined(separator: ","), "tsdb.block-duration": blockDuration,
            "tsdb.too-far-in-future.time-window": tooFarInFuture,
            "tsdb.retention.time": retentionTime, "tsdb.retention.size": retentionSize,
            "tsdb.compaction-interval": compactionInterval, "web.enable-admin-api": String(enableAdminAPI),
            "tsdb.wal-fsync": walFsync, "tsdb.wal-fsync-interval": walFsyncInterval,
            "tsdb.head-snapshot-interval": headSnapshotInterval, "tsdb.wal-compression": String(walCompression),
            "log.level": logLevel, "log.format": logFormat, "objstore.config-file": objstoreConfigFile ?? "", "label": labels.joined(separator: ","),
            "shipper": String(shipper), "shipper.interval": shipperInterval, "store": String(store),
            "store.cache-size": storeCacheSize, "store.sync-interval": storeSyncInterval,
            "store.ignore-deletion-marks-delay": storeDeletionMarkDelay,
            "compact": String(compact), "compact.wait-interval": compactWaitInterval,
            "query.replica-label": replicaLabels.joined(separator: ","), "query.auto-downsampling": String(autoDownsampling),
            "query.partial-response": String(partialResponse),
            "receive.tenant-header": tenantHeader, "receive.default-tenant-id": defaultTenant, "receive.tenant-label-name": tenantLabelName,
            "receive.split-tenant-label-name": splitTenantLabel ?? "", "receive.tenant-certificate-field": tenantCertificateField ?? "", "tsdb.tenant-idle-timeout": tenantIdleTimeout,
            "query.log-slow": queryLogSlow,
            "query.tenant-header": queryTenantHeader, "query.default-tenant-id": queryDefaultTenant,
            "query.tenant-label-name": queryTenantLabelName, "query.enforce-tenancy": String(enforceTenancy),
            "receive.limits-config-file": limitsConfigFile ?? "",
            "web.config.file": webConfigFile ?? "", "web.health-probes-without-auth": String(healthProbesWithoutAuth),
        ].merging(compactor.flagValues) { a, _ in a }.merging(ruleFlags.flagValues) { a, _ in a }
        try ruleFlags.apply(to: &config)

        guard let format = LogFormat(rawValue: logFormat) else { throw ValidationError("invalid --log.format \"\(logFormat)\": want logfmt or json") }
        LoggingSystem.bootstrap { _ in StrataLogHandler(format: format, level: level) }
        // swift-metrics reports (from Strata or its libraries) land in the registry /metrics serves.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        if let webConfigFile { try WebConfig.check(path: webConfigFile) }
        try StartupChecks.checkTenantCertificateField(config.tenancy.certificateField, webConfig: try webConfigFile.map(WebConfig.load))
        try StartupChecks.checkListenAddress(host: config.httpHost, port: config.httpPort)
        try StartupChecks.checkDataDirectory(config.tsdbPath)
        try await BucketCheck.run(config)
        let logger = Logger(label: "strata")
        let reloader = Reloader()
        let app = try buildApplication(config: config, logger: logger, registry: registry, reloader: reloader)
        // Signals are handled (and logged) by SignalService, which starts the graceful shutdown.
        let shutdown = Mutex<ServiceGroup?>(nil)
        let signals = SignalService(logger: logger, reloader: reloader) { await shutdown.withLock { $0 }?.triggerGracefulShutdown() }
        var groupConfig = ServiceGroupConfiguration(services: [.init(service: app), .init(service: signals)], logger: logger)
        // A shutdown that takes longer (a shipper stuck on a bucket, a huge snapshot) is cut short.
        groupConfig.maximumGracefulShutdownDuration = .seconds(Serve.shutdownTimeoutSeconds)
        let group = ServiceGroup(configuration: groupConfig)
        shutdown.withLock { $0 = group }
        try await group.run()
        logger.info("Strata stopped")
    }

    /// Longest a graceful shutdown may take before the rest is cancelled (docs/operations.md).
    static let shutdownTimeoutSeconds: Int64 = 120
}

enum FlagAliases {
    static let serve: [String: String] = [
        "--storage.tsdb.path": "--tsdb.path",
        "--web.listen-address": "--http-address",
        "--storage.tsdb.retention.time": "--tsdb.retention.time",
        "--storage.tsdb.retention.size": "--tsdb.retention.size",
        "--storage.tsdb.no-lockfile": "--tsdb.no-lockfile",
        "--remote-write.address": "--http-address",
        "--tsdb.retention": "--tsdb.retention.time",
        "--eval-interval": "--rules.evaluation-interval",
    ]

    /// `args` with aliases of `serve`'s flags replaced (`--alias value` and `--alias=value`), and
    /// a notice per alias used. Flags with no Strata equivalent are refused by the parser as usual.
    static func rewrite(_ args: [String]) -> ([String], [String]) {
        guard args.first == "serve" else { return (args, []) }
        var out: [String] = [], notices: [String] = []
        for arg in args {
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            if name == "--web.enable-remote-write-receiver" {
                notices.append("notice: \(name) is Prometheus' flag; Strata always receives remote write (ignored)")
                continue
            }
            guard let strata = serve[name] else { out.append(arg); continue }
            notices.append("notice: \(name) is \(name.hasPrefix("--storage") || name == "--web.listen-address" ? "Prometheus'" : "Thanos Receive's") name; Strata's is \(strata) (accepted)")
            out.append(strata + arg.dropFirst(name.count))
        }
        return (out, notices)
    }
}
