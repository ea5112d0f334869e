import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// A Google Cloud Storage bucket over the JSON API through async-http-client: objects.list
/// (paged), media downloads (ranged), object metadata, media and resumable uploads, deletes.
/// Requests carry a service account's OAuth token, or none against an emulator. 5xx, 429 and
/// connection failures are retried with exponential backoff.
public final class GCSBucket: Bucket {
    public let config: Config
    public var kind: String { "gcs" }
    let transport: GCSTransport
    private let tokens: GCSTokenSource?

    public init(_ config: Config, client: HTTPClient = ObjectStoreHTTPClient.shared) throws {
        guard !config.bucket.isEmpty else { throw ObjectStoreError(.invalid, "missing Google Cloud Storage bucket name for stored blocks") }
        guard config.chunkSize > 0, config.chunkSize % Config.chunkQuantum == 0 else {
            throw ObjectStoreError(.invalid, "gcs: the chunk size must be a positive multiple of 256 KiB")
        }
        self.config = config
        let transport = GCSTransport(client: client, maxRetries: config.maxRetries)
        self.transport = transport
        tokens = try config.credentials.map { try GCSTokenSource(key: $0, transport: transport) }
    }

    // MARK: requests

    /// Percent-encodes all but RFC 3986's unreserved characters: object names are one path
    /// segment (`/` becomes `%2F`) or a query value.
    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `{endpoint}{path}?{query}`, the query's names and values encoded.
    func url(_ path: String, _ query: [(String, String)] = []) -> String {
        let q = query.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
        return config.endpoint + path + (q.isEmpty ? "" : "?" + q)
    }

    var objectsPath: String { "/storage/v1/b/" + Self.encode(config.bucket) + "/o" }

    func objectPath(_ name: String) -> String { objectsPath + "/" + Self.encode(name) }

    /// One request with the bearer token (when there are credentials).
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
              retries: Int? = nil, what: String) async throws -> GCSTransport.Reply {
        var headers = headers
        if let tokens { headers.append(("Authorization", "Bearer " + (try await tokens.token()))) }
        return try await transport.send(method, url, headers: headers, body: body, retries: retries, what: "gcs " + what)
    }

    private struct ErrorBody: Decodable {
        struct Detail: Decodable { var message: String? }
        var error: Detail?
    }

    /// The error a non-2xx reply stands for, with the JSON API's message.
    func failure(_ r: GCSTransport.Reply, _ what: String) -> ObjectStoreError {
        let message = (try? JSONDecoder().decode(ErrorBody.self, from: Data(r.body)))?.error?.message ?? ""
        let kind: ObjectStoreError.Kind
        switch r.status {
        case 404: kind = .notFound
        case 401, 403: kind = .denied
        default: kind = .failed
        }
        return ObjectStoreError(kind, "gcs \(what): HTTP \(r.status)\(message.isEmpty ? "" : ": " + message)")
    }

    // MARK: Bucket

    private struct ObjectList: Decodable {
        struct Item: Decodable { var name: String }
        var items: [Item]?
        var prefixes: [String]?
        var nextPageToken: String?
    }

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        let prefix = ObjectKeys.directory(dir)
        var out: [String] = []
        var pageToken: String?
        repeat {
            var query = [("fields", "items(name),prefixes,nextPageToken")]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if !recursive { query.append(("delimiter", "/")) }
            if let pageToken { query.append(("pageToken", pageToken)) }
            let r = try await send(.GET, url(objectsPath, query), what: "list \(config.bucket)/\(prefix)")
            guard r.status == 200 else { throw failure(r, "list \(config.bucket)/\(prefix)") }
            let page: ObjectList
            do { page = try JSONDecoder().decode(ObjectList.self, from: Data(r.body)) } catch {
                throw ObjectStoreError(.failed, "gcs list \(config.bucket)/\(prefix): unreadable answer: \(error)")
            }
            out += (page.items ?? []).map(\.name)
            out += page.prefixes ?? []
            pageToken = page.nextPageToken.flatMap { $0.isEmpty ? nil : $0 }
        } while pageToken != nil
        return out.sorted()
    }

    public func get(_ name: String) async throws -> [UInt8] {
        try checkName(name)
        let r = try await send(.GET, url(objectPath(name), [("alt", "media")]), what: "get \(name)")
        guard r.status == 200 else { throw failure(r, "get \(name)") }
        return r.body
    }

    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] {
        try checkName(name)
        guard offset >= 0, (length ?? 1) >= 0 else { throw ObjectStoreError(.invalid, "gcs: \(name): bad range") }
        if length == 0 { return [] }
        let range = HTTPRange.header(offset: offset, length: length)
        let r = try await send(.GET, url(objectPath(name), [("alt", "media")]), headers: [("Range", range)], what: "get \(name) \(range)")
        if r.status == 416 { return [] } // the range starts past the end
        guard r.status == 200 || r.status == 206 else { throw failure(r, "get \(name) \(range)") }
        return r.body
    }

    public func exists(_ name: String) async throws -> Bool {
        try await existsByAttributes(name)
    }

    private struct Metadata: Decodable {
        var size: String?
        var updated: String?
    }

    public func attributes(_ name: String) async throws -> ObjectAttributes {
        try checkName(name)
        let r = try await send(.GET, url(objectPath(name), [("fields", "size,updated")]), what: "attributes \(name)")
        guard r.status == 200 else { throw failure(r, "attributes \(name)") }
        guard let meta = try? JSONDecoder().decode(Metadata.self, from: Data(r.body)), let size = meta.size.flatMap(Int.init) else {
            throw ObjectStoreError(.failed, "gcs attributes \(name): no size in the answer")
        }
        return ObjectAttributes(size: size, lastModified: meta.updated.flatMap(Self.rfc3339) ?? 0)
    }

    /// Seconds since the epoch of an RFC 3339 time (`2024-05-01T10:00:00.123456Z`); the
    /// fraction is taken apart because formatters differ in how many digits they accept.
    static func rfc3339(_ s: String) -> Double? {
        var whole = s
        var fraction = 0.0
        if let dot = s.firstIndex(of: ".") {
            let digits = s[s.index(after: dot)...].prefix { $0.isNumber }
            fraction = Double("0." + digits) ?? 0
            whole = String(s[..<dot]) + String(s[s.index(after: dot)...].dropFirst(digits.count))
        }
        guard let date = ISO8601DateFormatter().date(from: whole) else { return nil }
        return date.timeIntervalSince1970 + fraction
    }

    public func delete(_ name: String) async throws {
        try checkName(name)
        let r = try await send(.DELETE, url(objectPath(name)), what: "delete \(name)")
        guard r.status == 204 || r.status == 200 else { throw failure(r, "delete \(name)") }
    }
}
