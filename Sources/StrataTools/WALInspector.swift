import StrataBlock
import StrataEncoding
import StrataTSDB

/// What `strata tsdb wal-inspect` reports: per segment, records by type, series and samples, and
/// the time range, without building a head.
public struct WALInspection: Sendable {
    public struct Segment: Sendable {
        public var index = 0
        public var bytes = 0
        public var recordsByType: [UInt8: Int] = [:]
        public var series = 0
        public var samples = 0
        public var minT = Int64.max
        public var maxT = Int64.min
        public var corruption: WALCorruption?
    }

    public var segments: [Segment] = []

    /// Inspects `dir/wal` when `dir` is a data directory, else `dir` itself.
    public static func inspect(dataOrWALDir dir: String) throws -> WALInspection {
        try inspect(walDir: FileSystem.exists(dir + "/wal") ? dir + "/wal" : dir)
    }

    public static func inspect(walDir: String) throws -> WALInspection {
        var result = WALInspection()
        var series: [WALSeries] = []
        var samples: [WALSample] = []
        for seg in try WALSegments.list(walDir) {
            var s = Segment()
            s.index = seg.index
            do {
                let stats = try WALReader(segments: [seg]).forEachRecord { rec in
                    guard !rec.isEmpty else { return }
                    s.recordsByType[rec[0], default: 0] += 1
                    switch WALRecordDecoder.type(rec) {
                    case .series:
                        series.removeAll(keepingCapacity: true)
                        try WALRecordDecoder.series(rec, into: &series)
                        s.series += series.count
                    case .samples:
                        samples.removeAll(keepingCapacity: true)
                        try WALRecordDecoder.samples(rec, into: &samples)
                        s.samples += samples.count
                        for x in samples {
                            if x.t < s.minT { s.minT = x.t }
                            if x.t > s.maxT { s.maxT = x.t }
                        }
                    default: break
                    }
                }
                s.bytes = stats.bytes
            } catch let c as WALCorruption {
                s.corruption = c
                s.bytes = (try? FileSystem.size(seg.path)) ?? 0
            }
            result.segments.append(s)
        }
        return result
    }

    /// A plain-text report, one line per segment and a total.
    public func report() -> String {
        let names: [UInt8: String] = [1: "series", 2: "samples", 3: "tombstones", 4: "exemplars", 5: "mmap_markers", 6: "metadata"]
        var out = "SEGMENT   BYTES       RECORDS                              SERIES    SAMPLES     MIN_TIME       MAX_TIME\n"
        var total = Segment()
        func line(_ label: String, _ s: Segment) -> String {
            let recs = s.recordsByType.keys.sorted().map { "\(names[$0] ?? "type\($0)")=\(s.recordsByType[$0]!)" }.joined(separator: ",")
            let minT = s.minT == .max ? "-" : String(s.minT)
            let maxT = s.maxT == .min ? "-" : String(s.maxT)
            return pad(label, 10) + pad(String(s.bytes), 12) + pad(recs.isEmpty ? "-" : recs, 37) + pad(String(s.series), 10)
                + pad(String(s.samples), 12) + pad(minT, 15) + maxT
        }
        for s in segments {
            out += line(String(s.index), s) + "\n"
            if let c = s.corruption { out += "          corrupt: \(c.description)\n" }
            total.bytes += s.bytes; total.series += s.series; total.samples += s.samples
            total.minT = min(total.minT, s.minT); total.maxT = max(total.maxT, s.maxT)
            for (k, v) in s.recordsByType { total.recordsByType[k, default: 0] += v }
        }
        out += line("total", total) + "\n"
        return out
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
