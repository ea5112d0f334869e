import Foundation

extension GCSBucket {
    public struct Config: Sendable, Equatable {
        public static let googleEndpoint = "https://storage.googleapis.com"
        /// GCS' unit for resumable upload chunks: every chunk but the last is a multiple of it.
        public static let chunkQuantum = 256 << 10

        public var bucket: String
        /// Scheme, host and port, no trailing `/`.
        public var endpoint: String
        /// Nil: requests go unauthenticated (an emulator).
        public var credentials: GCSServiceAccountKey?
        /// Files of this size or more go up in a resumable upload, in chunks of this size.
        public var chunkSize = 16 << 20
        public var maxRetries = 5

        public init(bucket: String, endpoint: String = googleEndpoint, credentials: GCSServiceAccountKey? = nil) {
            self.bucket = bucket
            self.endpoint = endpoint
            self.credentials = credentials
        }

        /// From the `config` of an objstore YAML with `type: GCS`, as Thanos reads it.
        /// `STORAGE_EMULATOR_HOST` (`host:port` or a URL) points the bucket at an emulator, without
        /// authentication. Otherwise the credentials are `service_account` (the key file's JSON
        /// content) or the key file `GOOGLE_APPLICATION_CREDENTIALS` names. `use_grpc`,
        /// `grpc_conn_pool_size` and `http_config` are accepted; the JSON API over HTTP is used.
        public init(objstore c: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
            bucket = c["bucket"] ?? ""
            guard !bucket.isEmpty else { throw ObjectStoreError(.invalid, "missing Google Cloud Storage bucket name for stored blocks") }
            endpoint = Self.googleEndpoint
            if let size = c["chunk_size_bytes"], !size.isEmpty {
                guard let n = Int(size), n >= 0 else { throw ObjectStoreError(.invalid, "gcs: chunk_size_bytes must be a number of bytes, not \(size)") }
                // As Google's client: 0 keeps the default, others round up to the quantum.
                if n > 0 { chunkSize = (n + Self.chunkQuantum - 1) / Self.chunkQuantum * Self.chunkQuantum }
            }
            if let r = c["max_retries"], !r.isEmpty {
                guard let n = Int(r) else { throw ObjectStoreError(.invalid, "gcs: max_retries must be a number, not \(r)") }
                if n > 0 { maxRetries = n }
            }
            if let host = environment["STORAGE_EMULATOR_HOST"], !host.isEmpty {
                endpoint = Self.baseURL(host)
                return
            }
            if let json = c["service_account"], !json.isEmpty {
                credentials = try GCSServiceAccountKey(json: Array(json.utf8))
            } else if let path = environment["GOOGLE_APPLICATION_CREDENTIALS"], !path.isEmpty {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ObjectStoreError(.invalid, "gcs: cannot read GOOGLE_APPLICATION_CREDENTIALS file \(path)")
                }
                credentials = try GCSServiceAccountKey(json: [UInt8](data))
            } else {
                throw ObjectStoreError(.invalid, "gcs: no credentials: set service_account to a service account key's JSON, or "
                    + "GOOGLE_APPLICATION_CREDENTIALS to its file (Strata does not ask the GCE metadata server for tokens)")
            }
        }

        /// `STORAGE_EMULATOR_HOST` as a base URL: `http://` when it names no scheme.
        static func baseURL(_ host: String) -> String {
            var url = host.contains("://") ? host : "http://" + host
            while url.hasSuffix("/") { url.removeLast() }
            return url
        }
    }
}
