import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataRemote
import StrataRuntime
import StrataStorage
import StrataRules

/// Build information served at `/api/v1/status/buildinfo` (no `features` field: Grafana would
/// otherwise treat Strata as Mimir).
public struct BuildInfo: Sendable {
    public var version = "0.1.0"
    public var revision = "unknown"
    public var branch = "main"
    public var buildUser = "strata"
    public var buildDate = "unknown"
    public var goVersion = "swift6"
    public init() {}
}

public struct APIOptions: Sendable {
    /// Range query results kept for dashboards that refresh or pan (`--query-range.*`); nil: off.
    public var resultsCache: ResultsCache?
    /// Largest remote-write body accepted, compressed and decompressed (`--receive.max-request-bytes`).
    public var maxRequestBytes = 32 << 20
    /// Remote-write requests decoded and appended at once (`--receive.max-concurrent-writes`), as
    /// VictoriaMetrics' `-maxConcurrentInserts`: more wait, unread, for a slot.
    public var maxConcurrentWrites = 2 * System.coreCount
    /// How long a write waits for a slot before it is answered 503 with `Retry-After`
    /// (`--receive.write-queue-timeout`); well under Prometheus' 30 s `remote_timeout`, so the
    /// sender hears back before it gives up and sends the same data again.
    public var writeQueueTimeout: Duration = .seconds(10)
    /// Run the blocking part of a write (decode, append, WAL commit) on a thread of its own
    /// instead of the task executor: worth its thread hop only when each commit waits for an
    /// fsync (`--tsdb.wal-fsync=always`).
    public var writesBlock = false
    /// Lookback delta, sample and time limits of the PromQL engine (`--query.*` flags).
    public var engine = EngineOptions()
    /// Called after every query with its kind (`instant`/`range`), wall time (including the wait
    /// for a slot) and whether it failed; the server records it on `/metrics`.
    public var observeQuery: (@Sendable (_ kind: String, _ duration: Duration, _ failed: Bool) -> Void)? = nil
    /// Queries evaluated at once; more wait in line (`--query.max-concurrency`).
    public var maxConcurrentQueries = 20
    /// Remote-read requests served at once, apart from queries (`--storage.remote.read-concurrent-limit`; 0 = no limit).
    public var remoteReadConcurrentLimit = 10
    /// Most samples one SAMPLES remote-read response may hold (`--storage.remote.read-sample-limit`; 0 = no limit).
    public var remoteReadSampleLimit = 50_000_000
    /// Target size of one STREAMED_XOR_CHUNKS frame (`--storage.remote.read-max-bytes-in-frame`).
    public var remoteReadMaxBytesInFrame = 1 << 20
    /// Which experimental parts of PromQL parse (`--enable-feature=promql-experimental-functions`).
    public var parser = ParserOptions()
    public var buildInfo = BuildInfo()
    /// `/api/v1/status/flags`: every flag of `strata serve` with its value.
    public var flags: [String: String] = [:]
    /// `/api/v1/status/runtimeinfo`: RFC 3339 start time and the local retention.
    public var startTime = ""
    public var storageRetention = "15d"
    /// `/api/v1/status/config`: Strata has no Prometheus configuration file; this says what it runs.
    public var configYAML = "global:\n  evaluation_interval: 1m\n"
    /// Labels that tell HA replicas apart (`--query.replica-label`): queries, series and label
    /// reads merge replicas into one series unless the request says `dedup=false`.
    public var replicaLabels: [String] = []
    /// Without `max_source_resolution`, range queries read downsampled data up to step/5
    /// (`--query.auto-downsampling`), as Thanos' querier.
    public var autoDownsampling = false
    /// Without `partial_response`, whether a read that cannot reach the bucket answers with the
    /// rest and a warning (`--query.partial-response`) or fails.
    public var partialResponse = false
    /// Where a write's tenant comes from (`--receive.tenant-header`, `--receive.default-tenant-id`).
    public var tenancy = TenantOptions()
    /// `--receive.split-tenant-label-name`: the label that names each series' tenant (removed
    /// before it is stored); series without it go to the request's tenant.
    public var splitTenantLabel: String?
    /// Whether reads are confined to a tenant, and which (`--query.enforce-tenancy`).
    public var queryTenancy = QueryTenancyOptions()
    /// One tenant's metric metadata and head statistics, for `/api/v1/metadata` and
    /// `/api/v1/status/tsdb` under `--query.enforce-tenancy` (nil: the whole storage's).
    public var tenantSources: (@Sendable (_ tenant: String) -> (metadata: (any MetadataSource)?, cardinality: (any CardinalitySource)?))?
    /// The write limits in force now (`--receive.limits-config-file`, re-read when it changes).
    public var writeLimits: @Sendable () -> WriteLimits = { WriteLimits() }
    /// Where refused writes are logged (at warning), at most once per tenant per interval.
    public var logger = Logger(label: "strata")
    /// `--query.log-slow`: queries that take at least this long (waiting for a slot included)
    /// are logged at info with their expression; nil: none are.
    public var slowQueryLog: Duration?
    public var refusalLogInterval: Duration = .seconds(10)
    /// Series in a tenant's head now, for `head_series_limit`.
    public var headSeries: @Sendable (_ tenant: String) -> Int = { _ in 0 }
    /// The rules behind `/api/v1/rules` and `/api/v1/alerts` (nil: none loaded).
    public var rules: RuleManager?
    /// `--web.enable-lifecycle`: what `POST /-/reload` runs (nil: the endpoint answers 403,
    /// as Prometheus' does with the flag off).
    public var reload: (@Sendable () throws -> Void)?
    public init() {}
}

/// The Prometheus-compatible HTTP surface: remote write, the query endpoints, health and status.
public struct PrometheusAPI<Context: RequestContext>: Sendable {
    let storage: any Queryable
    /// Where writes go, by tenant.
    let writer: any TenantAppendable
    let metadata: (any MetadataSource)?
    let cardinality: (any CardinalitySource)?
    /// The admin API; nil unless `--web.enable-admin-api`.
    let admin: (any TSDBAdmin)?
    let options: APIOptions
    let decoders = DecoderPool()
    /// Bounds concurrent remote writes (and so the bodies decoded at once).
    let writeGate: ConcurrencyGate
    let scheduler: ConcurrencyGate
    /// Remote read has its own gate, as in Prometheus, so bulk reads do not take query slots.
    let readScheduler: ConcurrencyGate
    let startup: StartupState
    public let stats = APIStats()
    /// Remote-write outcomes per tenant, for `/metrics`.
    public let tenantStats = TenantWriteStats()
    let ingestionRates = IngestionRateLimiter()
    /// Refused writes are logged at most once per tenant per `refusalLogInterval`, with how many were not.
    let refusalLog: RateLimitedLog
    /// Queries (and index scans) running and waiting for a slot now, for `/metrics`.
    public var queryLoad: (running: Int, waiting: Int) { scheduler.load }

    /// One storage for reads and for every tenant's writes.
    public init(storage: any Queryable & Appendable, metadata: (any MetadataSource)? = nil,
                cardinality: (any CardinalitySource)? = nil, admin: (any TSDBAdmin)? = nil,
                options: APIOptions = APIOptions(), startup: StartupState = StartupState(ready: true)) {
        self.init(storage: storage, writer: SharedTenantAppendable(storage), metadata: metadata, cardinality: cardinality, admin: admin,
                  options: options, startup: startup)
    }

    public init(storage: any Queryable, writer: any TenantAppendable, metadata: (any MetadataSource)? = nil,
                cardinality: (any CardinalitySource)? = nil, admin: (any TSDBAdmin)? = nil,
                options: APIOptions = APIOptions(), startup: StartupState = StartupState(ready: true)) {
        self.storage = storage
        self.writer = writer
        self.metadata = metadata
        self.cardinality = cardinality
        self.admin = admin
        self.options = options
        self.scheduler = ConcurrencyGate(maxConcurrency: options.maxConcurrentQueries)
        self.writeGate = ConcurrencyGate(maxConcurrency: options.maxConcurrentWrites)
        self.refusalLog = RateLimitedLog(interval: options.refusalLogInterval)
        self.readScheduler = ConcurrencyGate(maxConcurrency: options.remoteReadConcurrentLimit > 0 ? options.remoteReadConcurrentLimit : Int.max)
        self.startup = startup
    }

    public func register(on hummingbird: Router<Context>) {
        let table = RouteTable()
        hummingbird.add(middleware: APIMethodsMiddleware<Context>(table: table))
        hummingbird.add(middleware: ReadinessMiddleware<Context>(startup: startup) { path in
            if path == "/api/v1/write" || path == "/api/v1/receive" { self.stats.countWrite(503) }
        })
        hummingbird.add(middleware: GzipMiddleware<Context>())
        let router = APIRouter(router: hummingbird, table: table)
        for (path, flavor) in [("/api/v1/write", WriteFlavor.prometheus), ("/api/v1/receive", .thanos)] {
            router.post(RouterPath(path)) { req, ctx in
                let res = await self.remoteWrite(req, ctx, flavor: flavor)
                self.stats.countWrite(res.status.code)
                return res
            }
            for m in [HTTPRequest.Method.get, .put, .delete, .patch] {
                router.on(RouterPath(path), method: m) { _, _ in
                    self.stats.countWrite(405)
                    return APIResponses.text(.methodNotAllowed, "remote write only accepts POST requests\n")
                }
            }
        }
        for path in ["/api/v1/query", "/api/v1/query_range"] {
            let isRange = path.hasSuffix("range")
            router.get(RouterPath(path)) { req, ctx in await self.query(req, ctx, range: isRange) }
            router.post(RouterPath(path)) { req, ctx in await self.query(req, ctx, range: isRange) }
        }
        registerSeriesEndpoints(on: router)
        registerRemoteRead(on: router)
        registerFederate(on: router)
        registerParseQuery(on: router)
        registerStatusEndpoints(on: router)
        registerRulesEndpoints(on: router)
        registerAdmin(on: router)
        router.get("/api/v1/status/buildinfo") { _, _ in self.buildInfo() }
        router.get("/api/v1/status/walreplay") { _, _ in self.walReplay() }
        hummingbird.on("/-/healthy", method: .get) { _, _ in APIResponses.text(.ok, "Strata is Healthy.\n") }
        hummingbird.on("/-/healthy", method: .head) { _, _ in APIResponses.text(.ok, "") }
        hummingbird.on("/-/ready", method: .get) { _, _ in self.ready() }
        hummingbird.on("/-/ready", method: .head) { _, _ in self.ready() }
        for m in [HTTPRequest.Method.post, .put] {
            hummingbird.on("/-/reload", method: m) { _, _ in await self.reloadConfiguration() }
        }
        hummingbird.on("/-/reload", method: .get) { _, _ in APIResponses.text(.methodNotAllowed, "Only POST or PUT requests allowed\n") }
    }

    /// `POST /-/reload`: rule files read again (a bad one keeps the rules in force and is the
    /// 500's message), as Prometheus' lifecycle endpoint.
    func reloadConfiguration() async -> Response {
        guard let reload = options.reload else { return APIResponses.text(.forbidden, "Lifecycle API is not enabled.\n") }
        do {
            try await BlockingThread.run { try reload() }
            return APIResponses.text(.ok, "")
        } catch {
            return APIResponses.text(.internalServerError, "failed to reload config: \(error)\n")
        }
    }

    // MARK: remote write

    /// Whose answers a write path gives: Prometheus' receiver (`/api/v1/write`: 204, 400 for
    /// samples it refused) or Thanos Receive's (`/api/v1/receive`: 200 with an empty body, 409 for
    /// out-of-order, duplicate, out-of-bounds samples and label errors).
    enum WriteFlavor: Sendable { case prometheus, thanos }

    /// A remote write, checked in Thanos Receive's order: tenant, slot, head series limit, size,
    /// decode, series and samples limits, ingestion rate, then stored all or nothing.
    func remoteWrite(_ req: Request, _ context: Context, flavor: WriteFlavor) async -> Response {
        let tenant: String
        let named: Result<String, TenantNameError>
        if let field = options.tenancy.certificateField {
            // The client certificate names the tenant instead of a header (Thanos Receive).
            let subject = await (context as? any ClientCertificateAwareRequestContext)?.clientCertificateSubject
            switch field.tenant(in: subject) {
            case .success(let t): named = TenantOptions.problem(t).map { .failure(TenantNameError(name: t, problem: $0)) } ?? .success(t)
            case .failure(let e): return APIResponses.text(.badRequest, e.message + "\n")
            }
        } else {
            named = options.tenancy.tenant(of: req.headers)
        }
        switch named {
        case .success(let t): tenant = t
        case .failure(let e):
            if case (true, let suppressed) = refusalLog.admit("") {
                options.logger.warning("remote write refused", metadata: ["err": "\(e.message)", "similar_not_logged": "\(suppressed)"])
            }
            return APIResponses.text(.badRequest, e.message + "\n")
        }
        var refusedBy: String?, refusal: String?
        let res = await remoteWrite(req, context, flavor: flavor, tenant: tenant, refusedBy: &refusedBy, refusal: &refusal)
        tenantStats.record(tenant, status: res.response.status.code, samples: res.samplesAccepted, limit: refusedBy)
        if let refusal, case let (log, suppressed) = refusalLog.admit(tenant), log {
            options.logger.warning("remote write refused", metadata: [
                "tenant": "\(tenant)", "status": "\(res.response.status.code)", "path": "\(req.uri.path)",
                "err": "\(refusal.prefix(300))", "similar_not_logged": "\(suppressed)",
            ])
        }
        return res.response
    }

    private func remoteWrite(_ req: Request, _ context: Context, flavor: WriteFlavor, tenant: String,
                             refusedBy: inout String?, refusal: inout String?) async -> (response: Response, samplesAccepted: Int) {
        func answer(_ r: Response) -> (Response, Int) { (r, 0) }
        /// A 4xx the sender should hear about in the server's log too (rate-limited).
        func refuse(_ status: HTTPResponse.Status, _ message: String) -> (Response, Int) {
            refusal = message.hasSuffix("\n") ? String(message.dropLast()) : message
            return (APIResponses.text(status, message), 0)
        }
        if let enc = req.headers[.contentEncoding], !enc.isEmpty, enc.lowercased() != "snappy" {
            return refuse(.unsupportedMediaType, "unsupported Content-Encoding \(goQuote(enc)); remote write 1.0 requests must be snappy-compressed\n")
        }
        if let ct = req.headers[.contentType], !Self.isRemoteWriteV1(ct) {
            return refuse(.unsupportedMediaType, "unsupported Content-Type \(goQuote(ct)); expected application/x-protobuf (remote write 1.0)\n")
        }
        let allLimits = options.writeLimits()
        let limits = allLimits.effective(for: tenant)
        let concurrency = allLimits.maxConcurrency.flatMap { $0 > 0 ? $0 : nil } ?? options.maxConcurrentWrites
        if concurrency != writeGate.maxConcurrency { writeGate.setMaxConcurrency(concurrency) }
        // The slot is taken before the body is read: writes waiting for one hold no decoded data.
        // A free slot is taken at once; only a write that has to wait watches for its sender
        // hanging up (then it leaves the line: its answer would go nowhere).
        var granted = writeGate.tryHold()
        var clientGone = false
        if granted == nil {
            (granted, clientGone) = await withRequestCancellation(context) { cancellation in
                (await writeGate.hold(timeout: options.writeQueueTimeout, unless: cancellation), cancellation.isCancelled)
            }
        }
        guard let slot = granted else {
            if clientGone { return answer(APIResponses.text(.init(code: 499), "the client closed the connection while the write waited for a slot\n")) }
            stats.writesThrottled.add(1, ordering: .relaxed)
            let setting = concurrency == options.maxConcurrentWrites ? "--receive.max-concurrent-writes" : "write.global.max_concurrency"
            var res = APIResponses.text(.serviceUnavailable, "too many concurrent remote writes (\(setting)=\(concurrency)); no slot within --receive.write-queue-timeout; retry later\n")
            res.headers[.retryAfter] = "5"
            return answer(res)
        }
        defer { slot.release() }
        if let limit = limits.headSeries, options.headSeries(tenant) >= limit {
            refusedBy = "head_series_limit"
            return refuse(.tooManyRequests, "tenant is above active series limit (head_series_limit \(limit))\n")
        }
        let sizeLimit = min(options.maxRequestBytes, limits.sizeBytes ?? .max)
        if let len = req.headers[.contentLength].flatMap(Int.init), len > sizeLimit {
            guard len <= options.maxRequestBytes else {
                return refuse(.contentTooLarge, "request body is \(len) bytes, larger than the limit of \(sizeLimit) bytes\n")
            }
            refusedBy = "size_bytes_limit"
            return refuse(.contentTooLarge, "write request too large: \(len) bytes, more than tenant \(tenant)'s size_bytes_limit of \(sizeLimit)\n")
        }
        let body: ByteBuffer
        switch await Self.readBody(req, limit: sizeLimit) {
        case .success(let b): body = b
        case .failure(let refusal): return answer(refusal.response)
        }

        let counts = WriteCountLimits(series: limits.series, samples: limits.samples)
        let rates = ingestionRates
        let admit: @Sendable (WriteSummary) -> AdmitRefusal? = { summary in
            guard let rate = limits.ingestionRate, let burst = limits.ingestionBurst else { return nil }
            switch rates.take(summary.samplesAccepted, tenant: tenant, rate: rate, burst: burst) {
            case .allowed: return nil
            case .retryAfter(let s): return .rate(retryAfter: s, rate: rate)
            case .largerThanBurst: return .burst(samples: summary.samplesAccepted, burst: burst)
            }
        }
        let outcome = options.writesBlock
            ? await BlockingThread.run { [self] in store(body, tenant: tenant, limit: sizeLimit, counts: counts, admit: admit) }
            : store(body, tenant: tenant, limit: sizeLimit, counts: counts, admit: admit)
        switch outcome {
        case .notDurable(let why):
            // Not durable, so not acknowledged: a 5xx makes the sender retry (nothing of this
            // request was applied, so the retry is accepted in full).
            return answer(APIResponses.text(.internalServerError, "storing the write failed: \(why)\n"))
        case .refused(let e):
            switch e {
            case .tooLarge(let n, _) where sizeLimit < options.maxRequestBytes:
                refusedBy = "size_bytes_limit"
                return refuse(.contentTooLarge, "write request too large: decoded, it is \(n) bytes, more than tenant \(tenant)'s size_bytes_limit of \(sizeLimit)\n")
            case .tooLarge: break
            case .tooManySeries: refusedBy = "series_limit"
            case .tooManySamples: refusedBy = "samples_limit"
            default: return refuse(.badRequest, e.message + "\n")
            }
            return refuse(.contentTooLarge, e.message + "\n")
        case .notAdmitted(.rate(let retryAfter, let rate)):
            refusedBy = "ingestion_rate"
            var res = refuse(.tooManyRequests, "tenant \(tenant) is above its ingestion rate of \(GoFloat.format(rate)) samples/s; retry in \(retryAfter)s\n")
            res.0.headers[.retryAfter] = String(retryAfter)
            return res
        case .notAdmitted(.burst(let samples, let burst)):
            // Never admitted, however long the sender waits: 413, which it does not retry.
            refusedBy = "ingestion_rate"
            return refuse(.contentTooLarge, "write request has \(samples) samples, more than tenant \(tenant)'s ingestion burst of \(Int(burst))\n")
        case .stored(let s):
            stats.samplesAccepted.add(s.samplesAccepted, ordering: .relaxed)
            stats.samplesRejected.add(s.samplesRejected + s.histogramsRejected, ordering: .relaxed)
            guard let first = s.firstFailure else {
                return (flavor == .thanos ? Response(status: .ok) : Response(status: .noContent), s.samplesAccepted)
            }
            var msg = "\(first.failure.message) for series \(first.labels)"
            let rejected = s.samplesRejected + s.histogramsRejected
            msg += "; \(rejected) of \(rejected + s.samplesAccepted) samples rejected in \(s.seriesRejected) series, "
            msg += "\(s.samplesAccepted) samples accepted\n"
            let refused = refuse(flavor == .thanos && Self.isConflict(first.failure) ? .conflict : .badRequest, msg)
            return (refused.0, s.samplesAccepted)
        }
    }

    /// What Thanos Receive answers 409 Conflict: samples the TSDB refused for their time, and
    /// label errors (`isLabelsConflictErr`). Native histograms (not supported here) stay 400.
    static func isConflict(_ f: AppendFailure) -> Bool {
        switch f {
        case .outOfOrder, .duplicate, .outOfBounds, .tooFarInFuture, .invalidLabels: return true
        case .unsupported: return false
        }
    }

    /// Why a body could not be read: too large (413), or the connection failed mid-body (400).
    struct BodyRefusal: Error {
        let response: Response
    }

    /// Reads a request body of at most `limit` bytes.
    static func readBody(_ req: Request, limit: Int) async -> Result<ByteBuffer, BodyRefusal> {
        do { return .success(try await req.body.collect(upTo: limit)) } catch is NIOTooManyBytesError {
            return .failure(BodyRefusal(response: APIResponses.text(.contentTooLarge, "request body is larger than the limit of \(limit) bytes\n")))
        } catch {
            return .failure(BodyRefusal(response: APIResponses.text(.badRequest, "reading the request body failed: \(error)\n")))
        }
    }

    enum WriteOutcome: Sendable {
        case stored(WriteSummary)
        /// Undecodable or too large: 400 / 413, nothing stored.
        case refused(RemoteWriteError)
        /// Decoded, but `admit` said no: nothing stored.
        case notAdmitted(AdmitRefusal)
        /// The WAL refused the commit: nothing applied, 500 so the sender retries.
        case notDurable(String)
    }

    /// Why a decoded write is not committed (the tenant's ingestion rate).
    enum AdmitRefusal: Sendable {
        case rate(retryAfter: Int, rate: Double)
        case burst(samples: Int, burst: Double)
    }

    /// Decodes a snappy remote-write body into one appender and commits it: all of it or none.
    /// `admit` sees what was decoded before the commit and may refuse it all.
    func store(_ body: ByteBuffer, tenant: String, limit: Int, counts: WriteCountLimits = WriteCountLimits(),
               admit: (WriteSummary) -> AdmitRefusal? = { _ in nil }) -> WriteOutcome {
        let appender: any Appender = options.splitTenantLabel.map { SplitTenantAppender(writer: writer, defaultTenant: tenant, labelName: $0) }
            ?? TenantAppender(writer: writer, tenant: tenant)
        return decoders.withDecoder { decoder in
            let decoded: Result<WriteSummary, RemoteWriteError> = body.withUnsafeReadableBytes { raw in
                do throws(RemoteWriteError) {
                    return .success(try decoder.decode(snappyBody: raw, maxDecodedBytes: limit, limits: counts, into: appender))
                } catch { return .failure(error) }
            }
            switch decoded {
            case .failure(let e): return .refused(e)
            case .success(let summary):
                if let refusal = admit(summary) {
                    appender.rollback()
                    return .notAdmitted(refusal)
                }
                do { try appender.commit() } catch { return .notDurable("\(error)") }
                return .stored(summary)
            }
        }
    }

    static func isRemoteWriteV1(_ contentType: String) -> Bool {
        let parts = contentType.lowercased().split(separator: ";").map { $0.trimmingSpaces }
        guard parts.first == "application/x-protobuf" else { return false }
        for p in parts.dropFirst() where p.hasPrefix("proto=") {
            return p == "proto=prometheus.writerequest"
        }
        return true
    }

    // MARK: queries

    func query(_ req: Request, _ context: Context, range: Bool) async -> Response {
        if range { stats.rangeQueries.add(1, ordering: .relaxed) } else { stats.instantQueries.add(1, ordering: .relaxed) }
        let started = ContinuousClock.now
        let res = await serve(req, context, gate: scheduler, errors: .json,
                              validate: { params in _ = try self.queryRun(params, range: range); _ = try self.requestedEngineOptions(params) },
                              queueTimeout: { params in (try? self.requestedEngineOptions(params))?.timeout }) { scope in
            try self.evaluateQuery(scope, range: range)
        }
        if res.status.code >= 400 { stats.queryErrors.add(1, ordering: .relaxed) }
        options.observeQuery?(range ? "range" : "instant", ContinuousClock.now - started, res.status.code >= 400)
        return res
    }

    /// Evaluates `query` on the query thread (parsing too: a deeply nested query needs its stack).
    /// A query that fails is logged at debug, one slower than `slowQueryLog` at info, each with
    /// its expression (Prometheus' query log keeps the same fields).
    func evaluateQuery(_ scope: RequestScope, range: Bool) throws(APIError) -> Response {
        let started = ContinuousClock.now
        do {
            let response = try evaluateQueryUnlogged(scope, range: range)
            let took = ContinuousClock.now - started + scope.waited
            if let slow = options.slowQueryLog, took >= slow {
                options.logger.info("slow query", metadata: queryLogFields(scope.params, range: range, took: took))
            }
            return response
        } catch {
            if options.logger.logLevel <= .debug {
                var fields = queryLogFields(scope.params, range: range, took: ContinuousClock.now - started + scope.waited)
                fields["error"] = "\(error.message)"
                fields["error_type"] = "\(error.kind.rawValue)"
                options.logger.debug("query failed", metadata: fields)
            }
            throw error
        }
    }

    /// What the query log says about a query: the expression, its times, how long it took
    /// (waiting for a slot included) and its tenant under `--query.enforce-tenancy`.
    func queryLogFields(_ params: Params, range: Bool, took: Duration) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "query": "\(params["query"] ?? "")", "kind": "\(range ? "range" : "instant")",
            "seconds": "\(GoFloat.format(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18))",
        ]
        for key in range ? ["start", "end", "step"] : ["time"] { if let v = params[key] { fields[key] = "\(v)" } }
        if let tenant = params.tenant { fields["tenant"] = "\(tenant)" }
        return fields
    }

    func evaluateQueryUnlogged(_ scope: RequestScope, range: Bool) throws(APIError) -> Response {
        let params = scope.params
        let query = params["query"] ?? ""
        var opts = try requestedEngineOptions(params, cancellation: scope.cancellation)
        let run = try queryRun(params, range: range)
        let expr: Expr
        do { expr = try PromQLParser.parse(query, options: options.parser) } catch {
            throw APIError.badData("invalid parameter \"query\": \(error)")
        }
        // Time spent waiting for a slot counts against the query's timeout, as in Prometheus.
        opts.timeout -= scope.waited
        guard opts.timeout > .zero else { throw APIError(.timeout, "query timed out in query queue") }
        var step: Int64?
        if case .range(_, _, let st) = run { step = st }
        let (storage, storageWarnings, resolution) = try readStorage(params, step: step)
        // Coarser data has sparser samples: an instant selector must look back far enough to
        // find one (Thanos' --query.dynamic-lookback-delta, on by default there).
        opts.lookbackDelta = Self.dynamicLookbackDelta(opts.lookbackDelta, maxSourceResolution: resolution)
        let engine = Engine(options: opts)
        let result = try Self.mapQueryError { () throws(QueryError) in
            switch run {
            case .instant(let t): return try engine.instantQuery(storage, expr, at: t)
            case .range(let s, let e, let st):
                if let cache = options.resultsCache, storageWarnings == nil,
                   let cached = try cachedRangeQuery(cache, storage, expr, query: query, params, start: s, end: e, step: st,
                                                     resolution: resolution, options: opts) {
                    return cached
                }
                return try engine.rangeQuery(storage, expr, start: s, end: e, step: st)
            }
        }
        var w = JSONWriter()
        w.queryResult(result, query: query, storageWarnings: storageWarnings?.all ?? [])
        return APIResponses.json(.ok, w.bytes)
    }

    /// A range query through the results cache (`SplitRangeQuery`), or nil when it must be
    /// evaluated whole: its steps depend on its own start or end (`@ start()`), it is one step
    /// (which the engine evaluates as an instant query), it is invalid as a whole (the engine
    /// gives the error), or a piece came with annotations.
    func cachedRangeQuery(_ cache: ResultsCache, _ storage: any Queryable, _ expr: Expr, query: String, _ params: Params,
                          start: Int64, end: Int64, step: Int64, resolution: Int64, options opts: EngineOptions) throws(QueryError) -> QueryResult? {
        guard step > 0, end > start, (end - start) / step <= Int64(opts.maxPointsPerSeries),
              expr.type == .vector || expr.type == .scalar, !Engine.dependsOnQueryRange(expr) else { return nil }
        let key = resultsCacheKey(query, params, step: step, start: start, resolution: resolution, options: opts)
        let deadline = ContinuousClock.now + opts.timeout
        let split = SplitRangeQuery(cache: cache, key: key, start: start, end: end, step: step, now: WallClock.nowMillis(),
                                    evaluate: { (first, last) throws(QueryError) in
                                        var o = opts
                                        o.timeout = deadline - ContinuousClock.now
                                        guard o.timeout > .zero else { throw QueryError(.timeout, "query timed out in expression evaluation") }
                                        return try Engine(options: o).rangeQuery(storage, expr, start: first, end: last, step: step)
                                    },
                                    dataRange: { Engine(options: opts).dataRange(expr, start: $0, end: $1) })
        return try split.run()
    }

    /// What a cached range answer depends on besides its time range: tenant, step and the
    /// offset of its grid, resolution, lookback, dedup, and the expression as written.
    func resultsCacheKey(_ query: String, _ params: Params, step: Int64, start: Int64, resolution: Int64, options opts: EngineOptions) -> String {
        let offset = ((start % step) + step) % step
        return [params.tenant ?? "", String(step), String(offset), String(resolution), String(opts.lookbackDelta),
                params["dedup"] ?? "", query].joined(separator: "\u{0}")
    }

    /// The storage a read request sees, as Thanos' querier shapes it: replicas merged (unless
    /// `dedup=false`), downsampled data up to `max_source_resolution` (a duration, or `auto`:
    /// step/5 for a range query; absent: `auto` with `--query.auto-downsampling`, else raw only),
    /// and, with `partial_response`, the sink for what the bucket could not answer.
    func readStorage(_ params: Params, step: Int64?) throws(APIError) -> (storage: any Queryable, warnings: StorageWarnings?, maxSourceResolution: Int64) {
        var read: any Queryable = storage
        var resolution: Int64 = 0
        let value = params["max_source_resolution"] ?? ""
        if options.autoDownsampling || value == "auto" { resolution = (step ?? 0) / 5 }
        if !value.isEmpty && value != "auto" {
            resolution = try Self.param("max_source_resolution") { () throws(APIError) in try APITime.parseDuration(value) }
        }
        if resolution < 0 {
            throw APIError.badData("negative 'max_source_resolution' is not accepted. Try a positive integer")
        }
        let warnings = try Self.goBool(params, "partial_response", default: options.partialResponse) ? StorageWarnings() : nil
        if resolution > 0 || warnings != nil {
            let r = resolution
            read = HintingQueryable(read) { h in
                h.maxSourceResolution = r
                h.partialResponse = warnings
            }
        }
        if !options.replicaLabels.isEmpty, try Self.goBool(params, "dedup", default: true) {
            read = DedupQueryable(read, replicaLabels: options.replicaLabels)
        }
        return (tenantConfined(read, params), warnings, resolution)
    }

    /// `storage` as the request's tenant may read it (`--query.enforce-tenancy`): every select
    /// and label lookup carries the tenant matcher.
    func tenantConfined(_ storage: any Queryable, _ params: Params) -> any Queryable {
        guard let tenant = params.tenant, let m = try? LabelMatcher(.equal, options.queryTenancy.labelName, tenant) else { return storage }
        return EnforcedMatcherQueryable(storage, matcher: m)
    }

    /// The tenant a read is confined to under `--query.enforce-tenancy` (nil without it); a
    /// name that could not be a tenant's is a 400.
    func queryTenant(_ headers: HTTPFields) throws(APIError) -> String? {
        switch options.queryTenancy.tenant(of: headers) {
        case .success(let t): return t
        case .failure(let e): throw APIError.badData(e.message)
        }
    }

    /// Metric metadata and head statistics as the request's tenant may see them.
    func tenantSources(_ params: Params) -> (metadata: (any MetadataSource)?, cardinality: (any CardinalitySource)?) {
        guard let tenant = params.tenant else { return (metadata, cardinality) }
        return options.tenantSources?(tenant) ?? (nil, nil)
    }

    /// Thanos' `LookbackDeltaFactory`: the lookback rises to 5m or 1h once the query may read
    /// data of that resolution and the configured lookback is shorter than the resolution read.
    /// Unlike Thanos, it never falls below the configured lookback.
    static func dynamicLookbackDelta(_ lookback: Int64, maxSourceResolution r: Int64) -> Int64 {
        let levels: [Int64] = [0, 300_000, 3_600_000]
        for i in stride(from: levels.count - 1, through: 1, by: -1) where max(levels[i - 1], lookback) < r { return max(levels[i], lookback) }
        return lookback
    }

    /// A boolean parameter with Thanos' message for a bad value.
    static func goBool(_ params: Params, _ name: String, default value: Bool) throws(APIError) -> Bool {
        guard let v = params[name], !v.isEmpty else { return value }
        guard let b = goParseBool(v) else {
            throw APIError.badData("'\(name)' parameter: strconv.ParseBool: parsing \(goQuote(v)): invalid syntax")
        }
        return b
    }

    /// The evaluation times a query request asks for.
    func queryRun(_ params: Params, range: Bool) throws(APIError) -> QueryRun {
        if range {
            guard let s = params["start"] else { throw APIError.badData("invalid parameter \"start\": cannot parse \"\" to a valid timestamp") }
            let start = try Self.param("start") { () throws(APIError) in try APITime.parseTime(s) }
            guard let e = params["end"] else { throw APIError.badData("invalid parameter \"end\": cannot parse \"\" to a valid timestamp") }
            let end = try Self.param("end") { () throws(APIError) in try APITime.parseTime(e) }
            if end < start { throw APIError.badData("invalid parameter \"end\": end timestamp must not be before start time") }
            guard let st = params["step"] else { throw APIError.badData("invalid parameter \"step\": cannot parse \"\" to a valid duration") }
            let step = try Self.param("step") { () throws(APIError) in try APITime.parseDuration(st) }
            if step <= 0 {
                throw APIError.badData("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
            }
            return .range(start, end, step)
        } else if let ts = params["time"], !ts.isEmpty {
            return .instant(try Self.param("time") { () throws(APIError) in try APITime.parseTime(ts) })
        } else {
            return .instant(Self.nowMillis())
        }
    }

    /// The engine options with this request's `timeout` and `lookback_delta` applied.
    func requestedEngineOptions(_ params: Params, cancellation: QueryCancellation? = nil) throws(APIError) -> EngineOptions {
        var opts = options.engine
        opts.cancellation = cancellation
        if let t = params["timeout"], !t.isEmpty {
            let d = try Self.param("timeout") { () throws(APIError) in try APITime.parseDuration(t) }
            opts.timeout = min(opts.timeout, .milliseconds(d))
        }
        if let lb = params["lookback_delta"], !lb.isEmpty {
            let d = try Self.param("lookback_delta") { () throws(APIError) in try APITime.parseDuration(lb) }
            if d > 0 { opts.lookbackDelta = d }
        }
        return opts
    }

    static func mapQueryError<T>(_ body: () throws(QueryError) -> T) throws(APIError) -> T {
        do { return try body() } catch {
            switch error.kind {
            case .badData: throw APIError(.badData, error.message)
            case .execution, .tooManySamples: throw APIError(.execution, error.message)
            case .timeout: throw APIError(.timeout, error.message)
            case .canceled: throw APIError(.canceled, error.message)
            case .storage: throw APIError(.internal, error.message)
            }
        }
    }

    static func param<T>(_ name: String, _ body: () throws(APIError) -> T) throws(APIError) -> T {
        do { return try body() } catch { throw APIError(error.kind, "invalid parameter \(goQuote(name)): \(error.message)") }
    }

    /// Largest form-encoded body read for parameters (Go's `ParseForm` stops at 10 MB).
    static var maxFormBytes: Int { 16 << 20 }

    /// URL query parameters merged with a form-encoded POST body (body values first, as Go's FormValue).
    static func params(_ req: Request) async throws -> Params {
        var p = Params()
        if req.method == .post,
           let ct = req.headers[.contentType], ct.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            let body: ByteBuffer
            do { body = try await req.body.collect(upTo: maxFormBytes) } catch {
                throw APIError.tooLarge("request body is larger than the limit of \(maxFormBytes >> 20) MiB for form parameters")
            }
            p.add(encoded: String(buffer: body))
        }
        if let q = req.uri.query { p.add(encoded: q) }
        return p
    }

    static func nowMillis() -> Int64 { WallClock.nowMillis() }

    // MARK: status and health

    func buildInfo() -> Response {
        let b = options.buildInfo
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{\"version\":"); w.string(b.version)
        w.raw(",\"revision\":"); w.string(b.revision)
        w.raw(",\"branch\":"); w.string(b.branch)
        w.raw(",\"buildUser\":"); w.string(b.buildUser)
        w.raw(",\"buildDate\":"); w.string(b.buildDate)
        w.raw(",\"goVersion\":"); w.string(b.goVersion)
        w.raw("}}")
        return APIResponses.json(.ok, w.bytes)
    }

    /// Prometheus' shape: WAL segments replayed so far, `{min, max, current}`.
    func walReplay() -> Response {
        let p = startup.walReplay
        var w = JSONWriter(capacity: 96)
        w.raw("{\"status\":\"success\",\"data\":{\"min\":"); w.int(Int64(p.min))
        w.raw(",\"max\":"); w.int(Int64(p.max))
        w.raw(",\"current\":"); w.int(Int64(p.current))
        w.raw("}}")
        return APIResponses.json(.ok, w.bytes)
    }

    func ready() -> Response {
        if startup.isReady { return APIResponses.text(.ok, "Strata is Ready.\n") }
        var r = APIResponses.text(.serviceUnavailable, "Service Unavailable\n")
        r.headers[HTTPField.Name("X-Prometheus-Stopping")!] = "false"
        return r
    }
}

/// Responses in the Prometheus API's formats.
/// Responses as the API writes them; public for the server's own endpoints (`/api/v1/blocks`).
public enum APIResponses {
    public static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    public static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `{"status":"error","errorType":…,"error":…}` with the error's status.
    public static func error(_ e: APIError) -> Response {
        var w = JSONWriter(capacity: 256)
        w.raw("{\"status\":\"error\",\"errorType\":"); w.string(e.kind.rawValue)
        w.raw(",\"error\":"); w.string(e.message); w.raw("}")
        return json(HTTPResponse.Status(code: e.status), w.bytes)
    }

    /// `e` as the JSON envelope, or as plain text with its status.
    static func error(_ e: APIError, _ body: ErrorBody) -> Response {
        switch body {
        case .json: return error(e)
        case .text: return text(HTTPResponse.Status(code: e.status), e.message + "\n")
        }
    }
}

/// What to evaluate: an instant query at a time, or a range query (start, end, step), in ms.
enum QueryRun: Sendable { case instant(Int64), range(Int64, Int64, Int64) }

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
