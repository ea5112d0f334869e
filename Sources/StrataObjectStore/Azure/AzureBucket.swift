import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// An Azure Blob Storage container, spoken to over the Blob REST API with Shared Key signed
/// requests through async-http-client: List Blobs, Get Blob (ranged with `x-ms-range`), Get Blob
/// Properties, Put Blob, Put Block + Put Block List for objects of `blockSize` or more, Delete
/// Blob, and Create Container at first use. Server errors (5xx, 408, 429) and connection
/// failures are retried with exponential backoff.
public final class AzureBucket: Bucket {
    /// The Blob service version Strata speaks (`x-ms-version`).
    static let apiVersion = "2021-08-06"

    public struct Config: Sendable, Equatable {
        public var account: String
        /// The account key, base64 (as the portal shows it).
        public var key: String
        public var container: String
        /// Thanos' `endpoint`: the account's blob host is `{account}.{endpoint}`, over HTTPS.
        public var endpoint = "blob.core.windows.net"
        /// The blob service's base URL, which replaces `https://{account}.{endpoint}` when set:
        /// from a connection string's `BlobEndpoint`, or from an `endpoint` with a scheme
        /// (`http://127.0.0.1:10000` gives `http://127.0.0.1:10000/{account}`: path-style, as
        /// Azurite serves accounts).
        public var serviceURL: String?
        public var createContainer = true
        /// Objects of this size or more go up as blocks of this size (Put Block, Put Block List).
        public var blockSize = 4 << 20
        public var maxRetries = 3

        public init(account: String, key: String, container: String) {
            self.account = account; self.key = key; self.container = container
        }

        /// From the `config` of an objstore YAML with `type: AZURE`. Credentials are Shared Key:
        /// `storage_account_key`, or `storage_connection_string` (`AccountName`, `AccountKey`,
        /// `BlobEndpoint` or `DefaultEndpointsProtocol` + `EndpointSuffix`). Azure AD keys
        /// (`az_tenant_id`, `client_id`, `client_secret`, `user_assigned_id`) parse but cannot be
        /// used without a key. `max_retries` 0 (Thanos' default) keeps the Azure SDKs' 3.
        public init(objstore c: [String: String]) throws {
            account = c["storage_account"] ?? ""
            key = c["storage_account_key"] ?? ""
            container = c["container"] ?? ""
            let connection = c["storage_connection_string"] ?? ""
            if !key.isEmpty && !connection.isEmpty {
                throw ObjectStoreError(.invalid, "azure: storage_account_key and storage_connection_string cannot both be set")
            }
            if let e = c["endpoint"], !e.isEmpty {
                if e.contains("://") { serviceURL = Self.trimSlashes(e) + "/" + account } else { endpoint = e }
            }
            if !connection.isEmpty { try apply(connectionString: connection) }
            guard !key.isEmpty else {
                throw ObjectStoreError(.invalid, "azure: Strata signs with Shared Key only: set storage_account_key or storage_connection_string")
            }
            if let v = c["storage_create_container"], !v.isEmpty {
                switch v.lowercased() {
                case "true", "yes", "on": createContainer = true
                case "false", "no", "off": createContainer = false
                default: throw ObjectStoreError(.invalid, "azure: storage_create_container must be true or false, not \(v)")
                }
            }
            if let r = c["max_retries"], !r.isEmpty {
                guard let n = Int(r) else { throw ObjectStoreError(.invalid, "azure: max_retries must be an integer, not \(r)") }
                if n != 0 { maxRetries = max(0, n) } // negative: no retries, as in the Azure SDKs
            }
        }

        private mutating func apply(connectionString: String) throws {
            var fields: [String: String] = [:]
            for part in connectionString.split(separator: ";") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let eq = part.firstIndex(of: "=") else { throw ObjectStoreError(.invalid, "azure: storage_connection_string: \(part) is not name=value") }
                fields[part[..<eq].trimmingCharacters(in: .whitespaces).lowercased()] = String(part[part.index(after: eq)...])
            }
            if let name = fields["accountname"], !name.isEmpty { account = name }
            key = fields["accountkey"] ?? ""
            if key.isEmpty {
                throw ObjectStoreError(.invalid, "azure: storage_connection_string has no AccountKey (Strata signs with Shared Key only)")
            }
            if let blob = fields["blobendpoint"], !blob.isEmpty {
                serviceURL = Self.trimSlashes(blob)
            } else {
                let scheme = fields["defaultendpointsprotocol"].flatMap { $0.isEmpty ? nil : $0 } ?? "https"
                serviceURL = scheme + "://" + account + ".blob." + (fields["endpointsuffix"].flatMap { $0.isEmpty ? nil : $0 } ?? "core.windows.net")
            }
        }

        private static func trimSlashes(_ s: String) -> String {
            var out = s
            while out.hasSuffix("/") { out.removeLast() }
            return out
        }

        /// The blob service's base URL (no container).
        public var blobServiceURL: String { serviceURL ?? "https://\(account).\(endpoint)" }
    }

    public let config: Config
    public var kind: String { "azure" }
    private let signer: SharedKey
    private let client: HTTPClient
    /// `scheme://host[:port]` of the service.
    private let origin: String
    /// The container's URL path, percent-encoded, as sent and signed.
    private let containerPath: String
    /// Set once the container is known to exist (created, or found there).
    private let containerReady = Mutex(false)

    public init(_ config: Config, client: HTTPClient = ObjectStoreHTTPClient.shared) throws {
        guard !config.account.isEmpty else { throw ObjectStoreError(.invalid, "no Azure storage_account specified while using Azure") }
        guard !config.container.isEmpty else { throw ObjectStoreError(.invalid, "no Azure container specified while using Azure") }
        guard config.blockSize > 0 else { throw ObjectStoreError(.invalid, "azure: block size must be positive") }
        guard let url = URLComponents(string: config.blobServiceURL), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw ObjectStoreError(.invalid, "azure: \(config.blobServiceURL) is not an http(s) URL")
        }
        self.config = config
        self.client = client
        signer = try SharedKey(account: config.account, base64Key: config.key)
        origin = scheme + "://" + (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        var base = url.percentEncodedPath
        while base.hasSuffix("/") { base.removeLast() }
        containerPath = base + "/" + SigV4.uriEncode(config.container, keepSlash: false)
    }

    // MARK: requests

    private typealias Reply = ObjectStoreReply

    /// Whether a reply is worth another try: server errors, and the throttling and timeout
    /// answers the Azure SDKs also retry.
    private static func isTransient(_ status: Int) -> Bool { status >= 500 || status == 408 || status == 429 }

    /// One signed request on the container (`blob` nil) or a blob, retried on transient answers
    /// and connection errors with exponential backoff; each try is signed anew (`x-ms-date`).
    private func send(_ method: HTTPMethod, blob: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                      body: [UInt8] = []) async throws -> Reply {
        let path = containerPath + (blob.map { "/" + SigV4.uriEncode($0, keepSlash: true) } ?? "")
        let queryString = query.map { SigV4.uriEncode($0.0, keepSlash: false) + "=" + SigV4.uriEncode($0.1, keepSlash: false) }
            .joined(separator: "&")
        let url = origin + path + (queryString.isEmpty ? "" : "?" + queryString)
        let hasBody = method == .PUT || method == .POST
        var fixed = headers
        // Said explicitly so the signed value is the one sent (the client would add it anyway).
        if hasBody { fixed.append(("Content-Length", String(body.count))) }
        return try await ObjectStoreHTTP.send(client, maxRetries: config.maxRetries, transient: Self.isTransient,
                                              what: "azure \(method.rawValue) \(blob ?? config.container)") {
            var all = fixed
            all.append(("x-ms-date", SharedKey.httpDate(Date())))
            all.append(("x-ms-version", Self.apiVersion))
            var req = HTTPClientRequest(url: url)
            req.method = method
            for (n, v) in all { req.headers.add(name: n, value: v) }
            req.headers.add(name: "Authorization", value: signer.authorization(method: method.rawValue, path: path, query: query, headers: all))
            if hasBody { req.body = .bytes(ByteBuffer(bytes: body)) }
            return req
        }
    }

    /// The error a non-2xx reply stands for: Azure's `<Code>` (or `x-ms-error-code`, all a HEAD
    /// answer has) and the first line of `<Message>`, typed.
    private func failure(_ r: Reply, _ what: String) -> ObjectStoreError {
        let xml = S3XML.parse(r.body)
        let code = xml.first("Error/Code") ?? r.headers.first(name: "x-ms-error-code") ?? "HTTP \(r.status)"
        let message = (xml.first("Error/Message") ?? "").split(separator: "\n").first.map(String.init) ?? ""
        let kind: ObjectStoreError.Kind
        switch (r.status, code) {
        case (404, _): kind = .notFound
        case (403, _), (_, "AuthenticationFailed"): kind = .denied
        default: kind = .failed
        }
        return ObjectStoreError(kind, "azure \(what): \(code)\(message.isEmpty ? "" : ": " + message)")
    }

    /// Creates the container before the first call when `createContainer` is set (Thanos does
    /// it when the bucket is made; here `init` stays free of I/O). An existing one is fine.
    private func prepareContainer() async throws {
        guard config.createContainer, !containerReady.withLock({ $0 }) else { return }
        let r = try await send(.PUT, blob: nil, query: [("restype", "container")])
        let exists = r.status == 409 && (S3XML.parse(r.body).first("Error/Code") ?? r.headers.first(name: "x-ms-error-code")) == "ContainerAlreadyExists"
        guard r.status == 201 || exists else { throw failure(r, "create container \(config.container)") }
        containerReady.withLock { $0 = true }
    }

    // MARK: Bucket

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        try await prepareContainer()
        let prefix = ObjectKeys.directory(dir)
        var out: [String] = []
        var marker = ""
        repeat {
            var query = [("restype", "container"), ("comp", "list"), ("prefix", prefix)]
            if !recursive { query.append(("delimiter", "/")) }
            if !marker.isEmpty { query.append(("marker", marker)) }
            let r = try await send(.GET, blob: nil, query: query)
            guard r.status == 200 else { throw failure(r, "list \(prefix)") }
            let xml = S3XML.parse(r.body)
            out += xml.all("EnumerationResults/Blobs/Blob/Name")
            out += xml.all("EnumerationResults/Blobs/BlobPrefix/Name")
            marker = xml.first("EnumerationResults/NextMarker") ?? ""
        } while !marker.isEmpty
        return out.sorted()
    }

    public func get(_ name: String) async throws -> [UInt8] {
        try checkName(name)
        try await prepareContainer()
        let r = try await send(.GET, blob: name)
        guard r.status == 200 else { throw failure(r, "get \(name)") }
        return r.body
    }

    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] {
        try checkName(name)
        guard offset >= 0, (length ?? 1) >= 0 else { throw ObjectStoreError(.invalid, "azure: \(name): bad range") }
        if length == 0 { return [] }
        try await prepareContainer()
        let range = HTTPRange.header(offset: offset, length: length)
        let r = try await send(.GET, blob: name, headers: [("x-ms-range", range)])
        if r.status == 416 { return [] } // the range starts past the end
        guard r.status == 200 || r.status == 206 else { throw failure(r, "get \(name) \(range)") }
        return r.body
    }

    public func exists(_ name: String) async throws -> Bool {
        try await existsByAttributes(name)
    }

    public func attributes(_ name: String) async throws -> ObjectAttributes {
        try checkName(name)
        try await prepareContainer()
        let r = try await send(.HEAD, blob: name)
        guard r.status == 200 else { throw failure(r, "head \(name)") }
        let size = r.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0
        let modified = r.headers.first(name: "Last-Modified").flatMap(SharedKey.parseHTTPDate)?.timeIntervalSince1970 ?? 0
        return ObjectAttributes(size: size, lastModified: modified)
    }

    public func upload(_ name: String, bytes: [UInt8]) async throws {
        try checkName(name)
        try await prepareContainer()
        if bytes.count >= config.blockSize { return try await uploadBlocks(name, size: bytes.count) { Array(bytes[$0]) } }
        let r = try await send(.PUT, blob: name, headers: [("Content-Type", "application/octet-stream"), ("x-ms-blob-type", "BlockBlob")],
                               body: bytes)
        guard r.status == 201 else { throw failure(r, "put \(name)") }
    }

    public func upload(_ name: String, file path: String) async throws {
        try checkName(name)
        guard let h = FileHandle(forReadingAtPath: path) else { throw ObjectStoreError(.notFound, "azure: uploading \(path): cannot open") }
        defer { try? h.close() }
        let size = Int((try? h.seekToEnd()) ?? 0)
        func read(_ range: Range<Int>) throws -> [UInt8] {
            try h.seek(toOffset: UInt64(range.lowerBound))
            return [UInt8](try h.read(upToCount: range.count) ?? Data())
        }
        if size < config.blockSize { return try await upload(name, bytes: try read(0 ..< size)) }
        try await prepareContainer()
        try await uploadBlocks(name, size: size, read)
    }

    /// A block id: base64 of a fixed-width index, since every block id of a blob must have the
    /// same length.
    static func blockID(_ index: Int) -> String {
        Data(String(format: "%08d", index).utf8).base64EncodedString()
    }

    /// Put Block per `blockSize` bytes, then Put Block List. Blocks of a failed upload stay
    /// uncommitted, invisible, and Azure drops them after a week; a retry reuses their ids.
    private func uploadBlocks(_ name: String, size: Int, _ block: (Range<Int>) throws -> [UInt8]) async throws {
        var ids: [String] = []
        var offset = 0
        while offset < size {
            let end = min(size, offset + config.blockSize)
            let id = Self.blockID(ids.count)
            let r = try await send(.PUT, blob: name, query: [("comp", "block"), ("blockid", id)],
                                   headers: [("Content-Type", "application/octet-stream")], body: try block(offset ..< end))
            guard r.status == 201 else { throw failure(r, "put block \(ids.count) of \(name)") }
            ids.append(id)
            offset = end
        }
        let list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" + ids.map { "<Latest>\($0)</Latest>" }.joined() + "</BlockList>"
        let r = try await send(.PUT, blob: name, query: [("comp", "blocklist")], headers: [("Content-Type", "application/xml")],
                               body: Array(list.utf8))
        guard r.status == 201 else { throw failure(r, "put block list of \(name)") }
    }

    public func delete(_ name: String) async throws {
        try checkName(name)
        try await prepareContainer()
        // Snapshots go with the blob, as in Thanos (Azure refuses the delete otherwise).
        let r = try await send(.DELETE, blob: name, headers: [("x-ms-delete-snapshots", "include")])
        guard r.status == 202 else { throw failure(r, "delete \(name)") }
    }
}
