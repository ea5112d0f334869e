/// A bucket seen under a key prefix (objstore's `prefix`): every name gets `prefix/` in front,
/// listings come back without it.
public struct PrefixedBucket: Bucket {
    public let base: any Bucket
    public let prefix: String
    public var kind: String { base.kind }

    /// `prefix` is trimmed of `/` at both ends; one made only of `/` means none.
    public init(_ base: any Bucket, prefix: String) {
        self.base = base
        self.prefix = String(prefix.drop { $0 == "/" }.reversed().drop { $0 == "/" }.reversed())
    }

    private func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "/" + name }
    private func object(_ name: String) throws -> String {
        try checkName(name)
        return key(name)
    }

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        let strip = prefix.isEmpty ? 0 : prefix.count + 1
        return try await base.list(key(dir), recursive: recursive).map { String($0.dropFirst(strip)) }
    }
    public func get(_ name: String) async throws -> [UInt8] { try await base.get(try object(name)) }
    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] { try await base.getRange(try object(name), offset: offset, length: length) }
    public func exists(_ name: String) async throws -> Bool { try await base.exists(try object(name)) }
    public func attributes(_ name: String) async throws -> ObjectAttributes { try await base.attributes(try object(name)) }
    public func upload(_ name: String, bytes: [UInt8]) async throws { try await base.upload(try object(name), bytes: bytes) }
    public func upload(_ name: String, file path: String) async throws { try await base.upload(try object(name), file: path) }
    public func delete(_ name: String) async throws { try await base.delete(try object(name)) }
}
