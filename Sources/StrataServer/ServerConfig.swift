import Foundation
import NIOCore
import StrataBlockStore
import StrataRules
import StrataHTTPAPI
import StrataModel
import StrataObjectStore
import StrataPromQLParser
import StrataTSDB

/// Everything `strata serve` can be told; the defaults are the embedded single-machine setup.
public struct ServerConfig: Sendable {
    public var httpHost = "127.0.0.1"
    public var httpPort = 10902
    /// Data directory (WAL, blocks).
    public var tsdbPath = "./data"
    /// Lock the data directory so no second server opens it (`--tsdb.no-lockfile` turns it off).
    public var lockDataDirectory = true
    /// Largest remote-write body, compressed and decompressed.
    public var maxRequestBytes = 32 << 20
    /// Remote writes processed at once, and how long one waits for a slot before a 503 (ms).
    public var maxConcurrentWrites = 2 * System.coreCount
    public var writeQueueTimeout: Int64 = 10_000
    /// Block range in ms; chunks never cross it. Tests shorten it.
    public var blockDuration: Int64 = 2 * 3600 * 1000
    /// Remote-write samples newer than the clock plus this are refused (ms; 0 = no limit).
    public var tooFarInFutureWindow: Int64 = 10 * 60 * 1000
    public var lookbackDelta: Int64 = 5 * 60 * 1000
    /// Most samples one query may hold (`--query.max-samples`).
    public var queryMaxSamples = 50_000_000
    /// Queries evaluated at once; more wait in line (`--query.max-concurrency`).
    public var queryMaxConcurrency = 20
    /// Threads one query may use for a range function over a large selection
    /// (`--query.workers-per-query`).
    public var queryWorkersPerQuery = ProcessInfo.processInfo.activeProcessorCount
    /// Wall-clock limit per query in ms (`--query.timeout`).
    public var queryTimeout: Int64 = 2 * 60 * 1000
    /// Every command-line flag and its value, for `/api/v1/status/flags`.
    public var flagValues: [String: String] = [:]
    /// Prometheus' `--enable-feature` names that Strata honours.
    public var enabledFeatures: Set<Feature> = []

    public enum Feature: String, Sendable, CaseIterable {
        /// limitk, mad_over_time, sort_by_label, double_exponential_smoothing, ts_of_*_over_time, …
        case promqlExperimentalFunctions = "promql-experimental-functions"
        /// Keep `__name__` until the end of evaluation.
        case promqlDelayedNameRemoval = "promql-delayed-name-removal"
    }
    /// When the WAL is fsynced (see docs/operations.md for the power-loss window of each).
    public var walFsync: WALFsyncPolicy = .interval(1000)
    /// Compress WAL records with snappy when it makes them smaller.
    public var walCompression = true
    /// How often to snapshot the head while running (ms; 0 = only at shutdown).
    public var headSnapshotInterval: Int64 = 10 * 60 * 1000
    /// Blocks ending this long before the newest block's end are deleted (ms; 0 = keep all).
    public var retentionTime: Int64 = 15 * 24 * 3600 * 1000
    /// Oldest blocks are deleted while blocks + WAL exceed this many bytes (0 = no limit).
    public var retentionSize = 0
    /// How often the head is checked for a range to compact and retention applied (ms).
    public var compactionInterval: Int64 = 60_000
    /// Remote read limits (Prometheus' `--storage.remote.read-*` flags; 0 = no limit).
    public var remoteReadConcurrentLimit = 10
    public var remoteReadSampleLimit = 50_000_000
    public var remoteReadMaxBytesInFrame = 1 << 20
    /// Serve Prometheus' TSDB admin API (`/api/v1/admin/tsdb/snapshot`).
    public var enableAdminAPI = false
    /// Ship blocks to a bucket (`--no-shipper` turns it off).
    public var shipping = true
    /// The bucket (`--objstore.config*`); nil: a filesystem bucket at `<tsdb.path>/bucket`.
    public var objectStore: ObjectStoreConfig?
    /// External labels of every tenant's blocks (`--label`), besides the tenant label.
    public var externalLabels: [String: String] = [:]
    /// `--receive.tenant-label-name`: the external label that names a block's (and a series') tenant.
    public var tenantLabelName = "tenant_id"
    /// `--query.log-slow`: queries slower than this are logged at info (ms; 0: off).
    public var slowQueryLog: Int64 = 0
    /// `--tsdb.tenant-idle-timeout`: a tenant without writes for this long is flushed into blocks
    /// and closed (ms; 0: never).
    public var tenantIdleTimeout: Int64 = 3 * 3_600_000
    /// `--receive.split-tenant-label-name`: the series label that names each series' tenant.
    public var splitTenantLabel: String?
    /// How often the shipper looks for blocks to upload, besides right after one is written (ms).
    public var shipperInterval: Int64 = 30_000
    /// Query the bucket's blocks too (the store role), when shipping (`--no-store` turns it off).
    public var store = true
    /// Bytes of bucket pages cached on disk under `<tsdb.path>/bucket-cache` (`--store.cache-size`).
    public var storeCacheSize = 1 << 30
    /// How often the bucket is listed for blocks others wrote or deleted (ms); Strata's own
    /// uploads are queryable at once.
    public var storeSyncInterval: Int64 = 300_000
    /// How long a block marked for deletion stays queryable (ms), as Thanos' store gateway's
    /// `--ignore-deletion-marks-delay`.
    public var storeDeletionMarkDelay: Int64 = 24 * 3_600_000
    /// Run the bucket compactor (`--compact`), every `compactInterval` ms, with `compactor`'s
    /// delays and retention (`--delete-delay`, `--consistency-delay`, `--retention.resolution-*`).
    public var compact = false
    public var compactInterval: Int64 = 300_000
    public var compactor = BucketCompactor.Options()
    /// `--query.replica-label` (repeatable) and `--query.auto-downsampling`, as Thanos' querier.
    public var replicaLabels: [String] = []
    public var autoDownsampling = false
    /// `--query.partial-response`: the default of the `partial_response` query parameter.
    public var partialResponse = false
    /// The range query results cache (`--query-range.results-cache-size`, `split-interval`,
    /// `max-freshness`); a size of 0 turns it off.
    public var resultsCache = ResultsCache.Options()
    /// Where a write's tenant comes from (`--receive.tenant-header`, `--receive.default-tenant-id`).
    public var tenancy = TenantOptions()
    /// Whether reads are confined to the tenant their header names (`--query.enforce-tenancy`).
    public var queryTenancy = QueryTenancyOptions()
    /// Write limits: `--receive.limits-config-file` (re-read when it changes) or the YAML itself
    /// (`--receive.limits-config`).
    public var limitsConfigFile: String?
    public var limitsConfig: String?
    /// `--web.config.file`: TLS, basic auth and response headers in Prometheus' web-config format.
    public var webConfigFile: String?
    /// `--web.health-probes-without-auth`: `/-/healthy` and `/-/ready` answer without credentials.
    public var healthProbesWithoutAuth = false
    /// Rule files and how they run (`--rule-file`, `--rules.*`).
    public var rules = RuleManagerOptions()
    /// `--web.external-url`: the URL users reach Strata at, for alerts' generator links and
    /// templates' `externalURL` (empty: `http://<hostname>:<port>`).
    public var externalURL = ""
    /// `--web.enable-lifecycle`: `POST /-/reload` reloads the rule files.
    public var enableLifecycle = false
    /// Where alerts go (`--alertmanager.url`, `--alertmanager.config-file`).
    public var alertmanagers: [AlertmanagerEndpoint] = []
    /// `--alertmanager.notification-queue-capacity`.
    public var notificationQueueCapacity = 10_000

    /// The bucket the shipper writes to.
    /// The ruler's external labels: `--label`s and the default tenant's label, which its recorded
    /// series and alerts are stored under. Templates see them as `$externalLabels`; alerts sent to
    /// Alertmanager get those they lack.
    public var rulerExternalLabels: [String: String] {
        externalLabels.merging([tenantLabelName: tenancy.defaultTenant]) { a, _ in a }
    }

    /// `--web.external-url`, or `http://<hostname>:<port>` as Prometheus derives it.
    public var effectiveExternalURL: String {
        if !externalURL.isEmpty { return externalURL }
        return "http://\(ProcessInfo.processInfo.hostName):\(httpPort)"
    }

    public var effectiveObjectStore: ObjectStoreConfig {
        objectStore ?? ObjectStoreConfig(provider: .filesystem(directory: tsdbPath + "/bucket"))
    }

    /// Parses one `--label` value as Thanos' `parseFlagLabels` does: `name="value"`, the value a
    /// Go-quoted string, the name a valid label name.
    public static func parseLabel(_ s: String) throws -> (String, String) {
        guard let eq = s.firstIndex(of: "=") else { throw ConfigError("--label: unrecognized label \(goQuote(s))") }
        let name = String(s[..<eq])
        guard isLabelName(name) else {
            throw ConfigError("--label: unsupported format for label \(s): \(goQuote(name)) is not a valid label name")
        }
        let value: String
        do { value = try unquoteGoString(String(s[s.index(after: eq)...])) } catch {
            throw ConfigError("--label \(s): unquote label value: invalid syntax (the value must be quoted: name=\"value\")")
        }
        // An empty value is no label at all in Prometheus' model: the block's stream would not
        // carry it, and Thanos would see external labels that differ from the flags.
        guard !value.isEmpty else { throw ConfigError("--label \(s): empty label value (an external label needs a value)") }
        return (name, value)
    }

    /// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isLabelName(_ name: String) -> Bool {
        name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
            && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// External labels from `--label` flags; a name given twice is an error.
    public static func parseLabels(_ flags: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for f in flags {
            let (name, value) = try parseLabel(f)
            guard out[name] == nil else { throw ConfigError("--label: label \(name) given twice") }
            out[name] = value
        }
        return out
    }

    /// WAL segment size; tests make it small to exercise rotation.
    public var walSegmentSize = 128 << 20

    public init() {}

    /// Parses `HOST:PORT` (`[::1]:PORT` for IPv6).
    public mutating func setHTTPAddress(_ s: String) throws {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0 ... 65535).contains(port) else {
            throw ConfigError("invalid --http-address \(goQuote(s)): want HOST:PORT")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        httpHost = host.isEmpty ? "0.0.0.0" : host
        httpPort = port
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

