import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StrataBlock
import StrataEncoding
import StrataHTTPAPI
import StrataModel
import StrataTSDB
import Testing

/// Minimal protobuf reading and writing for the tests (independent of Strata's own codec).
enum TestProto {
    static func uvarint(_ v: UInt64) -> [UInt8] { var o: [UInt8] = []; Varint.appendUvarint(&o, v); return o }
    static func field(_ n: UInt64, _ bytes: [UInt8]) -> [UInt8] { uvarint(n << 3 | 2) + uvarint(UInt64(bytes.count)) + bytes }
    static func field(_ n: UInt64, varint v: UInt64) -> [UInt8] { uvarint(n << 3) + uvarint(v) }

    /// (field number, wire type, payload) triples of one message; varints as their value bytes.
    static func fields(_ b: [UInt8]) -> [(UInt64, UInt64, [UInt8])] {
        var out: [(UInt64, UInt64, [UInt8])] = []
        var i = 0
        func varint() -> UInt64 { var r: UInt64 = 0, s: UInt64 = 0; while true { let x = b[i]; i += 1; r |= UInt64(x & 0x7f) << s; if x < 0x80 { return r }; s += 7 } }
        while i < b.count {
            let tag = varint()
            switch tag & 7 {
            case 0: let v = varint(); out.append((tag >> 3, 0, withUnsafeBytes(of: v) { Array($0) }))
            case 1: out.append((tag >> 3, 1, Array(b[i ..< i + 8]))); i += 8
            case 2: let n = Int(varint()); out.append((tag >> 3, 2, Array(b[i ..< i + n]))); i += n
            default: return out
            }
        }
        return out
    }

    static func u64(_ b: [UInt8]) -> UInt64 { b.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
}

@Suite struct RemoteReadTests {
    static func seeded() -> Head {
        let head = Head()
        let app = head.appender()
        for (labels, samples) in [
            (Labels([("__name__", "up"), ("job", "a")]), (0 ..< 200).map { Sample(t: Int64($0) * 15_000, v: Double($0)) }),
            (Labels([("__name__", "up"), ("job", "b")]), [Sample(t: 30_000, v: 7), Sample(t: 45_000, v: StaleNaN.value)]),
        ] {
            _ = app.append(labels, samples)
        }
        try? app.commit()
        return head
    }

    /// ReadRequest{queries: [Query{start, end, matchers}], accepted_response_types}.
    static func request(start: Int64, end: Int64, matchers: [(UInt64, String, String)], accept: [UInt64]) -> [UInt8] {
        var q = TestProto.field(1, varint: UInt64(bitPattern: start)) + TestProto.field(2, varint: UInt64(bitPattern: end))
        for (t, n, v) in matchers {
            q += TestProto.field(3, TestProto.field(1, varint: t) + TestProto.field(2, Array(n.utf8)) + TestProto.field(3, Array(v.utf8)))
        }
        var r = TestProto.field(1, q)
        for a in accept { r += TestProto.field(2, varint: a) }
        return r.withUnsafeBytes { Snappy.compress($0) }
    }

    func post(_ body: [UInt8], _ check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
        try await makeApp(Self.seeded()).test(.router) { client in
            try await client.execute(uri: "/api/v1/read", method: .post,
                                     headers: [.contentType: "application/x-protobuf", .contentEncoding: "snappy"],
                                     body: ByteBuffer(bytes: body)) { try check($0) }
        }
    }

    @Test func samplesResponse() async throws {
        let body = Self.request(start: 0, end: 60_000, matchers: [(0, "__name__", "up")], accept: [0])
        try await post(body) { res in
            #expect(res.status == .ok)
            #expect(res.headers[.contentType] == "application/x-protobuf" && res.headers[.contentEncoding] == "snappy")
            let proto = try Snappy.decompress(Array(res.body.readableBytesView))
            let results = TestProto.fields(proto)
            #expect(results.count == 1)
            var got: [String: [(Int64, UInt64)]] = [:]
            for (_, _, ts) in TestProto.fields(results[0].2) {
                var job = ""
                var samples: [(Int64, UInt64)] = []
                for (f, _, payload) in TestProto.fields(ts) {
                    if f == 1 {
                        let kv = TestProto.fields(payload).map { String(decoding: $0.2, as: UTF8.self) }
                        if kv[0] == "job" { job = kv[1] }
                    } else if f == 2 {
                        let sf = TestProto.fields(payload)
                        samples.append((Int64(bitPattern: TestProto.u64(sf[1].2)), TestProto.u64(sf[0].2)))
                    }
                }
                got[job] = samples
            }
            #expect(got["a"]?.map(\.0) == [0, 15_000, 30_000, 45_000, 60_000])
            #expect(got["a"]?.map { Double(bitPattern: $0.1) } == [0, 1, 2, 3, 4])
            // The staleness marker travels as stored.
            #expect(got["b"]?.map(\.1) == [Double(7).bitPattern, StaleNaN.bits])
        }
    }

    @Test func streamedChunksResponse() async throws {
        let body = Self.request(start: 0, end: 10_000_000, matchers: [(0, "job", "a")], accept: [1, 0])
        try await post(body) { res in
            #expect(res.status == .ok)
            #expect(res.headers[.contentType] == "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
            var bytes = Array(res.body.readableBytesView)
            var decoded: [Sample] = []
            var frames = 0
            while !bytes.isEmpty {
                var i = 0
                var len: UInt64 = 0, shift: UInt64 = 0
                while true { let b = bytes[i]; i += 1; len |= UInt64(b & 0x7f) << shift; if b < 0x80 { break }; shift += 7 }
                let crc = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
                let msg = Array(bytes[(i + 4) ..< (i + 4 + Int(len))])
                #expect(CRC32C.checksum(msg) == crc)
                bytes.removeFirst(i + 4 + Int(len))
                frames += 1
                for (f, _, series) in TestProto.fields(msg) where f == 1 {
                    for (cf, _, chunk) in TestProto.fields(series) where cf == 2 {
                        let c = TestProto.fields(chunk)
                        #expect(TestProto.u64(c[2].2) == 1) // XOR
                        try XORDecoder.samples(c[3].2, mint: .min, maxt: .max, into: &decoded)
                    }
                }
            }
            #expect(frames == 1)
            #expect(decoded == (0 ..< 200).map { Sample(t: Int64($0) * 15_000, v: Double($0)) })
        }
    }

    /// `--storage.remote.read-sample-limit` caps SAMPLES responses (400, Prometheus' text);
    /// `--storage.remote.read-max-bytes-in-frame` splits a series' chunks into several frames.
    @Test func sampleLimitAndFrameSizeFollowTheirFlags() async throws {
        var options = APIOptions()
        options.remoteReadSampleLimit = 50
        options.remoteReadMaxBytesInFrame = 1
        let router = Router()
        let head = Self.seeded()
        PrometheusAPI<BasicRequestContext>(storage: head, options: options).register(on: router)
        try await Application(router: router).test(.router) { client in
            let headers: HTTPFields = [.contentType: "application/x-protobuf", .contentEncoding: "snappy"]
            let samples = Self.request(start: 0, end: 10_000_000, matchers: [(0, "job", "a")], accept: [0])
            try await client.execute(uri: "/api/v1/read", method: .post, headers: headers, body: ByteBuffer(bytes: samples)) { res in
                #expect(res.status == .badRequest)
                #expect(String(buffer: res.body).contains("exceeded sample limit (50)"))
            }
            let chunks = Self.request(start: 0, end: 10_000_000, matchers: [(0, "job", "a")], accept: [1])
            try await client.execute(uri: "/api/v1/read", method: .post, headers: headers, body: ByteBuffer(bytes: chunks)) { res in
                #expect(res.status == .ok)
                // 200 samples are two head chunks (120 + 80): one frame each.
                var bytes = Array(res.body.readableBytesView)
                var frames = 0
                while !bytes.isEmpty {
                    var i = 0, len = 0, shift = 0
                    while true { let b = bytes[i]; i += 1; len |= Int(b & 0x7f) << shift; if b < 0x80 { break }; shift += 7 }
                    bytes.removeFirst(i + 4 + len)
                    frames += 1
                }
                #expect(frames == 2)
            }
        }
    }

    @Test func theClientsFirstResponseTypeWins() async throws {
        try await post(Self.request(start: 0, end: 60_000, matchers: [(0, "job", "a")], accept: [0, 1])) { res in
            #expect(res.headers[.contentType] == "application/x-protobuf")
        }
        // No accepted types at all: SAMPLES, as Prometheus 2.x clients expect.
        try await post(Self.request(start: 0, end: 60_000, matchers: [(0, "job", "a")], accept: [])) { res in
            #expect(res.headers[.contentType] == "application/x-protobuf")
        }
    }

    @Test func aQueryWithoutMatchersSelectsNothing() async throws {
        try await post(Self.request(start: 0, end: 10_000_000, matchers: [], accept: [1])) { res in
            #expect(res.status == .ok)
            #expect(res.body.readableBytes == 0)
        }
    }

    @Test func badRequestsAre400() async throws {
        try await post([1, 2, 3]) { res in #expect(res.status == .badRequest) }
        let badMatcher = Self.request(start: 0, end: 1, matchers: [(9, "a", "b")], accept: [0])
        try await post(badMatcher) { res in
            #expect(res.status == .badRequest)
            #expect(String(buffer: res.body).contains("unknown matcher type 9"))
        }
    }
}
