import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// HTTP for the GCS bucket and its token source: one request, retried with exponential backoff
/// on 5xx, 429 (GCS' rate limit) and connection errors, as Google's retry strategy asks.
struct GCSTransport: Sendable {
    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    let client: HTTPClient
    let maxRetries: Int

    static func isTransient(_ status: Int) -> Bool { status >= 500 || status == 429 }

    /// Waits before retry `attempt` (1, 2, …): 200 ms doubling up to 12.8 s, with jitter so
    /// clients that failed together do not retry together.
    static func backoff(_ attempt: Int) async throws {
        let base = 100 << min(attempt, 7)
        try await Task.sleep(for: .milliseconds(base + Int.random(in: 0 ... base / 2)))
    }

    /// `body` nil sends none; POST and PUT always send a `Content-Length` (GCS answers 411
    /// without one). `retries` overrides `maxRetries` (0 for requests the caller resumes itself).
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
              retries: Int? = nil, what: String) async throws -> Reply {
        let limit = retries ?? maxRetries
        let hasBody = body != nil || method == .POST || method == .PUT
        var attempt = 0
        while true {
            var req = HTTPClientRequest(url: url)
            req.method = method
            req.headers.add(name: "User-Agent", value: "strata")
            for (n, v) in headers { req.headers.add(name: n, value: v) }
            if hasBody {
                let bytes = body ?? []
                req.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
                req.body = .bytes(ByteBuffer(bytes: bytes))
            }
            do {
                let res = try await client.execute(req, timeout: .seconds(120))
                let collected = try await res.body.collect(upTo: 1 << 30)
                let reply = Reply(status: Int(res.status.code), headers: res.headers, body: Array(buffer: collected))
                if Self.isTransient(reply.status) && attempt < limit {
                    attempt += 1
                    try await Self.backoff(attempt)
                    continue
                }
                return reply
            } catch let error as CancellationError {
                throw error
            } catch {
                if attempt < limit {
                    attempt += 1
                    try await Self.backoff(attempt)
                    continue
                }
                throw ObjectStoreError(.failed, "\(what): \(error)")
            }
        }
    }
}
