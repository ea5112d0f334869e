import Foundation
import StrataModel
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// `promtool tsdb dump` (Prometheus 2.42) on a data directory whose data is only in Strata's WAL
/// prints exactly the samples written.
@Suite struct PromtoolWALCompatTests {
    @Test func promtoolDumpsTheSamplesInStrataWAL() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("promtool-wal"); defer { dir.remove() }
        var opts = WALOptions()
        opts.segmentSize = 4 * WAL.pageSize // several segments, records crossing pages
        let wal = try WAL(dir: dir.file("wal"), options: opts)
        let head = Head(wal: wal)
        var expected: [String] = []
        let base: Int64 = 1_700_000_000_000
        var rng = SplitMix(seed: 3)
        for i in 0 ..< 120 {
            let labels = Labels([("__name__", i % 3 == 0 ? "metric_a" : "metric_b"), ("instance", "host-\(i)"), ("job", "wal\"test")])
            var samples: [(Int64, Double)] = []
            for k in 0 ..< 40 {
                let v: Double = k == 39 && i % 10 == 0 ? .infinity : Double(Int64(rng.next() % 1_000_000)) / 100
                samples.append((base + Int64(k) * 15000 + Int64(i), v))
            }
            _ = append(head, labels, samples)
            for (t, v) in samples { expected.append("\(labels) \(Self.goFloat(v)) \(t)") }
        }
        try wal.close()
        let r = try Tools.run(promtool, ["tsdb", "dump", dir.path])
        #expect(r.status == 0, "promtool failed: \(r.stderr)")
        let got = r.stdout.split(separator: "\n").map(String.init)
        #expect(got.count == expected.count)
        #expect(got.sorted() == expected.sorted())
    }

    /// promtool prints values with Go's %g-like `strconv.FormatFloat(v, 'g', -1, 64)`.
    static func goFloat(_ v: Double) -> String {
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 1e21 { return String(Int64(v)) }
        return "\(v)"
    }
}
