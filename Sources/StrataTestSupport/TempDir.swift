import Foundation

/// A fresh directory under the system temp dir, removed by `remove()` (call it in a defer).
public struct TempDir: Sendable {
    public let path: String

    public init(_ prefix: String = "strata-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/" + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
