import HTTPTypes
import Hummingbird
import NIOCore
import StrataEncoding
import StrataRuntime
import Synchronization

/// Compresses JSON and text responses with gzip (zlib) when the client sends
/// `Accept-Encoding: gzip`, as Prometheus does. Small bodies are left alone: the gzip header
/// would make them larger.
/// Large bodies are compressed at most one per core at a time, each on a thread of its own.
private let compressionGate = ConcurrencyGate(maxConcurrency: System.coreCount)

public struct GzipMiddleware<Context: RequestContext>: RouterMiddleware {
    let minimumBytes: Int

    public init(minimumBytes: Int = 256) { self.minimumBytes = minimumBytes }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard Self.acceptsGzip(request.headers[.acceptEncoding]),
              response.headers[.contentEncoding] == nil,
              let type = response.headers[.contentType],
              type.hasPrefix("application/json") || type.hasPrefix("text/plain") else { return response }
        var out = response
        let sink = Sink()
        try await response.body.write(CollectingWriter(sink: sink))
        let bytes = sink.bytes.withLock { $0 }
        guard bytes.count >= minimumBytes else {
            out.body = ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
            return out
        }
        let compressed: [UInt8]
        if bytes.count >= 1 << 16 {
            // Large bodies (query results, series lists) are compressed on a thread of their
            // own, so one big response does not stall remote write.
            compressed = try await compressionGate.run { Result { try Gzip.compress(bytes, level: 1) } }.get()
        } else {
            compressed = try Gzip.compress(bytes, level: 1)
        }
        out.headers[.contentEncoding] = "gzip"
        out.headers[.vary] = "Accept-Encoding"
        out.headers[.contentLength] = nil
        out.body = ResponseBody(byteBuffer: ByteBuffer(bytes: compressed))
        return out
    }

    /// `gzip` in the list with a non-zero q value.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for part in header.lowercased().split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingSpaces }
            guard fields.first == "gzip" || fields.first == "*" else { continue }
            if let q = fields.dropFirst().first(where: { $0.hasPrefix("q=") }), Double(q.dropFirst(2)) == 0 { return false }
            return true
        }
        return false
    }

    final class Sink: Sendable {
        let bytes = Mutex<[UInt8]>([])
    }

    struct CollectingWriter: ResponseBodyWriter {
        let sink: Sink
        mutating func write(_ buffer: ByteBuffer) async throws {
            sink.bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
