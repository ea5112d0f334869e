import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// HTTP for the GCS bucket and its token source: one request, retried with exponential backoff
/// on 5xx, 429 (GCS' rate limit) and connection errors, as Google's retry strategy asks.
struct GCSTransport: Sendable {
    typealias Reply = ObjectStoreReply

    let client: HTTPClient
    let maxRetries: Int

    static func isTransient(_ status: Int) -> Bool { status >= 500 || status == 429 }

    /// `body` nil sends none; POST and PUT always send a `Content-Length` (GCS answers 411
    /// without one). `retries` overrides `maxRetries` (0 for requests the caller resumes itself).
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
              retries: Int? = nil, what: String) async throws -> Reply {
        let hasBody = body != nil || method == .POST || method == .PUT
        return try await ObjectStoreHTTP.send(client, maxRetries: retries ?? maxRetries, transient: Self.isTransient, what: what) {
            var req = HTTPClientRequest(url: url)
            req.method = method
            req.headers.add(name: "User-Agent", value: "strata")
            for (n, v) in headers { req.headers.add(name: n, value: v) }
            if hasBody {
                let bytes = body ?? []
                req.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
                req.body = .bytes(ByteBuffer(bytes: bytes))
            }
            return req
        }
    }
}
