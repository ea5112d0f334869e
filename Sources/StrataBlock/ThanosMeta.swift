import Foundation
import StrataModel

/// The `thanos` section of a block's `meta.json` in a bucket (Thanos' `metadata.Thanos`), laid
/// out as Go's `json.Encoder` with `SetIndent("", "\t")` writes it: struct field order, map keys
/// sorted, `omitempty` fields left out, `index_stats` always present.
public struct ThanosMeta: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var relPath: String
        /// Nil for `meta.json`, which has no size in the list.
        public var sizeBytes: Int?
        public init(relPath: String, sizeBytes: Int?) { self.relPath = relPath; self.sizeBytes = sizeBytes }
    }

    /// External labels: the block's stream. Thanos refuses to upload a block without them.
    public var labels: [String: String]
    /// 0 for raw data, 300000 or 3600000 for downsampled blocks.
    public var resolution: Int64 = 0
    public var source: String
    public var segmentFiles: [String] = []
    public var files: [File] = []
    /// RFC 3339 UTC, set just before `meta.json` is uploaded.
    public var uploadTime: String?

    public init(labels: [String: String], source: String) { self.labels = labels; self.source = source }

    /// The section as the value of `"thanos"` in a top-level object (one tab of indent).
    public func json() -> String {
        func q(_ s: String) -> String { JSONQuote.quote(s) }
        var fields: [String] = []
        let labelLines = labels.keys.sorted().map { "\t\t\t\(q($0)): \(q(labels[$0]!))" }
        fields.append("\"labels\": " + (labelLines.isEmpty ? "{}" : "{\n" + labelLines.joined(separator: ",\n") + "\n\t\t}"))
        fields.append("\"downsample\": {\n\t\t\t\"resolution\": \(resolution)\n\t\t}")
        fields.append("\"source\": \(q(source))")
        if !segmentFiles.isEmpty {
            fields.append("\"segment_files\": [\n" + segmentFiles.map { "\t\t\t\(q($0))" }.joined(separator: ",\n") + "\n\t\t]")
        }
        if !files.isEmpty {
            let items = files.map { f -> String in
                var inner = ["\t\t\t\t\"rel_path\": \(q(f.relPath))"]
                if let size = f.sizeBytes { inner.append("\t\t\t\t\"size_bytes\": \(size)") }
                return "\t\t\t{\n" + inner.joined(separator: ",\n") + "\n\t\t\t}"
            }
            fields.append("\"files\": [\n" + items.joined(separator: ",\n") + "\n\t\t]")
        }
        fields.append("\"index_stats\": {}")
        fields.append("\"upload_time\": \(q(uploadTime ?? "0001-01-01T00:00:00Z"))")
        return "{\n" + fields.map { "\t\t" + $0 }.joined(separator: ",\n") + "\n\t}"
    }

    /// Reads the section from a block's meta (nil when it has none).
    public static func from(_ meta: BlockMeta) -> ThanosMeta? {
        guard let raw = meta.extraFields.first(where: { $0.key == "thanos" }),
              let obj = try? JSONSerialization.jsonObject(with: Data(raw.json.utf8)) as? [String: Any] else { return nil }
        var t = ThanosMeta(labels: obj["labels"] as? [String: String] ?? [:], source: obj["source"] as? String ?? "")
        t.resolution = ((obj["downsample"] as? [String: Any])?["resolution"] as? NSNumber)?.int64Value ?? 0
        t.segmentFiles = obj["segment_files"] as? [String] ?? []
        t.files = (obj["files"] as? [[String: Any]] ?? []).map { File(relPath: $0["rel_path"] as? String ?? "", sizeBytes: ($0["size_bytes"] as? NSNumber)?.intValue) }
        t.uploadTime = obj["upload_time"] as? String
        return t
    }
}
