import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The HTTP client the S3, GCS and Azure buckets share. Unlike `HTTPClient.shared`, a
/// connection that cannot be made fails its request after `connect` (5 s) instead of the
/// request's whole deadline, so the buckets' own retries with backoff, and the shipper's
/// passes, see a down server promptly.
public enum ObjectStoreHTTPClient {
    public static let shared: HTTPClient = {
        var config = HTTPClient.Configuration()
        config.timeout.connect = .seconds(5)
        // Bodies are taken as sent: the S3 signature covers Accept-Encoding, and block files
        // are not worth compressing.
        config.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }()
}

/// A whole HTTP answer from an object store.
struct ObjectStoreReply: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]
}

/// One request to an object store, retried with exponential backoff and jitter while the answer
/// is `transient` or the connection fails, up to `maxRetries` times; `makeRequest` builds each
/// attempt afresh (signatures carry the time). Other answers are returned for the caller to read.
enum ObjectStoreHTTP {
    static func send(_ client: HTTPClient, maxRetries: Int, transient: (Int) -> Bool, what: @autoclosure () -> String,
                     _ makeRequest: () throws -> HTTPClientRequest) async throws -> ObjectStoreReply {
        var attempt = 0
        while true {
            let req = try makeRequest()
            do {
                let res = try await client.execute(req, timeout: .seconds(120))
                let bytes = try await res.body.collect(upTo: 1 << 30)
                let reply = ObjectStoreReply(status: Int(res.status.code), headers: res.headers, body: Array(buffer: bytes))
                if transient(reply.status) && attempt < maxRetries {
                    attempt += 1
                    try await backoff(attempt)
                    continue
                }
                return reply
            } catch let error as CancellationError {
                throw error
            } catch {
                if attempt < maxRetries {
                    attempt += 1
                    try await backoff(attempt)
                    continue
                }
                throw ObjectStoreError(.failed, "\(what()): \(error)")
            }
        }
    }

    /// Waits before retry `attempt` (1, 2, …): 200 ms doubling up to 12.8 s, with jitter so
    /// clients that failed together do not retry together.
    static func backoff(_ attempt: Int) async throws {
        let base = 100 << min(attempt, 7)
        try await Task.sleep(for: .milliseconds(base + Int.random(in: 0 ... base / 2)))
    }
}
