import Foundation
import StrataBlock
import StrataObjectStore

extension BlockCatalog {
    /// Brings the bucket side of the catalog up to date, as Thanos' meta fetcher does: every
    /// top-level ULID directory with a `meta.json` is a block (without one, a partial upload,
    /// left out); each `meta.json` is read once per ULID and cached, the markers are read each
    /// time; blocks no longer in the bucket lose their bucket flag. Returns the blocks found.
    @discardableResult
    public func scanBucket(_ bucket: any Bucket, now: Double = Date().timeIntervalSince1970) async throws -> Int {
        let known = Dictionary(try blocks().map { ($0.ulid, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        for dir in try await bucket.list("", recursive: false) where dir.hasSuffix("/") {
            let ulid = String(dir.dropLast())
            guard ULID.isValid(ulid) else { continue }
            let files = Set(try await bucket.list(dir, recursive: false).map { String($0.dropFirst(dir.count)) })
            guard files.contains(BlockMeta.fileName) else { continue }
            let metaJSON: String
            if let cached = known[ulid]?.bucketMetaJSON {
                metaJSON = cached
            } else {
                metaJSON = String(decoding: try await bucket.get(dir + BlockMeta.fileName), as: UTF8.self)
            }
            let meta = try BlockMeta.parse(Data(metaJSON.utf8), path: dir + BlockMeta.fileName)
            var marks: [BlockMarker.Kind: Double] = [:]
            for kind in [BlockMarker.Kind.deletion, .noCompact] where files.contains(kind.rawValue) {
                // A marker that does not read is treated as absent, as Thanos' filters do.
                if let m = try? BlockMarker.parse(try await bucket.get(dir + kind.rawValue), kind: kind) { marks[kind] = Double(m.time) }
            }
            let uploadedAt = ThanosMeta.from(meta)?.uploadTime.flatMap(Self.parseRFC3339)
            try recordInBucket(meta, metaJSON: metaJSON, uploadedAt: uploadedAt, deletionMarkedAt: marks[.deletion],
                               noCompactMarkedAt: marks[.noCompact])
            seen.insert(ulid)
        }
        for block in known.values where block.inBucket && !seen.contains(block.ulid) { try droppedFromBucket(block.ulid) }
        try setState("bucket_scanned_at", String(now))
        return seen.count
    }

    static func parseRFC3339(_ s: String) -> Double? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)?.timeIntervalSince1970
    }
}
