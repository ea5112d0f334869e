import StrataBlock
import StrataModel
import StrataStorage
import StrataTSDB

/// `strata tsdb list|analyze|dump`: the same reports as `promtool tsdb …`, laid out the same way,
/// so the two can be compared line by line.
public enum BlockInspection {
    /// promtool's `tsdb list`: one row per block, oldest first.
    public static func list(dir: String, humanReadable: Bool = false) throws -> String {
        let blocks = try DB(dir: dir, head: Head(), readOnly: true).blocks
        var rows = [["BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE"]]
        for b in blocks {
            let m = b.meta
            rows.append([
                m.ulid,
                humanReadable ? GoFormat.time(m.minTime) : String(m.minTime),
                humanReadable ? GoFormat.time(m.maxTime) : String(m.maxTime),
                GoFormat.duration(millis: m.maxTime - m.minTime),
                String(m.stats.numSamples), String(m.stats.numChunks), String(m.stats.numSeries),
                humanReadable ? GoFormat.base2Bytes(b.sizeBytes) : String(b.sizeBytes),
            ])
        }
        return GoFormat.table(rows, minWidth: 13, padding: 2)
    }

    /// promtool's `tsdb analyze`: label and churn statistics of one block (the newest by default).
    public static func analyze(dir: String, blockID: String? = nil, limit: Int = 20) throws -> String {
        let blocks = try DB(dir: dir, head: Head(), readOnly: true).blocks
        guard !blocks.isEmpty else { throw StorageError(.notFound, "no blocks found in \(dir)") }
        let block: Block
        if let blockID {
            guard let b = blocks.first(where: { $0.ulid == blockID }) else { throw StorageError(.notFound, "block \(blockID) not found in \(dir)") }
            block = b
        } else {
            block = blocks[blocks.count - 1]
        }
        let meta = block.meta
        let span = meta.maxTime - meta.minTime
        var out = "Block ID: \(meta.ulid)\nDuration: \(GoFormat.duration(millis: span))\nSeries: \(meta.stats.numSeries)\n"
        let names = block.index.labelNames().sortedBytewise()
        out += "Label names: \(names.count)\n"

        var labelsUncovered: [String: UInt64] = [:], pairsUncovered: [String: UInt64] = [:], pairsCount: [String: UInt64] = [:]
        var entries = 0
        try block.forEachSeries { labels, chunks in
            guard let first = chunks.first, let last = chunks.last else { return }
            // How much of the block's time range this series does not cover.
            let uncovered = UInt64(bitPattern: span &- (last.maxt - first.mint))
            labels.forEach { n, v in
                labelsUncovered[n, default: 0] &+= uncovered
                pairsUncovered[n + "=" + v, default: 0] &+= uncovered
                pairsCount[n + "=" + v, default: 0] += 1
                entries += 1
            }
        }
        out += "Postings (unique label pairs): \(pairsUncovered.count)\nPostings entries (total label pairs): \(entries)\n"
        func top(_ title: String, _ items: [(String, UInt64)]) {
            out += "\n\(title):\n"
            // Largest first; ties by key so the report is stable (promtool leaves them unordered).
            for (k, m) in items.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }).prefix(limit) { out += "\(m) \(k)\n" }
        }
        func perSpan(_ m: UInt64) -> UInt64 { span == 0 ? 0 : UInt64(Double(m) / Double(span)) }
        top("Label pairs most involved in churning", pairsUncovered.map { ($0.key, perSpan($0.value)) })
        top("Label names most involved in churning", labelsUncovered.map { ($0.key, perSpan($0.value)) })
        top("Most common label pairs", pairsCount.map { ($0.key, $0.value) })
        top("Label names with highest cumulative label value length",
            try names.map { ($0, UInt64(try block.index.labelValues($0).reduce(0) { $0 + $1.utf8.count })) })
        top("Highest cardinality labels", try names.map { ($0, UInt64(try block.index.labelValues($0).count)) })
        top("Highest cardinality metric names",
            try block.index.labelValues("__name__").map { ($0, UInt64(try block.index.postings("__name__", $0).count)) })
        return out
    }

    /// promtool's `tsdb dump`: every sample in blocks and WAL as `labels value timestamp`, series
    /// in label order. Reads the WAL without changing anything on disk.
    public static func dump(dir: String, mint: Int64 = .min, maxt: Int64 = .max, matchers: [LabelMatcher] = [],
                            write: (String) -> Void) throws {
        let head = Head()
        let db = try DB(dir: dir, head: head, readOnly: true)
        if FileSystem.exists(dir + "/wal") {
            _ = try head.replayWAL(dir: dir + "/wal", repair: false)
            db.truncateHeadToBlocks()
        }
        let q = try db.querier(mint: mint, maxt: maxt)
        let ms = matchers.isEmpty ? [try LabelMatcher(.regexMatch, "__name__", ".*")] : matchers
        var samples: [Sample] = []
        var buf = ""
        for s in try q.select(ms, hints: SelectHints(mint: mint, maxt: maxt)) {
            samples.removeAll(keepingCapacity: true)
            try s.samples(mint: mint, maxt: maxt, into: &samples)
            let prefix = s.labels.description + " "
            for smp in samples {
                buf += prefix + GoFloat.formatG(smp.v) + " " + String(smp.t) + "\n"
                if buf.utf8.count > 1 << 16 { write(buf); buf = "" }
            }
        }
        if !buf.isEmpty { write(buf) }
    }
}

/// Go's formatting of durations, times, byte sizes and tabwriter tables, for promtool-like output.
enum GoFormat {
    /// `time.Duration(ms * 1e6).String()`: `1ms`, `15.001s`, `2h0m0s`.
    static func duration(millis: Int64) -> String {
        if millis == 0 { return "0s" }
        let neg = millis < 0
        var ms = neg ? UInt64(bitPattern: 0 &- millis) : UInt64(millis)
        var s = ""
        if ms < 1000 {
            s = "\(ms)ms"
        } else {
            let frac = ms % 1000
            ms /= 1000
            var secs = "\(ms % 60)"
            if frac != 0 {
                var f = String(frac)
                f = String(repeating: "0", count: 3 - f.count) + f
                while f.hasSuffix("0") { f.removeLast() }
                secs += "." + f
            }
            s = secs + "s"
            ms /= 60
            if ms > 0 {
                s = "\(ms % 60)m" + s
                ms /= 60
                if ms > 0 { s = "\(ms)h" + s }
            }
        }
        return neg ? "-" + s : s
    }

    /// promtool's `time.Unix(ms/1000, 0).UTC().String()`: `2023-11-14 22:13:20 +0000 UTC`.
    static func time(_ ms: Int64) -> String {
        let secs = ms / 1000 // Go's division: truncated toward zero
        let days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
        let rem = secs - days * 86400
        let (y, m, d) = CivilDate.date(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60)) +0000 UTC"
    }

    /// `units.Base2Bytes(n).String()` (alecthomas/units): `583B`, `1KiB512B`, `2MiB`.
    static func base2Bytes(_ n: Int) -> String {
        let magnitudes = ["", "K", "M", "G", "T", "P", "E"]
        var n = n
        var parts: [String] = []
        for (i, m) in magnitudes.enumerated() {
            if n % 1024 != 0 || (i == 0 && n == 0) { parts.append("\(n % 1024)\(m)\(i == 0 ? "B" : "iB")") }
            n /= 1024
            if n == 0 { break }
        }
        return parts.reversed().joined()
    }

    /// Go's `tabwriter` with padding char ' ' and no flags: every column but the last padded to
    /// its widest cell plus `padding`, at least `minWidth`.
    static func table(_ rows: [[String]], minWidth: Int, padding: Int) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for r in rows { for (i, c) in r.enumerated() where i < r.count - 1 { widths[i] = max(widths[i], c.count + padding, minWidth) } }
        var out = ""
        for r in rows {
            for (i, c) in r.enumerated() {
                out += c
                if i < r.count - 1 { out += String(repeating: " ", count: widths[i] - c.count) }
            }
            out += "\n"
        }
        return out
    }
}
