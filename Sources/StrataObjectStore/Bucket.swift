/// An object store as Thanos' `objstore.Bucket` sees it: flat keys with `/` as the directory
/// separator, whole-object uploads, ranged reads. Every backend (memory, filesystem, S3, GCS,
/// Azure) must pass the same acceptance suite (`StrataTestSupport.BucketAcceptance`).
public protocol Bucket: Sendable {
    /// A short name for logs and metrics (`filesystem`, `s3`, …).
    var kind: String { get }

    /// The direct children of `dir` (`""` for the top): objects by name, directories as
    /// `name/`; with `recursive`, every object below `dir` and no directory entries. A dir given
    /// with or without its trailing `/` lists the same; a missing one lists nothing. Sorted.
    func list(_ dir: String, recursive: Bool) async throws -> [String]

    /// The whole object. Throws `ObjectStoreError.notFound` when it does not exist.
    func get(_ name: String) async throws -> [UInt8]

    /// `length` bytes from `offset` (to the end when `length` is nil).
    func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8]

    func exists(_ name: String) async throws -> Bool

    func attributes(_ name: String) async throws -> ObjectAttributes

    /// Writes (or replaces) the object; readers see the old object or the whole new one.
    func upload(_ name: String, bytes: [UInt8]) async throws

    /// Uploads a local file (backends stream or split it as they need).
    func upload(_ name: String, file path: String) async throws

    /// Deletes the object; `notFound` if there is none.
    func delete(_ name: String) async throws
}

public struct ObjectAttributes: Sendable, Equatable {
    public var size: Int
    /// Seconds since the epoch.
    public var lastModified: Double
    public init(size: Int, lastModified: Double) { self.size = size; self.lastModified = lastModified }
}

/// An object-store failure, typed so callers can tell a missing object from a refused request.
public struct ObjectStoreError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case notFound
        /// A name or argument the store refuses (an empty name, a negative range).
        case invalid
        /// The store refused the credentials or the request's signature.
        case denied
        /// Anything else: I/O, network, a server error.
        case failed
    }

    public let kind: Kind
    public let description: String
    public init(_ kind: Kind, _ description: String) { self.kind = kind; self.description = description }

    public static func isNotFound(_ error: any Error) -> Bool { (error as? ObjectStoreError)?.kind == .notFound }
}

extension Bucket {
    func checkName(_ name: String) throws {
        if name.isEmpty { throw ObjectStoreError(.invalid, "\(kind): empty object name") }
    }

    /// `exists` for stores whose only cheap probe is the object's attributes (a HEAD).
    func existsByAttributes(_ name: String) async throws -> Bool {
        do { _ = try await attributes(name); return true } catch let e as ObjectStoreError where e.kind == .notFound { return false }
    }
}

/// HTTP ranges as the S3, GCS and Azure APIs take them.
enum HTTPRange {
    /// `bytes=offset-last`, or `bytes=offset-` to the end.
    static func header(offset: Int, length: Int?) -> String {
        "bytes=\(offset)-" + (length.map { String(offset + $0 - 1) } ?? "")
    }
}

/// Directory helpers shared by backends that keep keys in a sorted list.
enum ObjectKeys {
    /// `dir` with exactly one trailing `/`, or `""` for the top.
    static func directory(_ dir: String) -> String {
        var d = dir
        while d.hasSuffix("/") { d.removeLast() }
        return d.isEmpty ? "" : d + "/"
    }

    /// The listing of `dir` over `keys` (all object names), as `Bucket.list` describes it.
    static func list(_ keys: some Sequence<String>, in dir: String, recursive: Bool) -> [String] {
        let prefix = directory(dir)
        var out = Set<String>()
        for k in keys where k.hasPrefix(prefix) {
            let rest = k.dropFirst(prefix.count)
            if recursive { out.insert(k); continue }
            if let slash = rest.firstIndex(of: "/") { out.insert(prefix + rest[..<slash] + "/") } else { out.insert(k) }
        }
        return out.sorted()
    }
}
