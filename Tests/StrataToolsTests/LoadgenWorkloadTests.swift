import Foundation
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
