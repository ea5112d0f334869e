import Foundation
import Synchronization

/// A bucket in memory, for tests and as the reference for the acceptance suite.
public final class InMemoryBucket: Bucket {
    private let objects = Mutex<[String: (bytes: [UInt8], modified: Double)]>([:])
    public var kind: String { "inmemory" }
    public init() {}

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        ObjectKeys.list(objects.withLock { Array($0.keys) }, in: dir, recursive: recursive)
    }

    public func get(_ name: String) async throws -> [UInt8] {
        try checkName(name)
        guard let o = objects.withLock({ $0[name] }) else { throw ObjectStoreError(.notFound, "inmemory: \(name): no such object") }
        return o.bytes
    }

    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] {
        let all = try await get(name)
        guard offset >= 0, (length ?? 0) >= 0 else { throw ObjectStoreError(.invalid, "inmemory: \(name): bad range") }
        let start = min(offset, all.count)
        let end = length.map { min(all.count, start + $0) } ?? all.count
        return Array(all[start ..< end])
    }

    public func exists(_ name: String) async throws -> Bool { objects.withLock { $0[name] != nil } }

    public func attributes(_ name: String) async throws -> ObjectAttributes {
        try checkName(name)
        guard let o = objects.withLock({ $0[name] }) else { throw ObjectStoreError(.notFound, "inmemory: \(name): no such object") }
        return ObjectAttributes(size: o.bytes.count, lastModified: o.modified)
    }

    public func upload(_ name: String, bytes: [UInt8]) async throws {
        try checkName(name)
        let now = Date().timeIntervalSince1970
        objects.withLock { $0[name] = (bytes, now) }
    }

    public func upload(_ name: String, file path: String) async throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ObjectStoreError(.failed, "inmemory: reading \(path): \(error)")
        }
        try await upload(name, bytes: [UInt8](data))
    }

    public func delete(_ name: String) async throws {
        try checkName(name)
        guard objects.withLock({ $0.removeValue(forKey: name) }) != nil else {
            throw ObjectStoreError(.notFound, "inmemory: \(name): no such object")
        }
    }
}
