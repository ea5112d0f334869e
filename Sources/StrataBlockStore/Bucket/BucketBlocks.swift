import Foundation
import StrataBlock
import StrataObjectStore

/// The blocks in a bucket as Thanos' readers see them: a top-level ULID directory with a
/// `meta.json` (partial uploads without one are not blocks), oldest first.
public enum BucketBlocks {
    public struct Entry: Sendable {
        public var meta: BlockMeta
        public var thanos: ThanosMeta?
    }

    public static func list(_ bucket: any Bucket) async throws -> [Entry] {
        var out: [Entry] = []
        for dir in try await bucket.list("", recursive: false) where dir.hasSuffix("/") {
            let ulid = String(dir.dropLast())
            guard ULID.isValid(ulid) else { continue }
            let bytes: [UInt8]
            do { bytes = try await bucket.get(ulid + "/" + BlockMeta.fileName) } catch where ObjectStoreError.isNotFound(error) {
                continue // a partial upload
            }
            let meta = try BlockMeta.parse(Data(bytes), path: ulid + "/" + BlockMeta.fileName)
            out.append(Entry(meta: meta, thanos: ThanosMeta.from(meta)))
        }
        return out.sorted { $0.meta.minTime != $1.meta.minTime ? $0.meta.minTime < $1.meta.minTime : $0.meta.ulid < $1.meta.ulid }
    }

}
