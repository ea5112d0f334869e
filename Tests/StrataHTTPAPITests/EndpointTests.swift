import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StrataEncoding
import StrataModel
import StrataRuntime
import StrataStorage
import StrataTestSupport
import StrataTSDB
import Testing
@testable import StrataHTTPAPI

func makeApp(_ head: Head, maxRequestBytes: Int = 1 << 20) -> some ApplicationProtocol {
    var options = APIOptions()
    options.maxRequestBytes = maxRequestBytes
    let router = Router()
    PrometheusAPI<BasicRequestContext>(storage: head, metadata: head, cardinality: head, options: options).register(on: router)
    return Application(router: router)
}

let rwHeaders: HTTPFields = [.contentType: "application/x-protobuf", .contentEncoding: "snappy",
                             HTTPField.Name("X-Prometheus-Remote-Write-Version")!: "0.1.0"]

/// Everything the head holds, printed, to prove a rejected request changed nothing.
func dump(_ head: Head) throws -> String {
    let q = try head.querier(mint: .min, maxt: .max)
    var out = ""
    for s in try q.select([try LabelMatcher(.regexMatch, "__name__", ".*")], hints: SelectHints(mint: .min, maxt: .max)) {
        var b: [Sample] = []
        try s.samples(mint: .min, maxt: .max, into: &b)
        out += "\(s.labels) \(b.map { "\($0.t)=\($0.v.bitPattern)" })\n"
    }
    return out
}

@Suite struct RemoteWriteEndpointTests {
    /// Prometheus' path answers 204, Thanos Receive's 200 with an empty body.
    @Test func acceptsAWriteOnBothPaths() async throws {
        let head = Head()
        try await makeApp(head).test(.router) { client in
            for (path, status) in [("/api/v1/write", HTTPResponse.Status.noContent), ("/api/v1/receive", .ok)] {
                var b = WriteRequestBuilder()
                b.add([("__name__", "up"), ("path", path)], [(1000, 1)])
                try await client.execute(uri: path, method: .post, headers: rwHeaders, body: ByteBuffer(bytes: b.snappyBody())) { res in
                    #expect(res.status == status)
                    #expect(res.body.readableBytes == 0)
                }
            }
        }
        #expect(head.numSeries == 2)
    }

    /// Writes beyond --receive.max-concurrent-writes wait, unread; one that gets no slot within
    /// the queue timeout is answered 503 with Retry-After (a sender retries it), and stores nothing.
    @Test func aWriteWithoutASlotGets503AndRetryAfter() async throws {
        let head = Head()
        var options = APIOptions()
        options.maxConcurrentWrites = 1
        options.writeQueueTimeout = .milliseconds(100)
        let api = PrometheusAPI<BasicRequestContext>(storage: head, options: options)
        let router = Router()
        api.register(on: router)
        var b = WriteRequestBuilder()
        b.add([("__name__", "up")], [(1000, 1)])
        let body = b.snappyBody()
        let busy = try #require(api.writeGate.tryHold())
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: body)) { res in
                #expect(res.status == .serviceUnavailable)
                #expect(res.headers[.retryAfter] == "5")
                #expect(String(buffer: res.body).contains("--receive.max-concurrent-writes=1"))
            }
            #expect(head.numSeries == 0 && api.stats.writesThrottled.load(ordering: .relaxed) == 1)
            busy.release()
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: body)) { res in
                #expect(res.status == .noContent)
            }
            // A refused write gives its slot back too.
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: [1, 2, 3])) { res in
                #expect(res.status == .badRequest)
            }
            #expect(api.writeGate.load.running == 0)
        }
        #expect(head.numSeries == 1)
    }

    struct BadCase: Sendable, CustomStringConvertible {
        let name: String
        let method: HTTPRequest.Method
        let headers: HTTPFields
        let body: [UInt8]
        let status: HTTPResponse.Status
        let message: String
        var description: String { name }
    }

    static func body(_ f: (inout WriteRequestBuilder) -> Void) -> [UInt8] {
        var b = WriteRequestBuilder(); f(&b); return b.snappyBody()
    }

    static let badCases: [BadCase] = [
        BadCase(name: "GET", method: .get, headers: [:], body: [], status: .methodNotAllowed, message: "only accepts POST"),
        BadCase(name: "gzip encoding", method: .post, headers: [.contentEncoding: "gzip", .contentType: "application/x-protobuf"],
                body: body { $0.add([("__name__", "x")], [(1, 1)]) }, status: .unsupportedMediaType, message: #"unsupported Content-Encoding "gzip""#),
        BadCase(name: "json content type", method: .post, headers: [.contentEncoding: "snappy", .contentType: "application/json"],
                body: [], status: .unsupportedMediaType, message: #"unsupported Content-Type "application/json""#),
        BadCase(name: "remote write 2.0", method: .post,
                headers: [.contentEncoding: "snappy", .contentType: "application/x-protobuf;proto=io.prometheus.write.v2.Request"],
                body: [], status: .unsupportedMediaType, message: "expected application/x-protobuf (remote write 1.0)"),
        BadCase(name: "body over the limit", method: .post, headers: rwHeaders, body: [UInt8](repeating: 1, count: 5000),
                status: .contentTooLarge, message: "larger than the limit of 4096 bytes"),
        BadCase(name: "decoded body over the limit", method: .post, headers: rwHeaders,
                body: body { for i in 0 ..< 300 { $0.add([("__name__", "m"), ("i", String(i))], [(1, 1)]) } },
                status: .contentTooLarge, message: "larger than the limit of 4096 bytes"),
        BadCase(name: "not snappy", method: .post, headers: rwHeaders, body: Array("hello, this is not snappy".utf8),
                status: .badRequest, message: "snappy decode: corrupt input"),
        BadCase(name: "bad protobuf", method: .post, headers: rwHeaders, body: snappyOf([0x0A, 0x09, 0x0A]),
                status: .badRequest, message: "decode protobuf: unexpected end of message"),
        BadCase(name: "missing metric name", method: .post, headers: rwHeaders, body: body { $0.add([("job", "a")], [(5000, 1)]) },
                status: .badRequest, message: #"invalid labels: missing metric name (__name__ label) for series {job="a"}; 1 of 1 samples rejected in 1 series, 0 samples accepted"#),
        BadCase(name: "unsorted labels", method: .post, headers: rwHeaders, body: body { $0.add([("__name__", "m"), ("b", "1"), ("a", "1")], [(5000, 1)]) },
                status: .badRequest, message: #"invalid labels: labels are not sorted by name ("a" after "b")"#),
        BadCase(name: "duplicate label", method: .post, headers: rwHeaders, body: body { $0.add([("__name__", "m"), ("a", "1"), ("a", "2")], [(5000, 1)]) },
                status: .badRequest, message: #"invalid labels: duplicate label name "a""#),
        BadCase(name: "invalid UTF-8", method: .post, headers: rwHeaders, body: snappyOf(invalidUTF8Request),
                status: .badRequest, message: #"invalid labels: value of label "a" is not valid UTF-8"#),
        BadCase(name: "out of order", method: .post, headers: rwHeaders, body: body { $0.add([("__name__", "existing")], [(1000, 1)]) },
                status: .badRequest, message: #"out of order sample for series {__name__="existing"}; 1 of 1 samples rejected"#),
        BadCase(name: "duplicate with another value", method: .post, headers: rwHeaders, body: body { $0.add([("__name__", "existing")], [(5000, 2)]) },
                status: .badRequest, message: #"duplicate sample for timestamp for series {__name__="existing"}"#),
        BadCase(name: "out of bounds", method: .post, headers: rwHeaders, body: body { $0.add([("__name__", "other")], [(5000 - 3_600_001, 2)]) },
                status: .badRequest, message: #"out of bounds for series {__name__="other"}"#),
        BadCase(name: "native histogram", method: .post, headers: rwHeaders,
                body: body { $0.series.append(.init(labels: [("__name__", "h")], samples: [], histograms: 1)) },
                status: .badRequest, message: #"native histograms are not supported yet for series {__name__="h"}"#),
    ]

    @Test(arguments: badCases)
    func badRequestsGetTheirStatusAndLeaveDataUnchanged(c: BadCase) async throws {
        let head = Head()
        var seedBuilder = WriteRequestBuilder()
        seedBuilder.add([("__name__", "existing")], [(5000, 1)])
        let seed = seedBuilder.snappyBody()
        let app = makeApp(head, maxRequestBytes: 4096)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: seed)) { res in
                #expect(res.status == .noContent)
            }
            let before = try dump(head)
            try await client.execute(uri: "/api/v1/write", method: c.method, headers: c.headers, body: ByteBuffer(bytes: c.body)) { res in
                #expect(res.status == c.status, "\(c.name): \(String(buffer: res.body))")
                #expect(String(buffer: res.body).contains(c.message), "\(c.name): \(String(buffer: res.body))")
            }
            if c.status != .noContent { #expect(try dump(head) == before, "\(c.name) changed stored data") }
        }
    }

    @Test func validSeriesOfAPartlyBadRequestAreKept() async throws {
        let head = Head()
        try await makeApp(head).test(.router) { client in
            var b = WriteRequestBuilder()
            b.add([("__name__", "good")], [(1000, 1)])
            b.add([("nameless", "x")], [(1000, 1)])
            b.add([("__name__", "good2")], [(1000, 1)])
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: b.snappyBody())) { res in
                #expect(res.status == .badRequest)
                #expect(String(buffer: res.body) == #"invalid labels: missing metric name (__name__ label) for series {nameless="x"}; 1 of 3 samples rejected in 1 series, 2 samples accepted"# + "\n")
            }
        }
        #expect(head.numSeries == 2)
    }
}

/// TimeSeries{labels: [__name__="m", a=<0xC3 0x28>], samples: [{v: 1, t: 5000}]} written by hand.
let invalidUTF8Request: [UInt8] = {
    let l1: [UInt8] = [0x0A, 8] + Array("__name__".utf8) + [0x12, 1, UInt8(ascii: "m")]
    let l2: [UInt8] = [0x0A, 1, UInt8(ascii: "a"), 0x12, 2, 0xC3, 0x28]
    let sample: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0x88, 0x27]
    let ts: [UInt8] = [0x0A, UInt8(l1.count)] + l1 + [0x0A, UInt8(l2.count)] + l2 + [0x12, UInt8(sample.count)] + sample
    return [0x0A, UInt8(ts.count)] + ts
}()

func snappyOf(_ b: [UInt8]) -> [UInt8] { Snappy.compress(b) }

@Suite struct QueryEndpointTests {
    /// A query that waits for a slot longer than its timeout fails with 503 timeout, as in Prometheus.
    @Test func aQueryTimingOutInTheQueueGets503() async throws {
        var options = APIOptions()
        options.maxConcurrentQueries = 1
        options.engine.timeout = .milliseconds(150)
        let api = PrometheusAPI<BasicRequestContext>(storage: Head(), options: options)
        let router = Router()
        api.register(on: router)
        // Hold the only slot until the query has waited in line longer than its timeout: the
        // hog lets go only after the query has been queued for 300 ms (no race with test speed).
        let slot = try #require(await api.scheduler.hold(unless: nil))
        let releaser = Task {
            while api.scheduler.load.waiting == 0 { try await Task.sleep(for: .milliseconds(2)) }
            try await Task.sleep(for: .milliseconds(300))
            slot.release()
        }
        try await Application(router: router).test(.router) { client in
            // A malformed request is refused at once, without waiting for the busy slot (which
            // is still held: the releaser lets go only once something has waited).
            try await client.execute(uri: "/api/v1/query_range?query=1&start=1&end=2&step=0", method: .get) { res in
                #expect(res.status == .badRequest)
            }
            #expect(api.scheduler.load.running == 1)
            try await client.execute(uri: "/api/v1/query?query=1", method: .get) { res in
                #expect(res.status == .serviceUnavailable)
                let body = String(buffer: res.body)
                #expect(body.contains("\"errorType\":\"timeout\""))
                #expect(body.contains("query timed out in query queue"))
            }
        }
        try await releaser.value
    }

    static func seeded() -> Head {
        let head = Head()
        let app = head.appender()
        for (labels, samples) in [
            (Labels([("__name__", "up"), ("job", "b"), ("instance", "x:1")]), [Sample(t: 10_000, v: 1), Sample(t: 20_000, v: 0)]),
            (Labels([("__name__", "up"), ("job", "a")]), [Sample(t: 10_000, v: 1), Sample(t: 20_000, v: 1), Sample(t: 30_000, v: StaleNaN.value)]),
            (Labels([("__name__", "temp")]), [Sample(t: 15_500, v: 1e-7), Sample(t: 400_000, v: .infinity)]),
        ] {
            _ = app.append(labels, samples)
        }
        try? app.commit()
        return head
    }

    func get(_ uri: String, status: HTTPResponse.Status = .ok) async throws -> String {
        try await makeApp(Self.seeded()).test(.router) { client in
            try await client.execute(uri: uri, method: .get) { res in
                #expect(res.status == status)
                return String(buffer: res.body)
            }
        }
    }

    @Test func instantQueryWithLookbackAndStaleness() async throws {
        #expect(try await get("/api/v1/query?query=up&time=25") ==
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"x:1","job":"b"},"value":[25,"0"]},{"metric":{"__name__":"up","job":"a"},"value":[25,"1"]}]}}"#)
        // At 30s the newest sample of job="a" is a staleness marker: the series is gone.
        #expect(try await get("/api/v1/query?query=up&time=30.5") ==
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"x:1","job":"b"},"value":[30.500,"0"]}]}}"#)
        // Lookback is (t-5m, t]: a sample exactly 5m old is out of the window.
        #expect(try await get("/api/v1/query?query=temp&time=315.5") == #"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
        #expect(try await get("/api/v1/query?query=temp&time=315.499") ==
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"temp"},"value":[315.499,"1e-07"]}]}}"#)
    }

    @Test func rangeQueryMatrix() async throws {
        #expect(try await get(#"/api/v1/query_range?query=up%7Bjob%3D%22a%22%7D&start=0&end=40&step=10"#) ==
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[10,"1"],[20,"1"]]}]}}"#)
        #expect(try await get("/api/v1/query_range?query=temp&start=1970-01-01T00:05:00Z&end=420&step=1m") ==
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"temp"},"values":[[300,"1e-07"],[420,"+Inf"]]}]}}"#)
    }

    @Test func grafanaSaveAndTestAndOtherResultTypes() async throws {
        #expect(try await get("/api/v1/query?query=1%2B1&time=25") ==
            #"{"status":"success","data":{"resultType":"scalar","result":[25,"2"]}}"#)
        let str = try await get("/api/v1/query?query=%22foo%22&time=25.5")
        #expect(str == #"{"status":"success","data":{"resultType":"string","result":[25.500,"foo"]}}"#) // Prometheus writes milliseconds as three digits
        #expect(try await get("/api/v1/query?query=sum%20by%20(job)%20(up)&time=25") ==
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"b"},"value":[25,"0"]},{"metric":{"job":"a"},"value":[25,"1"]}]}}"#)
        #expect(try await get("/api/v1/query?query=up%5B1m%5D&time=25") ==
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"x:1","job":"b"},"values":[[10,"1"],[20,"0"]]},{"metric":{"__name__":"up","job":"a"},"values":[[10,"1"],[20,"1"]]}]}}"#)
        #expect(try await get("/api/v1/query_range?query=time()&start=0&end=20&step=10") ==
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"0"],[10,"10"],[20,"20"]]}]}}"#)
    }

    @Test func annotationsAreRenderedWithTheirPosition() async throws {
        let body = try await get("/api/v1/query?query=sum(rate(up%5B1m%5D))&time=25")
        #expect(body.hasPrefix(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[25,"#), "\(body)")
        #expect(body.hasSuffix(#"]},"infos":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"up\" (1:10)"]}"#), "\(body)")
        let w = try await get("/api/v1/query?query=quantile(2,%20up)&time=25")
        #expect(w.contains(#""warnings":["PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"]"#), "\(w)")
    }

    @Test func executionErrorsAre422() async throws {
        let body = try await get("/api/v1/query?query=up%20%2B%20ignoring(job,%20instance)%20up&time=25", status: .unprocessableContent)
        #expect(body.hasPrefix(#"{"status":"error","errorType":"execution","error":"found duplicate series for the match group {} on the right hand-side of the operation"#), "\(body)")
    }

    @Test func formPostIsAccepted() async throws {
        try await makeApp(Self.seeded()).test(.router) { client in
            try await client.execute(uri: "/api/v1/query", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "query=temp&time=16")) { res in
                #expect(res.status == .ok)
                #expect(String(buffer: res.body).contains(#""value":[16,"1e-07"]"#))
            }
        }
    }

    @Test(arguments: [
        ("/api/v1/query", "invalid parameter \\\"query\\\""),
        ("/api/v1/query?query=up&time=abc", "invalid parameter \\\"time\\\": cannot parse \\\"abc\\\" to a valid timestamp"),
        ("/api/v1/query?query=sum(up", "invalid parameter \\\"query\\\": 1:7: parse error: unclosed left parenthesis"),
        ("/api/v1/query_range?query=up[5m]&start=0&end=10&step=1", "invalid expression type \\\"range vector\\\" for range query"),
        ("/api/v1/query_range?query=up&start=10&end=0&step=1", "end timestamp must not be before start time"),
        ("/api/v1/query_range?query=up&start=0&end=10&step=0", "zero or negative query resolution step widths are not accepted"),
        ("/api/v1/query_range?query=up&start=0&end=100000&step=1", "exceeded maximum resolution of 11,000 points per timeseries"),
        ("/api/v1/query_range?query=up&start=0&end=10", "invalid parameter \\\"step\\\""),
        ("/api/v1/query_range?query=up&start=0&end=10&step=290000000y1000000000w", "invalid parameter \\\"step\\\""),
        ("/api/v1/query?query=up&time=-1000000000000000&lookback_delta=9000000000000000", "out of the supported time range"),
        ("/api/v1/query_range?query=1&start=-9000000000000000&end=9000000000000000&step=1", "out of the supported time range"),
    ])
    func badQueriesAre400BadData(uri: String, message: String) async throws {
        let body = try await get(uri, status: .badRequest)
        #expect(body.hasPrefix(#"{"status":"error","errorType":"bad_data","error":""#), "\(body)")
        #expect(body.contains(message), "\(body)")
    }

    @Test func healthReadyAndBuildInfo() async throws {
        #expect(try await get("/-/healthy") == "Strata is Healthy.\n")
        #expect(try await get("/-/ready") == "Strata is Ready.\n")
        let b = try await get("/api/v1/status/buildinfo")
        #expect(b.hasPrefix(#"{"status":"success","data":{"version":"#))
        #expect(!b.contains("features"))
        _ = try await get("/api/v1/nope", status: .notFound)
    }
}

@Suite struct StartupEndpointTests {
    @Test func everythingButHealthAnswers503UntilReady() async throws {
        let startup = StartupState(ready: false)
        startup.setWALReplay(.init(min: 3, max: 9, current: 5))
        let router = Router()
        PrometheusAPI<BasicRequestContext>(storage: Head(), startup: startup).register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/-/ready", method: .get) { res in
                #expect(res.status == .serviceUnavailable)
                #expect(res.headers[HTTPField.Name("X-Prometheus-Stopping")!] == "false")
            }
            try await client.execute(uri: "/-/healthy", method: .get) { res in #expect(res.status == .ok) }
            try await client.execute(uri: "/api/v1/status/walreplay", method: .get) { res in
                #expect(String(buffer: res.body) == #"{"status":"success","data":{"min":3,"max":9,"current":5}}"#)
            }
            var b = WriteRequestBuilder()
            b.add([("__name__", "m")], [(1, 1)])
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: b.snappyBody())) { res in
                #expect(res.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/api/v1/query?query=m", method: .get) { res in
                #expect(res.status == .serviceUnavailable)
                #expect(String(buffer: res.body).contains(#""errorType":"unavailable""#))
            }
            // Everything that reads the head waits; pages that do not answer.
            for uri in ["/api/v1/labels", "/api/v1/series?match[]=m", "/api/v1/status/tsdb", "/api/v1/metadata"] {
                try await client.execute(uri: uri, method: .get) { res in #expect(res.status == .serviceUnavailable, "\(uri)") }
            }
            for uri in ["/federate?match[]=m"] {
                try await client.execute(uri: uri, method: .get) { res in
                    #expect(res.status == .serviceUnavailable && String(buffer: res.body).contains("Strata is starting"), "\(uri)")
                }
            }
            for uri in ["/api/v1/status/buildinfo", "/api/v1/status/flags", "/api/v1/parse_query?query=up"] {
                try await client.execute(uri: uri, method: .get) { res in #expect(res.status == .ok, "\(uri)") }
            }
            try await client.execute(uri: "/api/v1/query", method: .options) { res in #expect(res.status == .noContent) }
            startup.markReady()
            try await client.execute(uri: "/-/ready", method: .get) { res in #expect(res.status == .ok) }
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: b.snappyBody())) { res in
                #expect(res.status == .noContent)
            }
        }
    }
}

@Suite struct WALFailureEndpointTests {
    /// When the WAL cannot take a write, the request is not acknowledged: 500, so the sender retries.
    @Test func aWriteTheWALRefusesGets500() async throws {
        let dir = try TempDir("api-wal-closed"); defer { dir.remove() }
        let wal = try WAL(dir: dir.path)
        let head = Head(wal: wal)
        try wal.close()
        try await makeApp(head).test(.router) { client in
            var b = WriteRequestBuilder()
            b.add([("__name__", "m")], [(1000, 1)])
            try await client.execute(uri: "/api/v1/write", method: .post, headers: rwHeaders, body: ByteBuffer(bytes: b.snappyBody())) { res in
                #expect(res.status == .internalServerError)
                #expect(String(buffer: res.body).hasPrefix("storing the write failed: "))
            }
        }
    }
}
