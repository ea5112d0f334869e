import Benchmark
import StrataBlock
import StrataModel
import StrataRemote
import StrataRuntime
import StrataStorage
import StrataTestSupport
import StrataTSDB

// Figures for the hot ingest path. Times and malloc counts are per iteration: one 120-sample
// chunk for the XOR benchmarks, one 2000-sample request for remote-write, 1000 appends for the
// head; divide by the sample count in the name for per-sample cost. `head-bytes-per-series`
// reports the head's memory per series as one number.

/// node-exporter-like series: 10 labels, realistic values, 15s timestamps.
func makeRequest(series: Int, samplesPerSeries: Int, start: Int64) -> WriteRequestBuilder {
    var b = WriteRequestBuilder()
    for s in 0 ..< series {
        let labels: [(String, String)] = [
            ("__name__", "node_cpu_seconds_total"), ("cpu", String(s % 64)), ("env", "prod"),
            ("instance", "host-\(s / 64).example.internal:9100"), ("job", "node"), ("mode", "user"),
            ("region", "eu-west-1"), ("series", String(s)), ("team", "infra"), ("zone", "b"),
        ]
        var v = Double(s)
        let samples = (0 ..< samplesPerSeries).map { i -> Sample in
            v += Double((i * 7 + s) % 13) / 4
            return Sample(t: start + Int64(i) * 15000, v: v)
        }
        b.series.append(.init(labels: labels, samples: samples))
    }
    return b
}

func samplesOf(_ n: Int) -> [Sample] {
    var v = 100.0
    return (0 ..< n).map { i in
        v += Double(i % 17) / 8
        return Sample(t: 1_700_000_000_000 + Int64(i) * 15000 + Int64(i % 3), v: v)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        maxDuration: .seconds(3), maxIterations: 1_000_000
    )

    // XOR encode: 120 samples (one full chunk) per iteration.
    let chunkSamples = samplesOf(120)
    Benchmark("xor-encode-120", configuration: .init(scalingFactor: .one)) { b in
        for _ in b.scaledIterations {
            var bytes = XORChunk.newBytes(capacity: 256)
            var app = XORAppender()
            for s in chunkSamples { app.append(t: s.t, v: s.v, to: &bytes) }
            blackHole(bytes)
        }
    }

    var encoded = XORChunk.newBytes()
    var app = XORAppender()
    for s in chunkSamples { app.append(t: s.t, v: s.v, to: &encoded) }
    let chunk = encoded
    Benchmark("xor-decode-120") { b in
        var out: [Sample] = []
        out.reserveCapacity(120)
        for _ in b.scaledIterations {
            out.removeAll(keepingCapacity: true)
            try XORDecoder.samples(chunk, into: &out)
            blackHole(out)
        }
    }

    // Remote-write decode + head append of a 2000-sample request (100 series × 20 samples) into
    // existing series: the steady state of an ingest path. Allocations per request must not
    // grow with the number of samples.
    for (series, perSeries) in [(100, 20), (1000, 2)] {
        Benchmark("remote-write-append-\(series)x\(perSeries)") { b in
            let head = Head()
            let decoder = WriteRequestDecoder()
            var round: Int64 = 0
            // Bodies for increasing timestamps, prepared outside the measured loop.
            let bodies = (0 ..< 64).map { r in
                makeRequest(series: series, samplesPerSeries: perSeries, start: 1_700_000_000_000 + Int64(r) * Int64(perSeries) * 15000).snappyBody()
            }
            // Create the series first: measure the steady state, not series creation.
            _ = try bodies[0].withUnsafeBytes { try decoder.decode(snappyBody: $0, maxDecodedBytes: 1 << 26, into: head.appender()) }
            b.startMeasurement()
            for _ in b.scaledIterations {
                round += 1
                let body = bodies[Int(round % 63) + 1]
                let s = try body.withUnsafeBytes { try decoder.decode(snappyBody: $0, maxDecodedBytes: 1 << 26, into: head.appender()) }
                blackHole(s)
                if round % 63 == 0 { b.stopMeasurement(); b.startMeasurement() }
            }
        }
    }

    // Head append only (no decode), existing series, per sample.
    Benchmark("head-append-1000x1") { b in
        let head = Head()
        let labelSets = (0 ..< 1000).map { Labels([("__name__", "m"), ("i", String($0)), ("job", "bench")]) }
        var t: Int64 = 1_700_000_000_000
        for l in labelSets { _ = appendOne(head, l, t, 1) }
        b.startMeasurement()
        for _ in b.scaledIterations {
            t += 15000
            let appender = head.appender()
            for l in labelSets { _ = appendVia(appender, l, t, 2) }
            try appender.commit()
        }
    }

    // Series creation: 1000 new node-exporter-like series (10 labels) into an empty head per
    // iteration, one sample each; covers the series map and the postings index.
    Benchmark("head-new-series-1000") { b in
        let labelSets = makeRequest(series: 1000, samplesPerSeries: 1, start: 0).series.map { Labels($0.labels) }
        b.startMeasurement()
        for _ in b.scaledIterations {
            let head = Head()
            let appender = head.appender()
            for l in labelSets { _ = appendVia(appender, l, 1_700_000_000_000, 1) }
            try appender.commit()
            blackHole(head)
        }
    }

    // Memory per head series: 100k node-exporter-like series (10 labels, ~150 bytes of them, one
    // unique) with 60 samples each, one open chunk apiece; glibc's bytes in use (every arena,
    // mmapped chunks included) after filling an empty head minus before, per series: the
    // record and its labels, the series maps, the postings and the chunk with its room to grow.
    let bytesPerSeries = BenchmarkMetric.custom("bytes per series", polarity: .prefersSmaller, useScalingFactor: false)
    Benchmark("head-bytes-per-series-100000x60",
              configuration: .init(metrics: [bytesPerSeries, .wallClock], maxDuration: .seconds(20), maxIterations: 3)) { b in
        let labelSets = makeRequest(series: 100_000, samplesPerSeries: 1, start: 0).series.map { Labels($0.labels) }
        for _ in b.scaledIterations {
            let head = Head()
            let before = FreedMemory.allocatedBytes()
            var v = 0.0
            for i in 0 ..< 60 {
                let appender = head.appender()
                for l in labelSets {
                    v += 1.25
                    _ = appendVia(appender, l, 1_700_000_000_000 + Int64(i) * 15_000, v)
                }
                try appender.commit()
            }
            b.measurement(bytesPerSeries, (FreedMemory.allocatedBytes() - before) / labelSets.count)
            blackHole(head)
        }
    }
}

@inline(__always)
func appendOne(_ head: Head, _ l: Labels, _ t: Int64, _ v: Double) -> AppendResult {
    appendVia(head.appender(), l, t, v)
}

@inline(__always)
func appendVia(_ a: any Appender, _ l: Labels, _ t: Int64, _ v: Double) -> AppendResult {
    var s = Sample(t: t, v: v)
    return l.bytes.withUnsafeBytes { lb in withUnsafePointer(to: &s) { a.append(labels: lb, samples: UnsafeBufferPointer(start: $0, count: 1)) } }
}
