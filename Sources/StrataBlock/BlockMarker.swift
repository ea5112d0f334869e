import Foundation
import StrataModel
import StrataStorage

/// Thanos' block markers (`pkg/block/metadata/markers.go`): small JSON objects beside a block's
/// `meta.json` in the bucket that tell the compactor and store gateway to delete the block, or
/// to leave it out of compaction or downsampling. Written as Go's `json.Marshal` writes them:
/// compact, fields in struct order, `details` left out when empty, no trailing newline.
public struct BlockMarker: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case deletion = "deletion-mark.json"
        case noCompact = "no-compact-mark.json"
        case noDownsample = "no-downsample-mark.json"

        /// The JSON field with the mark's time in Unix seconds.
        var timeField: String {
            switch self {
            case .deletion: "deletion_time"
            case .noCompact: "no_compact_time"
            case .noDownsample: "no_downsample_time"
            }
        }
    }

    public var kind: Kind
    public var id: String
    public var details: String
    /// Unix seconds.
    public var time: Int64
    /// For no-compact and no-downsample marks (`manual`, `index-size-exceeding`, …).
    public var reason: String

    public init(kind: Kind, id: String, details: String = "", time: Int64, reason: String = "manual") {
        self.kind = kind; self.id = id; self.details = details; self.time = time; self.reason = reason
    }

    public var fileName: String { kind.rawValue }

    public func json() -> String {
        var fields = ["\"id\":" + JSONQuote.quote(id), "\"version\":1"]
        if !details.isEmpty { fields.append("\"details\":" + JSONQuote.quote(details)) }
        fields.append("\"\(kind.timeField)\":\(time)")
        if kind != .deletion { fields.append("\"reason\":" + JSONQuote.quote(reason)) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Reads a marker; like Thanos, a version other than 1 is an error.
    public static func parse(_ bytes: [UInt8], kind: Kind) throws -> BlockMarker {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw StorageError(.corrupt, "\(kind.rawValue): not a JSON object")
        }
        guard (obj["version"] as? NSNumber)?.intValue == 1 else {
            throw StorageError(.unsupported, "\(kind.rawValue): unexpected version \(obj["version"] ?? "none")")
        }
        return BlockMarker(kind: kind, id: obj["id"] as? String ?? "", details: obj["details"] as? String ?? "",
                           time: (obj[kind.timeField] as? NSNumber)?.int64Value ?? 0, reason: obj["reason"] as? String ?? "")
    }
}
