import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Yams

/// An S3 (or S3-compatible: MinIO, Ceph, moto) bucket, spoken to over its REST API with
/// SigV4-signed requests through async-http-client: ListObjectsV2, GetObject (ranged), HeadObject,
/// PutObject, multipart uploads for objects of `part_size` or more, DeleteObject. Server errors
/// (5xx) and connection failures are retried with exponential backoff.
public final class S3Bucket: Bucket {
    public struct Config: Sendable, Equatable {
        public var bucket: String
        /// `host[:port]`, no scheme (as Thanos' `endpoint`).
        public var endpoint: String
        public var region = "us-east-1"
        public var accessKey = ""
        public var secretKey = ""
        public var sessionToken = ""
        /// Plain HTTP instead of HTTPS.
        public var insecure = false
        /// `auto` (virtual-hosted for AWS endpoints, path-style otherwise), `path`, `virtual-hosted`.
        public var bucketLookupType = "auto"
        public var partSize = 64 << 20
        public var maxRetries = 5
        public var encryption = ServerSideEncryption.none
        public init(bucket: String, endpoint: String) { self.bucket = bucket; self.endpoint = endpoint }

        /// From the `config` of an objstore YAML with `type: S3`; keys Strata does not act on
        /// (SSE, tracing, HTTP tuning) are accepted, as they parse. Credentials missing from the
        /// file come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
        public init(objstore c: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
            bucket = c["bucket"] ?? ""
            endpoint = c["endpoint"] ?? ""
            if let r = c["region"], !r.isEmpty { region = r } else if let r = environment["AWS_REGION"], !r.isEmpty { region = r }
            accessKey = c["access_key"] ?? ""
            secretKey = c["secret_key"] ?? ""
            sessionToken = c["session_token"] ?? ""
            if !accessKey.isEmpty != !secretKey.isEmpty { throw ObjectStoreError(.invalid, "s3: access_key and secret_key must be given together") }
            if accessKey.isEmpty {
                accessKey = environment["AWS_ACCESS_KEY_ID"] ?? ""
                secretKey = environment["AWS_SECRET_ACCESS_KEY"] ?? ""
                sessionToken = environment["AWS_SESSION_TOKEN"] ?? ""
            }
            insecure = c["insecure"] == "true"
            bucketLookupType = c["bucket_lookup_type"].flatMap { $0.isEmpty ? nil : $0 } ?? "auto"
            guard ["auto", "path", "virtual-hosted"].contains(bucketLookupType) else {
                throw ObjectStoreError(.invalid, "s3: bucket_lookup_type must be auto, path or virtual-hosted, not \(bucketLookupType)")
            }
            if let p = c["part_size"], !p.isEmpty {
                guard let n = Int(p), n >= 5 << 20 else { throw ObjectStoreError(.invalid, "s3: part_size must be at least 5 MiB") }
                partSize = n
            }
            if let r = c["max_retries"], let n = Int(r) { maxRetries = max(0, n) }
            if let sse = c["sse_config"] { encryption = try ServerSideEncryption(yaml: sse) }
        }
    }

    /// Server-side encryption of uploaded objects (`sse_config`), as Thanos' S3 bucket asks for
    /// it: SSE-S3 (keys managed by S3) or SSE-KMS (a KMS key, optionally with an encryption
    /// context). SSE-C (a key the client sends with every request) is refused at start rather
    /// than ignored.
    public enum ServerSideEncryption: Sendable, Equatable {
        case none
        case s3
        case kms(keyID: String, context: [String: String])

        init(yaml: String) throws {
            let fields = (try? Yams.load(yaml: yaml)) as? [String: Any] ?? [:]
            switch fields["type"] as? String ?? "" {
            case "": self = .none
            case "SSE-S3": self = .s3
            case "SSE-KMS":
                let context = (fields["kms_encryption_context"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
                self = .kms(keyID: fields["kms_key_id"] as? String ?? "", context: context)
            case "SSE-C":
                throw ObjectStoreError(.invalid, "s3: sse_config type SSE-C is not supported by Strata (SSE-S3 and SSE-KMS are)")
            case let other:
                throw ObjectStoreError(.invalid, "s3: unsupported sse_config type \(other)")
            }
        }

        /// The headers of a PutObject or CreateMultipartUpload (parts inherit the upload's).
        var headers: [(String, String)] {
            switch self {
            case .none: return []
            case .s3: return [("x-amz-server-side-encryption", "AES256")]
            case .kms(let keyID, let context):
                var h = [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", keyID)]
                if !context.isEmpty, let json = try? JSONSerialization.data(withJSONObject: context, options: [.sortedKeys]) {
                    h.append(("x-amz-server-side-encryption-context", json.base64EncodedString()))
                }
                return h
            }
        }
    }

    public let config: Config
    public var kind: String { "s3" }
    private let signer: SigV4
    private let client: HTTPClient
    private let pathStyle: Bool

    public init(_ config: Config, client: HTTPClient = ObjectStoreHTTPClient.shared) throws {
        guard !config.bucket.isEmpty else { throw ObjectStoreError(.invalid, "missing s3 bucket in config") }
        guard !config.endpoint.isEmpty else { throw ObjectStoreError(.invalid, "no s3 endpoint in config file") }
        self.config = config
        self.client = client
        signer = SigV4(accessKey: config.accessKey, secretKey: config.secretKey,
                       sessionToken: config.sessionToken.isEmpty ? nil : config.sessionToken, region: config.region)
        switch config.bucketLookupType {
        case "path": pathStyle = true
        case "virtual-hosted": pathStyle = false
        default: pathStyle = !config.endpoint.hasSuffix("amazonaws.com") || config.bucket.contains(".")
        }
    }

    // MARK: requests

    private typealias Reply = ObjectStoreReply

    /// One signed request, retried on 5xx and connection errors with exponential backoff.
    private func request(_ method: HTTPMethod, key: String, query: [(String, String)] = [], headers: [(String, String)] = [],
                         body: [UInt8] = []) async throws -> Reply {
        let host = pathStyle ? config.endpoint : config.bucket + "." + config.endpoint
        let path = "/" + (pathStyle ? config.bucket + (key.isEmpty ? "" : "/") : "") + SigV4.uriEncode(key, keepSlash: true)
        let canonicalPath = pathStyle || !key.isEmpty ? path : "/"
        let queryString = query.map { SigV4.uriEncode($0.0, keepSlash: false) + "=" + SigV4.uriEncode($0.1, keepSlash: false) }.joined(separator: "&")
        let url = (config.insecure ? "http://" : "https://") + host + canonicalPath + (queryString.isEmpty ? "" : "?" + queryString)
        // Over TLS the body's integrity is TLS's job, so it is not hashed (as botocore does over
        // HTTPS); over plain HTTP the signature covers it.
        let payloadHash = body.isEmpty ? SigV4.emptyPayloadHash : config.insecure ? SigV4.sha256Hex(body) : "UNSIGNED-PAYLOAD"
        // Every header sent is signed: servers that check signatures the way botocore computes
        // them (moto) sign all the headers they receive.
        var headers = headers
        // Said explicitly, or the client adds `deflate, gzip` unsigned.
        headers.append(("Accept-Encoding", "identity"))
        let hasBody = !body.isEmpty || method == .PUT || method == .POST
        if hasBody { headers.append(("Content-Length", String(body.count))) }
        return try await ObjectStoreHTTP.send(client, maxRetries: config.maxRetries, transient: { $0 >= 500 },
                                              what: "s3 \(method.rawValue) \(key)") {
            var req = HTTPClientRequest(url: url)
            req.method = method
            for (n, v) in headers { req.headers.add(name: n, value: v) }
            let signed = signer.accessKey.isEmpty ? [("x-amz-content-sha256", payloadHash)]
                : signer.sign(method: method.rawValue, host: host, path: canonicalPath, query: query, headers: headers,
                              payloadHash: payloadHash, date: Date())
            for (n, v) in signed { req.headers.add(name: n, value: v) }
            if hasBody { req.body = .bytes(ByteBuffer(bytes: body)) }
            return req
        }
    }

    /// The error a non-2xx reply stands for: S3's `<Code>` and `<Message>`, typed.
    private func failure(_ r: Reply, _ what: String) -> ObjectStoreError {
        let xml = S3XML.parse(r.body)
        let code = xml.first("Error/Code") ?? "HTTP \(r.status)"
        let message = xml.first("Error/Message") ?? ""
        let kind: ObjectStoreError.Kind
        switch (r.status, code) {
        case (404, _), (_, "NoSuchKey"): kind = .notFound
        case (403, _), (_, "SignatureDoesNotMatch"), (_, "InvalidAccessKeyId"): kind = .denied
        default: kind = .failed
        }
        return ObjectStoreError(kind, "s3 \(what): \(code)\(message.isEmpty ? "" : ": " + message)")
    }

    // MARK: Bucket

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        let prefix = ObjectKeys.directory(dir)
        var out: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if !recursive { query.append(("delimiter", "/")) }
            if let token { query.append(("continuation-token", token)) }
            let r = try await request(.GET, key: "", query: query)
            guard r.status == 200 else { throw failure(r, "list \(prefix)") }
            let xml = S3XML.parse(r.body)
            out += xml.all("ListBucketResult/Contents/Key")
            out += xml.all("ListBucketResult/CommonPrefixes/Prefix")
            token = xml.first("ListBucketResult/IsTruncated") == "true" ? xml.first("ListBucketResult/NextContinuationToken") : nil
        } while token != nil
        return out.sorted()
    }

    public func get(_ name: String) async throws -> [UInt8] {
        try checkName(name)
        let r = try await request(.GET, key: name)
        guard r.status == 200 else { throw failure(r, "get \(name)") }
        return r.body
    }

    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] {
        try checkName(name)
        guard offset >= 0, (length ?? 1) >= 0 else { throw ObjectStoreError(.invalid, "s3: \(name): bad range") }
        if length == 0 { return [] }
        let range = HTTPRange.header(offset: offset, length: length)
        let r = try await request(.GET, key: name, headers: [("Range", range)])
        if r.status == 416 { return [] } // the range starts past the end
        guard r.status == 200 || r.status == 206 else { throw failure(r, "get \(name) \(range)") }
        return r.body
    }

    public func exists(_ name: String) async throws -> Bool {
        try await existsByAttributes(name)
    }

    public func attributes(_ name: String) async throws -> ObjectAttributes {
        try checkName(name)
        let r = try await request(.HEAD, key: name)
        guard r.status == 200 else { throw failure(r, "head \(name)") }
        let size = r.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        let modified = r.headers.first(name: "Last-Modified").flatMap(f.date(from:))?.timeIntervalSince1970 ?? 0
        return ObjectAttributes(size: size, lastModified: modified)
    }

    public func upload(_ name: String, bytes: [UInt8]) async throws {
        try checkName(name)
        if bytes.count >= config.partSize { return try await multipart(name, size: bytes.count) { Array(bytes[$0]) } }
        let r = try await request(.PUT, key: name, headers: config.encryption.headers, body: bytes)
        guard r.status == 200 else { throw failure(r, "put \(name)") }
    }

    public func upload(_ name: String, file path: String) async throws {
        try checkName(name)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ObjectStoreError(errno == ENOENT ? .notFound : .failed, "s3: uploading \(path): cannot open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ObjectStoreError(.failed, "s3: uploading \(path): cannot stat") }
        let size = Int(st.st_size)
        // pread: parts are read concurrently, each at its own offset.
        let read: @Sendable (Range<Int>) throws -> [UInt8] = { range in
            try [UInt8](unsafeUninitializedCapacity: range.count) { buf, count in
                count = 0
                while count < range.count {
                    let n = pread(fd, buf.baseAddress! + count, range.count - count, off_t(range.lowerBound + count))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw ObjectStoreError(.failed, "s3: reading \(path): short read") }
                    count += n
                }
            }
        }
        if size < config.partSize { return try await upload(name, bytes: try read(0 ..< size)) }
        try await multipart(name, size: size, read)
    }

    /// Parts in flight at once in a multipart upload (so at most this many part buffers are in
    /// memory), as minio-go, which Thanos uses, uploads them.
    static let partConcurrency = 4

    /// CreateMultipartUpload, UploadPart per `partSize` bytes (`partConcurrency` at a time),
    /// CompleteMultipartUpload; aborted when a part fails, so no orphan parts stay billed.
    private func multipart(_ name: String, size: Int, _ part: @escaping @Sendable (Range<Int>) throws -> [UInt8]) async throws {
        let created = try await request(.POST, key: name, query: [("uploads", "")], headers: config.encryption.headers)
        guard created.status == 200, let uploadID = S3XML.parse(created.body).first("InitiateMultipartUploadResult/UploadId") else {
            throw failure(created, "create multipart upload \(name)")
        }
        do {
            let ranges = stride(from: 0, to: size, by: config.partSize).map { $0 ..< min(size, $0 + config.partSize) }
            var etags = [String](repeating: "", count: ranges.count)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 0
                while next < ranges.count || !group.isEmpty {
                    while next < ranges.count && next - etags.filter({ !$0.isEmpty }).count < Self.partConcurrency {
                        let i = next, range = ranges[i]
                        group.addTask {
                            let r = try await self.request(.PUT, key: name, query: [("partNumber", String(i + 1)), ("uploadId", uploadID)],
                                                           body: try part(range))
                            guard r.status == 200, let etag = r.headers.first(name: "ETag") else { throw self.failure(r, "upload part \(i + 1) of \(name)") }
                            return (i, etag)
                        }
                        next += 1
                    }
                    if let (i, etag) = try await group.next() { etags[i] = etag }
                }
            }
            let body = "<CompleteMultipartUpload>" + etags.enumerated().map {
                "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(S3XML.escape($0.element))</ETag></Part>"
            }.joined() + "</CompleteMultipartUpload>"
            let done = try await request(.POST, key: name, query: [("uploadId", uploadID)], body: Array(body.utf8))
            guard done.status == 200, S3XML.parse(done.body).first("Error/Code") == nil else { throw failure(done, "complete multipart upload \(name)") }
        } catch {
            _ = try? await request(.DELETE, key: name, query: [("uploadId", uploadID)])
            throw error
        }
    }

    public func delete(_ name: String) async throws {
        try checkName(name)
        let r = try await request(.DELETE, key: name)
        guard r.status == 204 || r.status == 200 else { throw failure(r, "delete \(name)") }
    }
}
