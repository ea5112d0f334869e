import Foundation
import Synchronization

/// A bucket that counts its operations for `/metrics` under Thanos' objstore names
/// (`objstore_bucket_operations_total`, `_operation_failures_total`,
/// `_operation_duration_seconds`), by operation: `iter`, `get`, `get_range`, `exists`,
/// `attributes`, `upload`, `delete`. As in Thanos, a not-found answer is not a failure.
public final class InstrumentedBucket: Bucket {
    public static let operations = ["iter", "get", "get_range", "exists", "attributes", "upload", "delete"]
    /// Thanos' duration buckets, in seconds.
    public static let durationBuckets: [Double] = [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120]

    public struct Counts: Sendable, Equatable {
        public var total = 0
        public var failures = 0
        /// Cumulative counts per `durationBuckets` bound, then `+Inf` (= total).
        public var buckets = [Int](repeating: 0, count: InstrumentedBucket.durationBuckets.count)
        public var seconds = 0.0
        public init() {}
    }

    public let inner: any Bucket
    public var kind: String { inner.kind }
    private let counts = Mutex<[String: Counts]>([:])
    /// Unix seconds of the last upload that succeeded (0: none).
    private let lastUpload = Atomic<Int64>(0)

    public init(_ inner: any Bucket) { self.inner = inner }

    public func snapshot() -> [String: Counts] { counts.withLock { $0 } }
    public var lastSuccessfulUploadTime: Int64 { lastUpload.load(ordering: .relaxed) }

    private func measure<T>(_ op: String, _ body: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        var failed = false
        defer {
            let d = ContinuousClock.now - start
            let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            counts.withLock { all in
                var c = all[op] ?? Counts()
                c.total += 1
                if failed { c.failures += 1 }
                c.seconds += seconds
                for (i, bound) in Self.durationBuckets.enumerated() where seconds <= bound { c.buckets[i] += 1 }
                all[op] = c
            }
        }
        do { return try await body() } catch {
            failed = !ObjectStoreError.isNotFound(error)
            throw error
        }
    }

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        try await measure("iter") { try await inner.list(dir, recursive: recursive) }
    }
    public func get(_ name: String) async throws -> [UInt8] { try await measure("get") { try await inner.get(name) } }
    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] {
        try await measure("get_range") { try await inner.getRange(name, offset: offset, length: length) }
    }
    public func exists(_ name: String) async throws -> Bool { try await measure("exists") { try await inner.exists(name) } }
    public func attributes(_ name: String) async throws -> ObjectAttributes {
        try await measure("attributes") { try await inner.attributes(name) }
    }
    public func upload(_ name: String, bytes: [UInt8]) async throws {
        try await measure("upload") { try await inner.upload(name, bytes: bytes) }
        lastUpload.store(Int64(Date().timeIntervalSince1970), ordering: .relaxed)
    }
    public func upload(_ name: String, file path: String) async throws {
        try await measure("upload") { try await inner.upload(name, file: path) }
        lastUpload.store(Int64(Date().timeIntervalSince1970), ordering: .relaxed)
    }
    public func delete(_ name: String) async throws { try await measure("delete") { try await inner.delete(name) } }
}
