import Foundation
import StrataBlock
import StrataObjectStore

/// The blocks in a bucket as Thanos' readers see them: a top-level ULID directory with a
/// `meta.json` (partial uploads without one are not blocks), oldest first.
public enum BucketBlocks {
    public struct Entry: Sendable {
        public var meta: BlockMeta
        public var thanos: ThanosMeta?
        /// The markers beside `meta.json` (read by `scan`; `list` leaves this empty).
        public var markers: Set<BlockMarker.Kind> = []
        /// When the deletion mark was put (Unix seconds), if there is one and it reads.
        public var deletionMarkedAt: Int64?

        public var resolution: Int64 { thanos?.resolution ?? 0 }
        /// Thanos' compaction group: the external labels and the resolution.
        public var groupKey: String { BucketBlocks.streamKey(thanos?.labels ?? [:]) + "@\(resolution)" }
    }

    /// A ULID directory without `meta.json`: an upload in progress, an aborted one, or a block
    /// whose deletion stopped half way.
    public struct Partial: Sendable, Equatable {
        public var ulid: String
        /// Newest object's last-modified time (Unix ms), or the ULID's time when the store gives none.
        public var newestMillis: Int64
        public var deletionMarkedAt: Int64?
    }

    /// The ULIDs Thanos' deduplicate filter keeps: within each group (external labels and
    /// resolution), a block whose sources another block holds is that block's input and left
    /// out. Per group, because a downsampled block holds its raw block's sources.
    public static func uncovered(_ entries: [Entry]) -> Set<String> {
        Set(Dictionary(grouping: entries, by: \.groupKey).values.flatMap { BucketStore.withoutCoveredSources($0.map(\.meta)) }.map(\.ulid))
    }

    /// A stream's external labels as one sortable key (`a=1,b=2`).
    public static func streamKey(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    public static func list(_ bucket: any Bucket) async throws -> [Entry] {
        try await read(bucket, markers: false).blocks
    }

    /// The blocks with their markers, and the partial uploads: what the compactor decides on.
    public static func scan(_ bucket: any Bucket) async throws -> (blocks: [Entry], partials: [Partial]) {
        try await read(bucket, markers: true)
    }

    private static func read(_ bucket: any Bucket, markers: Bool) async throws -> (blocks: [Entry], partials: [Partial]) {
        var out: [Entry] = []
        var partials: [Partial] = []
        for dir in try await bucket.list("", recursive: false) where dir.hasSuffix("/") {
            let ulid = String(dir.dropLast())
            guard ULID.isValid(ulid) else { continue }
            var files: Set<String> = []
            if markers { files = Set(try await bucket.list(dir, recursive: false).map { String($0.dropFirst(dir.count)) }) }
            let deletionMarkedAt: Int64? = files.contains(BlockMarker.Kind.deletion.rawValue)
                ? (try? BlockMarker.parse(try await bucket.get(dir + BlockMarker.Kind.deletion.rawValue), kind: .deletion))?.time : nil
            // With the directory listed, a missing meta.json needs no GET to find out.
            var bytes: [UInt8]?
            if !markers || files.contains(BlockMeta.fileName) {
                do { bytes = try await bucket.get(dir + BlockMeta.fileName) } catch where ObjectStoreError.isNotFound(error) {}
            }
            guard let bytes else {
                if markers {
                    var newest = Int64(ULID.time(ulid) ?? 0)
                    for name in try await bucket.list(dir, recursive: true) {
                        if let a = try? await bucket.attributes(name), a.lastModified > 0 { newest = max(newest, Int64(a.lastModified * 1000)) }
                    }
                    partials.append(Partial(ulid: ulid, newestMillis: newest, deletionMarkedAt: deletionMarkedAt))
                }
                continue
            }
            let meta = try BlockMeta.parse(Data(bytes), path: ulid + "/" + BlockMeta.fileName)
            var entry = Entry(meta: meta, thanos: ThanosMeta.from(meta))
            entry.markers = Set(BlockMarker.Kind.allCases.filter { files.contains($0.rawValue) })
            entry.deletionMarkedAt = deletionMarkedAt
            out.append(entry)
        }
        out.sort { $0.meta.minTime != $1.meta.minTime ? $0.meta.minTime < $1.meta.minTime : $0.meta.ulid < $1.meta.ulid }
        return (out, partials.sorted { $0.ulid < $1.ulid })
    }
}
