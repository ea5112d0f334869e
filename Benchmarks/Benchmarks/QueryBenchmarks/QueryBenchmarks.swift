import Glibc
import Benchmark
import StrataBlock
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import StrataTSDB

// PromQL over 10k series, in the head and (the "-blocks" variants) in one block on disk read
// through mmap: 8,000 counters (10 jobs × 100 instances × 8 codes) and
// 2,000 classic-histogram buckets (10 jobs × 20 instances × 10 le), one hour at 15 s (240 samples
// each, 2.4M samples). Each benchmark runs one instant query at the end of that hour; the
// "-range" variants run the same expression over the hour at a 1m step (61 points).

let start: Int64 = 1_700_000_000_000
let end = start + 3600 * 1000

func loadHead() -> Head {
    let head = Head()
    var series: [(Labels, Double)] = []
    let codes = ["200", "201", "204", "301", "400", "404", "500", "503"]
    for job in 0 ..< 10 {
        for instance in 0 ..< 100 {
            for code in codes {
                series.append((Labels([("__name__", "http_requests_total"), ("job", "job\(job)"),
                                       ("instance", "host\(instance):9100"), ("code", code)]), Double(instance % 7 + 1)))
            }
        }
        for instance in 0 ..< 20 {
            for (i, le) in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"].enumerated() {
                series.append((Labels([("__name__", "request_duration_seconds_bucket"), ("job", "job\(job)"),
                                       ("instance", "host\(instance):9100"), ("le", le)]), Double(i + 1)))
            }
        }
    }
    var t = start
    var step: Double = 0
    while t <= end {
        let app = head.appender()
        for (labels, rate) in series {
            var s = Sample(t: t, v: rate * step * 15)
            labels.bytes.withUnsafeBytes { lb in
                withUnsafePointer(to: &s) { p in _ = app.append(labels: lb, samples: UnsafeBufferPointer(start: p, count: 1)) }
            }
        }
        try! app.commit()
        t += 15_000
        step += 1
    }
    return head
}

/// The same data written as a block in a temporary directory, opened as a DB with an empty head.
func loadBlocks(from head: Head) -> DB {
    let dir = "/tmp/strata-query-bench-\(getpid())"
    try? FileSystem.removeAll(dir)
    try! FileSystem.mkdirAll(dir)
    try! BlockWriter.write(parentDir: dir, mint: start, maxt: end + 1, series: try! head.blockSeries(mint: start, maxt: end + 1))
    return try! DB(dir: dir, head: Head())
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .milliseconds,
        maxDuration: .seconds(5), maxIterations: 1000
    )
    let head = loadHead()
    let blocks = loadBlocks(from: head)
    let engine = Engine()
    let queries: [(String, String)] = [
        ("rate-5m", "rate(http_requests_total[5m])"),
        ("sum-by-rate", "sum by (job) (rate(http_requests_total[5m]))"),
        ("histogram-quantile", "histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))"),
        ("binary-join", "http_requests_total / on (job, instance, code) http_requests_total"),
        ("subquery", "max_over_time(rate(http_requests_total[5m])[30m:1m])"),
    ]
    for (name, q) in queries {
        let expr = try! PromQLParser.parse(q)
        Benchmark("promql-\(name)") { b in
            for _ in b.scaledIterations { blackHole(try engine.instantQuery(head, expr, at: end)) }
        }
        Benchmark("promql-\(name)-range") { b in
            for _ in b.scaledIterations {
                blackHole(try engine.rangeQuery(head, expr, start: end - 3600 * 1000, end: end, step: 60_000))
            }
        }
        Benchmark("promql-\(name)-blocks") { b in
            for _ in b.scaledIterations { blackHole(try engine.instantQuery(blocks, expr, at: end)) }
        }
        Benchmark("promql-\(name)-range-blocks") { b in
            for _ in b.scaledIterations {
                blackHole(try engine.rangeQuery(blocks, expr, start: end - 3600 * 1000, end: end, step: 60_000))
            }
        }
    }
}
