import Foundation
import StrataEncoding
import StrataModel
import StrataRemote
import StrataStorage
import StrataTestSupport
@testable import StrataTools
import Testing

/// The load generator's workload and encoder, checked by decoding what it writes with Strata's own
/// remote-write decoder (the server's parser, not a second encoder's idea of the format).
@Suite struct LoadgenWorkloadTests {
    /// Encodes every batch of every shard and decodes it as a receiver would.
    private func sendAll(_ w: Workload, shards: Int, rounds: Int64, batch: Int, startMs: Int64 = 1_700_000_000_000)
        throws -> (MemoryStorage, [ShardSeries], requests: Int) {
        let storage = MemoryStorage()
        let decoder = WriteRequestDecoder()
        let writer = ProtoWriter(capacity: 64)   // small, so growing is exercised
        var requests = 0
        var out: [ShardSeries] = []
        for shard in w.makeShards(shards) where shard.count > 0 {
            let churnMs = w.churnIntervalMs
            while true {
                writer.reset()
                let p0 = shard.position
                let n = shard.encode(into: writer, limit: batch, roundLimit: rounds,
                                     timestamp: { startMs + $0 * w.intervalMs },
                                     epochOf: { churnMs > 0 ? ($0 - startMs) / churnMs : 0 })
                if n == 0 { break }
                let app = storage.appender()
                let summary = try decoder.decode(protobuf: Array(writer.bytes), into: app)
                try app.commit()
                #expect(summary.samplesAccepted == n)
                #expect(summary.series == n, "one sample per TimeSeries entry, as Prometheus sends")
                shard.acknowledge(from: p0, count: n)
                requests += 1
            }
            out.append(shard)
        }
        return (storage, out, requests)
    }

    @Test func nodeProfileSeriesDecodeWithTheirLabelsValuesAndOrder() throws {
        let w = Workload(profile: .node, series: 1000, intervalMs: 15_000)
        #expect(w.seriesPerTarget == 110, "rwload.py's node_exporter target")
        #expect(w.targets == 10)
        let (storage, shards, requests) = try sendAll(w, shards: 3, rounds: 7, batch: 500)
        #expect(requests >= 14)
        let series = storage.allSeries
        #expect(series.count == 1000)
        var seen = Set<Labels>()
        for (labels, samples) in series {
            seen.insert(labels)
            #expect(samples.map(\.t) == (0 ..< 7).map { 1_700_000_000_000 + Int64($0) * 15_000 })
            if labels.metricName?.hasSuffix("_total") == true {
                #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.v <= $1.v }, "\(labels) is a counter")
            }
            #expect(labels.get("job") == "node")
            // Values in the exporter's units, as rwload.py makes them: CPU in 1/100 s, memory in pages.
            let name = labels.metricName!
            if name == "node_cpu_seconds_total" {
                #expect(samples.allSatisfy { $0.v == ($0.v * 100).rounded() / 100 }, "\(labels)")
            } else if name.hasPrefix("node_memory_") {
                #expect(samples.allSatisfy { $0.v.truncatingRemainder(dividingBy: 4096) == 0 }, "\(labels)")
            } else if name.hasSuffix("_bytes_total") || name.hasSuffix("_packets_total") {
                #expect(samples.allSatisfy { $0.v == $0.v.rounded() }, "\(labels)")
            }
        }
        let expected = Set((0 ..< 1000).map { Labels(w.labels(series: $0, generation: 0)) })
        #expect(seen == expected)
        // The series rwload.py makes first: host 0's cpu 0 idle.
        #expect(Labels(w.labels(series: 0, generation: 0)).description
                == #"{__name__="node_cpu_seconds_total", cpu="0", instance="10.0.0.0:9100", job="node", mode="idle"}"#)
        #expect(shards.flatMap(\.acceptedBySeries).allSatisfy { $0.accepted == 7 })
    }

    @Test func histogramSeriesStayConsistentAcrossShards() throws {
        let profile = try WorkloadProfile.parse(yaml: """
            job: api
            target_format: "api-{}:8080"
            metrics:
              - name: http_request_duration_seconds
                type: histogram
                rate: 40
                buckets: [0.1, 0.5, 1, 5]
                labels:
                  handler: [/a, /b]
            """)
        let w = Workload(profile: profile, series: 7 * 2 * 5, intervalMs: 15_000)
        #expect(w.seriesPerTarget == 14)
        let (storage, _, _) = try sendAll(w, shards: 4, rounds: 6, batch: 9)
        var byGroup: [String: [String: [Double]]] = [:]
        for (labels, samples) in storage.allSeries {
            let key = "\(labels.get("instance")!) \(labels.get("handler")!)"
            let name = labels.metricName! + (labels.get("le").map { "{\($0)}" } ?? "")
            byGroup[key, default: [:]][name] = samples.map(\.v)
        }
        #expect(byGroup.count == 10)
        for (key, h) in byGroup {
            let count = try #require(h["http_request_duration_seconds_count"])
            #expect(h["http_request_duration_seconds_bucket{+Inf}"] == count, "\(key)")
            #expect(count.last! > 0)
            for round in 0 ..< 6 {
                let buckets = ["0.1", "0.5", "1", "5", "+Inf"].map { h["http_request_duration_seconds_bucket{\($0)}"]![round] }
                #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0 <= $1 }, "\(key) round \(round): \(buckets)")
            }
        }
    }

    /// `--native-histograms`: each profile histogram is one series whose samples are native
    /// histograms (read back here by a decoder of `prompb.Histogram` written from the .proto): the
    /// buckets cover the profile's bounds, add up to the count, never go down, and the sum grows by
    /// the mean observation per observation; the other metrics stay float series.
    @Test func nativeHistogramsAreOneSeriesWithConsistentBuckets() throws {
        let profile = try WorkloadProfile.parse(yaml: """
            metrics:
              - name: rpc_seconds
                type: histogram
                rate: 40
                buckets: [0.01, 0.1, 1, 10]
                labels: {method: [get, put]}
              - name: rpc_total
                type: counter
            """)
        let w = Workload(profile: profile, series: 30, intervalMs: 15_000, nativeHistograms: true)
        #expect(w.seriesPerTarget == 3, "two histograms and a counter")
        let startMs: Int64 = 1_700_000_000_000
        var histograms: [String: [DecodedHistogram]] = [:]
        let floats = MemoryStorage()
        for shard in w.makeShards(2) where shard.count > 0 {
            let writer = ProtoWriter(capacity: 64)
            while true {
                writer.reset()
                let n = shard.encode(into: writer, limit: 7, roundLimit: 8, timestamp: { startMs + $0 * 15_000 }, epochOf: { _ in 0 })
                if n == 0 { break }
                let bytes = Array(writer.bytes)
                let app = floats.appender()
                let summary = try WriteRequestDecoder().decode(protobuf: bytes, into: app)
                try app.commit()
                let decoded = try DecodedHistogram.all(in: bytes)
                #expect(summary.samplesAccepted + summary.histogramsRejected == n)
                #expect(decoded.count == summary.histogramsRejected)
                for (labels, h) in decoded { histograms[labels, default: []].append(h) }
            }
        }
        #expect(floats.allSeries.count == 10 && floats.allSeries.allSatisfy { $0.labels.metricName == "rpc_total" })
        #expect(histograms.count == 20)
        let layout = NativeHistogramLayout(schema: 3, bounds: [0.01, 0.1, 1, 10])
        #expect(NativeHistogramLayout.upperBound(layout.firstIndex - 1, schema: 3) < 0.01)
        #expect(NativeHistogramLayout.upperBound(layout.firstIndex, schema: 3) >= 0.01)
        #expect(NativeHistogramLayout.upperBound(layout.firstIndex + Int32(layout.bucketCount) - 1, schema: 3) >= 10)
        #expect(abs(layout.shares.reduce(0, +) - 1) < 1e-12)
        for (labels, hs) in histograms {
            #expect(labels.hasPrefix("rpc_seconds{"), "\(labels)")
            #expect(hs.map(\.timestamp) == (0 ..< 8).map { startMs + Int64($0) * 15_000 }, "\(labels)")
            #expect(hs[0].count == 0 && hs.last!.count > 40 * 15 * 7 / 2, "\(labels): \(hs.map(\.count))")
            for (a, b) in zip(hs, hs.dropFirst()) {
                #expect(a.count <= b.count && zip(a.buckets, b.buckets).allSatisfy { $0 <= $1 }, "\(labels)")
            }
            for h in hs {
                #expect(h.schema == 3 && h.offset == layout.firstIndex && h.buckets.count == layout.bucketCount)
                #expect(h.buckets.reduce(0, +) == h.count, "\(labels): the buckets add up to the count")
                #expect(abs(h.sum - Double(h.count) * layout.mean) <= 1e-9 * max(h.sum, 1), "\(labels)")
            }
        }
    }

    @Test func churnReplacesTargetsRoundRobinAndEverySeriesKeepsItsShard() throws {
        // 20 targets of 10 series; half the targets replaced every 30 s over 10 rounds 15 s apart:
        // epochs 1…4 each bring 10 new targets.
        let w = Workload(profile: .flat(metrics: 10), series: 200, intervalMs: 15_000, churnIntervalMs: 30_000, churnFraction: 0.5)
        #expect(w.churnTargets == 10)
        #expect(w.generation(target: 0, epoch: 1) == 1 && w.generation(target: 10, epoch: 1) == 0)
        #expect(w.generation(target: 10, epoch: 2) == 1 && w.generation(target: 0, epoch: 3) == 2)
        let (storage, shards, _) = try sendAll(w, shards: 3, rounds: 10, batch: 64)
        let series = storage.allSeries
        #expect(series.count == 600)
        let accepted = shards.flatMap(\.acceptedBySeries).filter { $0.accepted > 0 }
        #expect(accepted.count == 600)
        #expect(accepted.reduce(0) { $0 + Int($1.accepted) } == 2000)
        // A generation lives for whole epochs: two (4 rounds), or one at either end (2 rounds).
        #expect(Set(series.map(\.samples.count)) == [2, 4])
        for (labels, samples) in series {
            #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.t < $1.t }, "\(labels)")
        }
    }

    @Test func metadataRequestDecodes() throws {
        let w = Workload(profile: .node, series: 10, intervalMs: 15_000)
        let storage = MemoryStorage()
        let summary = try WriteRequestDecoder().decode(protobuf: Loadgen.metadataRequest(w), into: storage.appender())
        #expect(summary.metadata == Set(WorkloadProfile.node.metrics.map(\.name)).count, "one per family")
        #expect(summary.metadata == 25)
        #expect(summary.series == 0)
    }

    @Test func profileFileMistakesAreNamedWithTheirLine() {
        func error(_ yaml: String) -> String {
            do { _ = try WorkloadProfile.parse(yaml: yaml, file: "p.yml"); return "" } catch { return "\(error)" }
        }
        #expect(error("metrics:\n  - name: a\n    typo: 1\n") == #"p.yml:3: unknown key "typo" in a metric"#)
        #expect(error("metrics:\n  - name: a\n    type: summary\n")
                == #"p.yml:3: type: want counter, gauge, constant or histogram, not "summary""#)
        #expect(error("metrics:\n  - name: a\n    type: histogram\n    buckets: [1, 1]\n") == "p.yml:4: buckets: upper bounds must increase")
        #expect(error("metrics:\n  - name: 1a\n") == #"p.yml:2: invalid metric name "1a""#)
        #expect(error("metrics:\n  - name: a\n    labels:\n      job: [x]\n").hasPrefix(#"p.yml:4: label name "job" is invalid or reserved"#))
        #expect(error("metrics:\n  - name: a\n  - name: a\n") == "p.yml: a metric name appears twice")
        #expect(error("target_format: host\nmetrics:\n  - name: a\n") == "p.yml:1: target_format: want a `{}` where the target number goes")
        #expect(error("interval: 1.5s\nmetrics:\n  - name: a\n").hasPrefix("p.yml:1: interval: "))
        #expect(error("metrics: []\n") == "p.yml:1: metrics: want a non-empty list")
        #expect(error("metrics:\n  - name: a\n    type: histogram\n    schema: 9\n") == "p.yml:4: schema: want an integer from -4 to 8")
        #expect(error("metrics:\n  - name: a\n    schema: 3\n") == "p.yml:3: schema: only histograms have a native schema")
        #expect(error("metrics:\n  - name: a\n    labels:\n      code: 0\n")
                == "p.yml:4: code: want a list of values or a count between 1 and 1000000")
    }

    @Test func profileLabelCountsMultiply() throws {
        let p = try WorkloadProfile.parse(yaml: """
            interval: 30s
            metrics:
              - name: requests_total
                type: counter
                labels: {method: [GET, POST], code: 3}
              - name: up
                type: constant
            """)
        #expect(p.intervalMs == 30_000)
        let w = Workload(profile: p, series: 14, intervalMs: 30_000)
        #expect(w.seriesPerTarget == 7)
        #expect(w.targets == 2)
        #expect(w.labels(series: 1, generation: 0).map { "\($0.0)=\($0.1)" }
                == ["__name__=requests_total", "code=code-1", "instance=target-0", "job=loadgen", "method=GET"])
    }
}

@Suite struct LoadgenRetryPolicyTests {
    /// Prometheus 2.42's storage/remote client: 5xx and no response are recoverable, 429 too (with
    /// retry_on_http_429) after Retry-After, everything else is final.
    @Test func decisionsFollowPrometheusQueueManager() {
        let p = RetryPolicy()
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(p.decide(status: 200, retryAfter: nil) == .accepted)
        #expect(p.decide(status: 204, retryAfter: nil) == .accepted)
        for s in [400, 401, 403, 404, 409, 413, 415] { #expect(p.decide(status: s, retryAfter: "5") == .refused, "\(s)") }
        for s in [500, 502, 503, 504] { #expect(p.decide(status: s, retryAfter: nil) == .retry(afterMs: nil), "\(s)") }
        #expect(p.decide(status: nil, retryAfter: nil) == .retry(afterMs: nil))
        #expect(p.decide(status: 429, retryAfter: "3") == .retry(afterMs: 3000))
        #expect(p.decide(status: 429, retryAfter: nil) == .retry(afterMs: nil))
        #expect(p.decide(status: 429, retryAfter: "soon") == .retry(afterMs: nil))
        #expect(p.decide(status: 429, retryAfter: "Tue, 14 Nov 2023 22:13:30 GMT", now: now) == .retry(afterMs: 10_000))
        #expect(p.decide(status: 429, retryAfter: "Tue, 14 Nov 2023 22:13:10 GMT", now: now) == .retry(afterMs: nil), "in the past")
        var off = RetryPolicy()
        off.retryOnRateLimit = false
        #expect(off.decide(status: 429, retryAfter: "1") == .refused)
    }

    @Test func latencyQuantilesAreWithinTheirBucket() {
        var h = LatencyHistogram()
        for v in 1 ... 10_000 { h.record(micros: UInt64(v * 10)) }
        for (q, want) in [(0.5, 50_000.0), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let got = Double(h.quantile(q))
            #expect(got >= want && got <= want * 1.035, "q\(q): \(got)")
        }
        #expect(h.quantile(1) == 100_000)
        #expect(h.maxMicros == 100_000)
        #expect(LatencyHistogram().quantile(0.5) == 0)
        for v: UInt64 in [0, 1, 31, 32, 33, 63, 64, 1000, 123_456_789] {
            #expect(LatencyHistogram.upperBound(LatencyHistogram.index(v)) > v, "\(v)")
        }
    }
}

/// A native histogram as remote write 1.0 carries it (`prompb.Histogram`, integer counts, one
/// positive span), decoded field by field from the protobuf.
struct DecodedHistogram {
    var count: UInt64 = 0
    var sum = 0.0
    var schema: Int32 = 0
    var offset: Int32 = 0
    var buckets: [UInt64] = []
    var timestamp: Int64 = 0

    struct Malformed: Error {}

    /// Every histogram of a `WriteRequest`, with its series' labels printed `name{k="v",...}`.
    static func all(in request: [UInt8]) throws -> [(String, DecodedHistogram)] {
        var out: [(String, DecodedHistogram)] = []
        for (field, series) in try fields(request[...]) where field == 1 {
            var name = "", labels: [String] = [], found: [DecodedHistogram] = []
            for (f, v) in try fields(series.bytes) {
                if f == 1 {
                    let l = try fields(v.bytes)
                    let (k, value) = (String(decoding: l[0].1.bytes, as: UTF8.self), String(decoding: l[1].1.bytes, as: UTF8.self))
                    if k == "__name__" { name = value } else { labels.append("\(k)=\"\(value)\"") }
                } else if f == 4 {
                    found.append(try histogram(v.bytes))
                }
            }
            for h in found { out.append(("\(name){\(labels.joined(separator: ","))}", h)) }
        }
        return out
    }

    private static func histogram(_ b: ArraySlice<UInt8>) throws -> DecodedHistogram {
        var h = DecodedHistogram()
        var deltas: [Int64] = []
        for (f, v) in try fields(b) {
            switch f {
            case 1: h.count = v.varint
            case 3: h.sum = Double(bitPattern: v.fixed64)
            case 4: h.schema = Int32(truncatingIfNeeded: Varint.unzigzag(v.varint))
            case 11:
                let span = try fields(v.bytes)
                guard span.count == 2 else { throw Malformed() }
                h.offset = Int32(truncatingIfNeeded: Varint.unzigzag(span[0].1.varint))
                deltas.reserveCapacity(Int(span[1].1.varint))
            case 12:
                var p = v.bytes
                while !p.isEmpty { deltas.append(Varint.unzigzag(try readVarint(&p))) }
            case 15: h.timestamp = Int64(bitPattern: v.varint)
            default: break
            }
        }
        var c: Int64 = 0
        for d in deltas { c += d; h.buckets.append(UInt64(c)) }
        return h
    }

    enum Value { case varint(UInt64), fixed64(UInt64), bytes(ArraySlice<UInt8>)
        var varint: UInt64 { if case let .varint(v) = self { v } else { 0 } }
        var fixed64: UInt64 { if case let .fixed64(v) = self { v } else { 0 } }
        var bytes: ArraySlice<UInt8> { if case let .bytes(v) = self { v } else { [] } }
    }

    private static func fields(_ b: ArraySlice<UInt8>) throws -> [(Int, Value)] {
        var p = b, out: [(Int, Value)] = []
        while !p.isEmpty {
            let key = try readVarint(&p)
            switch key & 7 {
            case 0: out.append((Int(key >> 3), .varint(try readVarint(&p))))
            case 1:
                guard p.count >= 8 else { throw Malformed() }
                out.append((Int(key >> 3), .fixed64(p.prefix(8).reversed().reduce(0) { $0 << 8 | UInt64($1) })))
                p = p.dropFirst(8)
            case 2:
                let n = Int(try readVarint(&p))
                guard p.count >= n else { throw Malformed() }
                out.append((Int(key >> 3), .bytes(p.prefix(n))))
                p = p.dropFirst(n)
            default: throw Malformed()
            }
        }
        return out
    }

    private static func readVarint(_ p: inout ArraySlice<UInt8>) throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while let b = p.popFirst() {
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
        throw Malformed()
    }
}
