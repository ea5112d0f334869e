import AsyncHTTPClient
import NIOCore

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
