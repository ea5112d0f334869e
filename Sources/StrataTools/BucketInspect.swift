import Foundation
import StrataBlock
import StrataBlockStore
import StrataObjectStore

/// `strata bucket inspect`: per-block stats in `thanos tools bucket inspect`'s columns.
extension BucketInspection {
    public enum InspectOutput: String, Sendable, CaseIterable { case table, csv, tsv }

    static let inspectColumns = ["ULID", "FROM", "UNTIL", "RANGE", "UNTIL-DOWN", "#SERIES", "#SAMPLES", "#CHUNKS",
                                 "COMP-LEVEL", "COMP-FAILED", "LABELS", "RESOLUTION", "SOURCE"]

    /// Per-block stats of the bucket's blocks (those whose external labels include every
    /// `selector` pair), oldest first, in Thanos' inspect columns. Times are UTC.
    public static func inspect(_ bucket: any Bucket, selector: [String: String] = [:], output: InspectOutput) async throws -> String {
        var rows: [[String]] = []
        for e in try await BucketBlocks.list(bucket) {
            let labels = e.thanos?.labels ?? [:]
            guard selector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
            let m = e.meta
            let resolution = e.thanos?.resolution ?? 0
            rows.append([
                m.ulid, inspectTime(m.minTime), inspectTime(m.maxTime), GoFormat.duration(millis: m.maxTime - m.minTime),
                untilNextDownsampling(range: m.maxTime - m.minTime, resolution: resolution),
                grouped(m.stats.numSeries), grouped(m.stats.numSamples), grouped(m.stats.numChunks),
                String(m.compaction.level), m.compaction.failed == true ? "true" : "false",
                labels.keys.sorted().map { "\($0)=\(labels[$0] ?? "")" }.joined(separator: ","),
                GoFormat.duration(millis: resolution), e.thanos?.source ?? "",
            ])
        }
        switch output {
        case .csv, .tsv:
            let sep = output == .csv ? "," : "\t"
            func cell(_ s: String) -> String {
                output == .csv && (s.contains(",") || s.contains("\"")) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            return ([inspectColumns] + rows).map { $0.map(cell).joined(separator: sep) + "\n" }.joined()
        case .table:
            var widths = inspectColumns.map(\.count)
            for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
            func line(_ cells: [String]) -> String {
                "| " + cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |\n"
            }
            return line(inspectColumns) + "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|\n"
                + rows.map(line).joined()
        }
    }

    /// Time left before Thanos' compactor downsamples a block of this range: raw blocks at 40h,
    /// 5m blocks at 10 days, 1h blocks never (`-`). Negative when overdue, as Thanos prints it.
    static func untilNextDownsampling(range: Int64, resolution: Int64) -> String {
        switch resolution {
        case 0: GoFormat.duration(millis: 40 * 3_600_000 - range)
        case 300_000: GoFormat.duration(millis: 240 * 3_600_000 - range)
        default: "-"
        }
    }

    /// Thanos' `02-01-2006 15:04:05` layout (day first), in UTC.
    static func inspectTime(_ ms: Int64) -> String {
        let t = GoFormat.time(ms) // 2023-11-14 22:13:20 +0000 UTC
        let date = t.prefix(10).split(separator: "-")
        guard date.count == 3 else { return t }
        return "\(date[2])-\(date[1])-\(date[0]) " + t.dropFirst(11).prefix(8)
    }

    /// `1,234,567`, as Go's English message printer writes integers.
    static func grouped(_ n: UInt64) -> String {
        var s = String(n)
        var i = s.count - 3
        while i > 0 { s.insert(",", at: s.index(s.startIndex, offsetBy: i)); i -= 3 }
        return s
    }

}
