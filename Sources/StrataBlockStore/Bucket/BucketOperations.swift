import Foundation
import StrataBlock
import StrataObjectStore
import StrataRuntime

/// Single operations on a bucket's blocks, as Thanos' `block` package and `thanos tools bucket`
/// do them: upload a block directory, download a block, put or remove a marker, delete a block
/// in Thanos' order, clean up marked blocks and partial uploads. The `strata bucket` commands and
/// the bucket compactor call them.
public enum BucketOperations {
    // MARK: upload

    /// Uploads the blocks of a data directory (`path`), or the one block `path` is, as Thanos'
    /// `upload-blocks`: in the shipper's order and format, skipping blocks already in the bucket.
    /// A single block is uploaded whatever its level; a data directory's compacted blocks only
    /// with `uploadCompacted`.
    public static func upload(path: String, bucket: any Bucket, labels: [String: String],
                              uploadCompacted: Bool, source: String = "bucket.upload") async throws -> Shipper.SyncResult {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        if FileManager.default.fileExists(atPath: p + "/" + BlockMeta.fileName) {
            let ulid = URL(fileURLWithPath: p).lastPathComponent
            guard ULID.isValid(ulid) else { throw ShipperError("\(p): a block directory must be named by its ULID") }
            let parent = URL(fileURLWithPath: p).deletingLastPathComponent().path
            let shipper = try Shipper(dataDir: parent, bucket: bucket, externalLabels: labels, source: source, uploadCompacted: true)
            return try await shipper.sync(only: [ulid])
        }
        guard FileSystem.isDirectory(p) else { throw ShipperError("\(p): not a block or data directory") }
        let shipper = try Shipper(dataDir: p, bucket: bucket, externalLabels: labels, source: source, uploadCompacted: uploadCompacted)
        return try await shipper.sync()
    }

    // MARK: download

    /// Downloads block `ulid` into `dir/<ulid>/`, `meta.json` last (so an interrupted download
    /// is not a block), each file through a temporary name, fsynced.
    public static func download(_ bucket: any Bucket, ulid: String, into dir: String) async throws -> String {
        guard ULID.isValid(ulid) else { throw ShipperError("\(ulid) is not a block ULID") }
        guard try await bucket.exists(ulid + "/" + BlockMeta.fileName) else {
            throw ShipperError("block \(ulid) is not in the bucket (or is a partial upload without meta.json)")
        }
        let target = dir + "/" + ulid
        if FileManager.default.fileExists(atPath: target) { throw ShipperError("\(target) already exists") }
        let names = try await bucket.list(ulid + "/", recursive: true)
        let ordered = names.filter { !$0.hasSuffix("/" + BlockMeta.fileName) } + [ulid + "/" + BlockMeta.fileName]
        for name in ordered {
            let rel = String(name.dropFirst(ulid.count + 1))
            // Never outside the block directory, whatever the bucket holds.
            guard !rel.isEmpty, !rel.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else { continue }
            let path = target + "/" + rel
            try FileSystem.mkdirAll(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            let w = try FileWriter(path: path + ".tmp")
            try w.write(try await bucket.get(name))
            try w.close()
            try FileSystem.rename(path + ".tmp", path)
        }
        try FileSystem.syncDir(target)
        return target
    }

    // MARK: mark

    public enum MarkOutcome: Equatable, Sendable { case marked, alreadyMarked, removed, notMarked }

    /// Puts (or with `remove`, deletes) a marker on a block. As Thanos, an existing marker is
    /// left as it is, and a block must exist (have `meta.json`) to be marked.
    public static func mark(_ bucket: any Bucket, ulid: String, kind: BlockMarker.Kind, details: String, remove: Bool = false,
                            now: Int64 = Int64(Date().timeIntervalSince1970)) async throws -> MarkOutcome {
        guard ULID.isValid(ulid) else { throw ShipperError("block.id is not a valid ULID, got: \(ulid)") }
        let name = ulid + "/" + kind.rawValue
        if remove {
            guard try await bucket.exists(name) else { return .notMarked }
            try await bucket.delete(name)
            return .removed
        }
        guard try await bucket.exists(ulid + "/" + BlockMeta.fileName) else { throw ShipperError("block \(ulid) is not in the bucket") }
        if try await bucket.exists(name) { return .alreadyMarked }
        let marker = BlockMarker(kind: kind, id: ulid, details: details, time: now)
        try await bucket.upload(name, bytes: Array(marker.json().utf8))
        return .marked
    }

    // MARK: cleanup

    public struct CleanupResult: Sendable, Equatable {
        public var deletedMarked: [String] = []
        public var deletedPartial: [String] = []
    }

    /// What Thanos' `tools bucket cleanup` and compactor do to a bucket's garbage: delete blocks
    /// whose deletion mark is at least `deleteDelay` old (including blocks whose deletion stopped
    /// half way), and partial uploads (no `meta.json`) whose newest object is older than
    /// `partialAge` (by ULID time when the store gives no dates).
    public static func cleanup(_ bucket: any Bucket, deleteDelay: Int64, partialAge: Int64,
                               nowMillis: Int64 = Int64(Date().timeIntervalSince1970 * 1000), stats: CompactorStats? = nil) async throws -> CleanupResult {
        var result = CleanupResult()
        let (blocks, partials) = try await BucketBlocks.scan(bucket)
        func remove(_ ulid: String) async throws {
            do { try await delete(bucket, ulid: ulid) } catch {
                stats?.add(.cleanupFailures)
                throw error
            }
            stats?.add(.blocksCleaned)
        }
        let marked = blocks.compactMap { e in e.deletionMarkedAt.map { (e.meta.ulid, $0) } }
            + partials.compactMap { p in p.deletionMarkedAt.map { (p.ulid, $0) } }
        for (ulid, at) in marked.sorted(by: { $0.0 < $1.0 }) where nowMillis - at * 1000 >= deleteDelay {
            try await remove(ulid)
            result.deletedMarked.append(ulid)
        }
        for p in partials where p.deletionMarkedAt == nil && nowMillis - p.newestMillis > partialAge {
            stats?.add(.partialUploadDeletes)
            try await remove(p.ulid)
            result.deletedPartial.append(p.ulid)
        }
        return result
    }

    /// Deletes a block in Thanos' order: `meta.json` first (from then on it is a partial upload
    /// nobody reads), then its other objects, then the deletion mark last.
    public static func delete(_ bucket: any Bucket, ulid: String) async throws {
        let dir = ulid + "/"
        func deleteIfThere(_ name: String) async throws {
            do { try await bucket.delete(name) } catch where ObjectStoreError.isNotFound(error) {}
        }
        try await deleteIfThere(dir + BlockMeta.fileName)
        CrashPoint.reached("delete.meta-removed")
        let mark = dir + BlockMarker.Kind.deletion.rawValue
        for name in try await bucket.list(dir, recursive: true) where name != mark && name != dir + BlockMeta.fileName {
            try await deleteIfThere(name)
        }
        CrashPoint.reached("delete.files-removed")
        try await deleteIfThere(mark)
    }
}
