import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where and how the load generator connects: the remote-write URL, extra headers (tenant,
/// authorization), TLS and timeouts.
public struct RemoteWriteTarget: Sendable {
    public var url: String
    public var headers: [(String, String)] = []
    public var basicAuth: (user: String, password: String)?
    public var bearerToken: String?
    public var tls = TLSOptions()
    public var timeoutMs: Int64 = 30_000

    public struct TLSOptions: Sendable {
        public var caFile = ""
        public var certFile = ""
        public var keyFile = ""
        public var insecureSkipVerify = false
        public init() {}
    }

    public init(url: String) { self.url = url }

    /// Headers every request to the target carries (remote-write and, for `--verify`, queries).
    var commonHeaders: HTTPHeaders {
        var h = HTTPHeaders()
        for (k, v) in headers { h.add(name: k, value: v) }
        if let basicAuth {
            h.replaceOrAdd(name: "Authorization", value: "Basic " + Data("\(basicAuth.user):\(basicAuth.password)".utf8).base64EncodedString())
        } else if let bearerToken {
            h.replaceOrAdd(name: "Authorization", value: "Bearer " + bearerToken)
        }
        return h
    }

    /// A client for `url` (the write URL, or `--verify`'s) with the target's TLS settings.
    func makeClient(for url: String, connections: Int) throws -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.timeout.connect = .seconds(10)
        config.decompression = .disabled
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(connections, 1)
        if url.hasPrefix("https://") {
            var t = TLSConfiguration.makeClientConfiguration()
            if !tls.caFile.isEmpty { t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tls.caFile)) }
            if !tls.certFile.isEmpty {
                t.certificateChain = try NIOSSLCertificate.fromPEMFile(tls.certFile).map { .certificate($0) }
                t.privateKey = .privateKey(try NIOSSLPrivateKey(file: tls.keyFile, format: .pem))
            }
            if tls.insecureSkipVerify { t.certificateVerification = .none }
            config.tlsConfiguration = t
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }
}

/// Prometheus' remote-write retry rules (storage/remote `client.Store` and
/// `sendWriteRequestWithBackoff`): 5xx and network errors are retried after a backoff that starts
/// at `minBackoff` and doubles up to `maxBackoff`; 429 is retried too (unless turned off), after
/// its `Retry-After` when it has one; every other non-2xx status refuses the batch for good.
public struct RetryPolicy: Sendable {
    public var minBackoffMs: Int64 = 30
    public var maxBackoffMs: Int64 = 5_000
    public var retryOnRateLimit = true
    public init() {}

    public enum Decision: Equatable, Sendable {
        case accepted
        case refused
        /// Retry after this many milliseconds (nil: the backoff).
        case retry(afterMs: Int64?)
    }

    /// What to do with a response (`status` nil: the request failed before a response).
    public func decide(status: Int?, retryAfter: String?, now: Date = Date()) -> Decision {
        guard let status else { return .retry(afterMs: nil) }
        switch status {
        case 200 ..< 300: return .accepted
        case 500 ..< 600: return .retry(afterMs: nil)
        case 429 where retryOnRateLimit: return .retry(afterMs: retryAfter.flatMap { Self.retryAfterMs($0, now: now) })
        default: return .refused
        }
    }

    /// `Retry-After` as seconds or an HTTP date; a date in the past or garbage means "use the backoff".
    static func retryAfterMs(_ value: String, now: Date) -> Int64? {
        let v = value.trimmingCharacters(in: .whitespaces)
        if let s = Int64(v) { return s > 0 ? s * 1000 : nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let d = f.date(from: v) else { return nil }
        let ms = Int64(d.timeIntervalSince(now) * 1000)
        return ms > 0 ? ms : nil
    }
}

/// One HTTP exchange: the status (nil when the request failed), `Retry-After`, the start of the
/// body for error messages, and how long it took.
struct WriteResponse {
    var status: Int?
    var retryAfter: String?
    var message: String
    var latencyNanos: UInt64
}

/// Posts snappy-compressed `WriteRequest`s with the headers Prometheus sends.
struct RemoteWriteClient {
    let http: HTTPClient
    let target: RemoteWriteTarget
    let headers: HTTPHeaders

    init(http: HTTPClient, target: RemoteWriteTarget) {
        self.http = http
        self.target = target
        var h = target.commonHeaders
        h.add(name: "Content-Encoding", value: "snappy")
        h.add(name: "Content-Type", value: "application/x-protobuf")
        h.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        h.add(name: "User-Agent", value: "strata-loadgen")
        headers = h
    }

    func post(_ body: ByteBuffer) async -> WriteResponse {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await http.execute(request, timeout: .milliseconds(target.timeoutMs))
            // Keep the start of an error message; read the rest so the connection can be reused.
            var text = ByteBuffer()
            for try await var chunk in response.body where text.readableBytes < 4096 {
                text.writeBuffer(&chunk)
            }
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            let status = Int(response.status.code)
            return WriteResponse(status: status, retryAfter: response.headers.first(name: "Retry-After"),
                                 message: status / 100 == 2 ? "" : String(buffer: text).trimmingCharacters(in: .whitespacesAndNewlines),
                                 latencyNanos: elapsed)
        } catch {
            return WriteResponse(status: nil, retryAfter: nil, message: "\(error)",
                                 latencyNanos: DispatchTime.now().uptimeNanoseconds - start)
        }
    }
}
