import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
@testable import StrataHTTPAPI
import StrataModel
import StrataRemote
import StrataTestSupport
import StrataTSDB
import Synchronization
import Testing

/// Thanos Receive's answers on `/api/v1/receive`, tenants from headers, and the write limits.
@Suite struct ReceiveTests {
    static func api(_ head: Head, limits: WriteLimits = WriteLimits(), tenancy: TenantOptions = TenantOptions(),
                    logger: Logger = Logger(label: "test"))
        -> (PrometheusAPI<BasicRequestContext>, some ApplicationProtocol) {
        var options = APIOptions()
        options.logger = logger
        // Longer than any test takes, however loaded the machine: the log counts do not depend on time.
        options.refusalLogInterval = .seconds(3600)
        options.writeLimits = { limits }
        options.tenancy = tenancy
        options.headSeries = { _ in head.numSeries }
        let api = PrometheusAPI<BasicRequestContext>(storage: head, options: options)
        let router = Router()
        api.register(on: router)
        return (api, Application(router: router))
    }

    static func body(_ series: Int, samples: Int = 1, name: String = "m", t: Int64 = 1000) -> [UInt8] {
        var b = WriteRequestBuilder()
        for s in 0 ..< series {
            b.add([("__name__", name), ("s", String(s))], (0 ..< samples).map { (t + Int64($0) * 1000, Double($0)) })
        }
        return b.snappyBody()
    }

    static func headers(tenant: String?, header: String = "THANOS-TENANT") -> HTTPFields {
        var h = rwHeaders
        if let tenant { h[HTTPField.Name(header)!] = tenant }
        return h
    }

    /// Thanos answers 409 for samples refused for their time and for label errors, 200 with an
    /// empty body on success; Prometheus' path keeps 400 and 204. Accepted samples stay stored.
    @Test func receiveAnswersAsThanosAndWriteAsPrometheus() async throws {
        let head = Head()
        let (_, app) = Self.api(head)
        try await app.test(.router) { client in
            for path in ["/api/v1/write", "/api/v1/receive"] {
                let ok = path.hasSuffix("receive") ? HTTPResponse.Status.ok : .noContent
                let conflict = path.hasSuffix("receive") ? HTTPResponse.Status.conflict : .badRequest
                let name = path.hasSuffix("receive") ? "r" : "w"
                try await client.execute(uri: path, method: .post, headers: rwHeaders, body: ByteBuffer(bytes: Self.body(1, name: name, t: 5000))) { res in
                    #expect(res.status == ok)
                }
                // Older than the series' newest sample.
                try await client.execute(uri: path, method: .post, headers: rwHeaders, body: ByteBuffer(bytes: Self.body(1, name: name, t: 1000))) { res in
                    #expect(res.status == conflict, "\(path): \(String(buffer: res.body))")
                    #expect(String(buffer: res.body).contains("out of order sample"))
                }
                // A label error: the same label name twice.
                var dup = WriteRequestBuilder()
                dup.add([("__name__", name), ("a", "1"), ("a", "2")], [(9000, 1)])
                try await client.execute(uri: path, method: .post, headers: rwHeaders, body: ByteBuffer(bytes: dup.snappyBody())) { res in
                    #expect(res.status == conflict, "\(path): \(String(buffer: res.body))")
                    #expect(String(buffer: res.body).contains("duplicate label name"))
                }
                // Undecodable stays 400 on both.
                try await client.execute(uri: path, method: .post, headers: rwHeaders, body: ByteBuffer(bytes: [0x05, 0x00, 1, 2, 3])) { res in
                    #expect(res.status == .badRequest)
                }
            }
        }
        #expect(head.numSeries == 2)
    }

    /// The tenant comes from the configured header, then THANOS-TENANT, then the default; a name
    /// that could escape a directory or is otherwise odd is refused with the rule, and nothing is stored.
    @Test func tenantNamesAreCheckedAndCounted() async throws {
        let head = Head()
        var tenancy = TenantOptions()
        tenancy.header = "X-Scope-OrgID"
        tenancy.defaultTenant = "anonymous"
        let (api, app) = Self.api(head, tenancy: tenancy)
        try await app.test(.router) { client in
            for bad in ["../x", "a/b", ".", "..", "lost+found", String(repeating: "t", count: 129), "a b", "x\\y"] {
                try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: bad, header: "X-Scope-OrgID"),
                                         body: ByteBuffer(bytes: Self.body(1))) { res in
                    #expect(res.status == .badRequest, "\(bad)")
                    #expect(String(buffer: res.body).contains("not valid"), "\(bad): \(String(buffer: res.body))")
                }
            }
            #expect(head.numSeries == 0)
            for (header, tenant) in [("X-Scope-OrgID", "team-a"), ("THANOS-TENANT", "team.b"), ("Other", "ignored")] {
                try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: tenant, header: header),
                                         body: ByteBuffer(bytes: Self.body(1, t: 1000))) { res in
                    #expect(res.status == .ok, "\(String(buffer: res.body))")
                }
            }
        }
        let seen = api.tenantStats.snapshot
        #expect(Set(seen.keys) == ["team-a", "team.b", "anonymous"])
        #expect(seen["team-a"]?.requests[200] == 1 && seen["team-a"]?.samplesAccepted == 1)
    }

    /// Each limit: its status, its message, nothing stored, the refusal counted per tenant; a
    /// tenant's own values override the defaults, and 0 lifts one.
    @Test func requestLimitsPerTenant() async throws {
        let head = Head()
        var limits = WriteLimits()
        limits.defaults.sizeBytes = 300
        limits.defaults.series = 2
        limits.defaults.samples = 4
        var free = WriteLimits.TenantLimits()
        free.sizeBytes = 0
        free.series = 0
        limits.tenants["free"] = free // samples_limit inherited (4)
        let (api, app) = Self.api(head, limits: limits)
        try await app.test(.router) { client in
            let cases: [(String?, [UInt8], HTTPResponse.Status, String)] = [
                (nil, Self.body(3), .contentTooLarge, "too many timeseries: 3 in the request, the limit is 2"),
                (nil, Self.body(1, samples: 5), .contentTooLarge, "too many samples: 5 in the request, the limit is 4"),
                (nil, Self.body(40), .contentTooLarge, "size_bytes_limit of 300"),
                ("free", Self.body(1, samples: 5), .contentTooLarge, "too many samples"),
            ]
            for (tenant, body, status, message) in cases {
                try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: tenant), body: ByteBuffer(bytes: body)) { res in
                    #expect(res.status == status, "\(message): \(String(buffer: res.body))")
                    #expect(String(buffer: res.body).contains(message), "\(String(buffer: res.body))")
                }
            }
            #expect(head.numSeries == 0)
            // The tenant without size and series limits may send 3 series of 1 sample.
            try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: "free"), body: ByteBuffer(bytes: Self.body(3))) { res in
                #expect(res.status == .ok, "\(String(buffer: res.body))")
            }
        }
        #expect(head.numSeries == 3)
        let refusals = api.tenantStats.snapshot
        #expect(refusals["default-tenant"]?.limitRefusals == ["series_limit": 1, "samples_limit": 1, "size_bytes_limit": 1])
        #expect(refusals["free"]?.limitRefusals == ["samples_limit": 1])
    }

    /// At or above `head_series_limit` a tenant's writes get 429 (Thanos' rule: until series go
    /// away, even samples for existing series), which Prometheus retries.
    @Test func headSeriesLimitAnswers429() async throws {
        let head = Head()
        var limits = WriteLimits()
        limits.defaults.headSeries = 2
        let (_, app) = Self.api(head, limits: limits)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/receive", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: Self.body(2))) { res in
                #expect(res.status == .ok)
            }
            try await client.execute(uri: "/api/v1/receive", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: Self.body(1, name: "n"))) { res in
                #expect(res.status == .tooManyRequests)
                #expect(String(buffer: res.body).contains("tenant is above active series limit"))
            }
        }
        #expect(head.numSeries == 2)
    }

    /// A tenant over its ingestion rate gets 429 with Retry-After and stores nothing; another
    /// tenant's writes, interleaved with it, are all accepted (counted, not timed). A request
    /// larger than the burst can never pass: 413, which senders do not retry.
    @Test func ingestionRateIsPerTenant() async throws {
        let head = Head()
        var limits = WriteLimits()
        // A rate so low that however slowly the machine runs the test, the bucket refills by
        // less than a sample: the counts below do not depend on timing.
        var slow = WriteLimits.TenantLimits()
        slow.ingestionRate = 0.001
        slow.ingestionBurst = 10
        limits.tenants["slow"] = slow
        let (api, app) = Self.api(head, limits: limits)
        try await app.test(.router) { client in
            var slowStatuses: [HTTPResponse.Status] = [], fastStatuses: [HTTPResponse.Status] = []
            for i in 0 ..< 10 {
                try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: "slow"),
                                         body: ByteBuffer(bytes: Self.body(4, name: "slow", t: 1000 + Int64(i) * 1000))) { res in
                    slowStatuses.append(res.status)
                    if res.status == .tooManyRequests {
                        #expect(Int(res.headers[.retryAfter] ?? "") ?? 0 >= 1)
                        #expect(String(buffer: res.body).contains("ingestion rate"))
                    }
                }
                try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: "fast"),
                                         body: ByteBuffer(bytes: Self.body(4, name: "fast", t: 1000 + Int64(i) * 1000))) { res in
                    fastStatuses.append(res.status)
                }
            }
            // A burst of 10 samples holds two writes of 4; the rest come faster than the rate.
            #expect(slowStatuses.filter { $0 == .ok }.count == 2, "\(slowStatuses)")
            #expect(slowStatuses.filter { $0 == .tooManyRequests }.count == 8)
            #expect(fastStatuses.allSatisfy { $0 == .ok })
            try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: "slow"),
                                     body: ByteBuffer(bytes: Self.body(11, name: "huge"))) { res in
                #expect(res.status == .contentTooLarge)
                #expect(String(buffer: res.body).contains("ingestion burst of 10"))
            }
        }
        let stats = api.tenantStats.snapshot
        #expect(stats["slow"]?.samplesAccepted == 8 && stats["fast"]?.samplesAccepted == 40)
        #expect(stats["slow"]?.limitRefusals["ingestion_rate"] == 9)
    }

    /// `write.global.max_concurrency` sizes the write gate, and a new value applies at once.
    @Test func maxConcurrencyResizesTheWriteGate() async throws {
        let head = Head()
        var limits = WriteLimits()
        limits.maxConcurrency = 1
        let (api, app) = Self.api(head, limits: limits)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/receive", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: Self.body(1))) { res in
                #expect(res.status == .ok)
            }
        }
        #expect(api.writeGate.maxConcurrency == 1)
    }

    @Test func effectiveLimitsInheritAndZeroLifts() {
        var limits = WriteLimits()
        limits.defaults.series = 10
        limits.defaults.samples = 100
        limits.defaults.ingestionRate = 50
        var t = WriteLimits.TenantLimits()
        t.series = 0
        t.ingestionBurst = 500
        limits.tenants["t"] = t
        let e = limits.effective(for: "t")
        #expect(e.series == nil && e.samples == 100 && e.ingestionRate == 50 && e.ingestionBurst == 500)
        let d = limits.effective(for: "other")
        #expect(d.series == 10 && d.ingestionBurst == 50)
    }

    /// Refused writes are logged at warning with the tenant and the reason, at most once per
    /// tenant per interval; the next line says how many were held back.
    @Test func refusedWritesAreLoggedRateLimited() async throws {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in lines }
        let head = Head()
        var limits = WriteLimits()
        limits.defaults.series = 1
        let (_, app) = Self.api(head, limits: limits, logger: logger)
        try await app.test(.router) { client in
            for tenant in ["a", "a", "a", "b"] {
                try await client.execute(uri: "/api/v1/receive", method: .post, headers: Self.headers(tenant: tenant),
                                         body: ByteBuffer(bytes: Self.body(2))) { res in
                    #expect(res.status == .contentTooLarge)
                }
            }
        }
        let logged = lines.all
        #expect(logged.count == 2, "\(logged)")
        #expect(logged.first?.contains("level=warning msg=remote write refused") == true)
        #expect(logged.first?.contains("tenant=a") == true && logged.first?.contains("too many timeseries") == true)
        #expect(logged.last?.contains("tenant=b") == true)

        let limiter = RateLimitedLog(interval: .seconds(10))
        let t0 = ContinuousClock.now
        #expect(limiter.admit("x", now: t0) == (true, 0))
        #expect(limiter.admit("x", now: t0 + .seconds(1)) == (false, 0))
        #expect(limiter.admit("x", now: t0 + .seconds(2)) == (false, 0))
        #expect(limiter.admit("x", now: t0 + .seconds(11)) == (true, 2))
    }
}

/// Log lines written through a Logger, as `level=… msg=… key=value …`.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { metadata[key] } set { metadata[key] = newValue } }
    var all: [String] { lines.withLock { $0 } }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let fields = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.withLock { $0.append("level=\(level) msg=\(message) \(fields)") }
    }
}
