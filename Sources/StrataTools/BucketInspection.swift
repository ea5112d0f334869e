import Foundation
import StrataBlock
import StrataBlockStore
import StrataObjectStore

/// `strata bucket ls`, as `thanos tools bucket ls`: the blocks in a bucket (a top-level ULID
/// directory with a `meta.json`; partial uploads without one are not blocks), oldest first.
public enum BucketInspection {
    public struct Entry: Sendable {
        public var meta: BlockMeta
        public var thanos: ThanosMeta?
    }

    public static func blocks(_ bucket: any Bucket) async throws -> [Entry] {
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

    public enum Output: String, Sendable, CaseIterable { case plain = "", wide, json }

    /// The listing: ULIDs one per line (`plain`); a table (`wide`); one `meta.json` per line (`json`).
    public static func list(_ bucket: any Bucket, output: Output) async throws -> String {
        let entries = try await blocks(bucket)
        switch output {
        case .plain:
            return entries.map { $0.meta.ulid + "\n" }.joined()
        case .json:
            return entries.map { e in
                // Compact, one object per line, as Thanos' `-o json`.
                let obj = try? JSONSerialization.jsonObject(with: Data(e.meta.json().utf8))
                let data = obj.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } ?? Data()
                return String(decoding: data, as: UTF8.self) + "\n"
            }.joined()
        case .wide:
            var rows = [["ULID", "FROM", "UNTIL", "RANGE", "SERIES", "SAMPLES", "LEVEL", "RESOLUTION", "SOURCE", "LABELS"]]
            for e in entries {
                let m = e.meta
                let labels = (e.thanos?.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
                rows.append([m.ulid, GoFormat.time(m.minTime), GoFormat.time(m.maxTime), GoFormat.duration(millis: m.maxTime - m.minTime),
                             String(m.stats.numSeries), String(m.stats.numSamples), String(m.compaction.level),
                             String(e.thanos?.resolution ?? 0), e.thanos?.source ?? "", labels])
            }
            return GoFormat.table(rows, minWidth: 0, padding: 2)
        }
    }
}
