import AsyncHTTPClient
import Foundation
import NIOCore
import StrataModel

/// Reads back what a run left in the receiver: per metric family, one instant query
/// `count_over_time({__name__="m",job="j"}[range])` at the last timestamp sent, over the Prometheus
/// HTTP API at `--verify URL`, compared series by series with the samples the receiver accepted.
/// Labels the receiver adds (external labels, `tenant_id`) are ignored.
public enum LoadgenVerifier {
    public struct Result: Codable, Sendable {
        public var url: String
        /// Series with at least one accepted sample.
        public var series: Int
        public var seriesMissing: Int
        public var seriesWithLoss: Int
        public var samplesExpected: UInt64
        public var samplesHeld: UInt64
        public var samplesLost: UInt64
        /// More held than accepted (a refused batch the receiver partly wrote, as Prometheus does with 400s).
        public var samplesExtra: UInt64
        public var examples: [String]
        public var queries: Int
        public var error: String?

        public var lostAnything: Bool { samplesLost > 0 || error != nil }
    }

    public static func verify(url: String, target: RemoteWriteTarget, workload w: Workload, outcomes: [ShardOutcome],
                              firstTimestampMs: Int64, lastTimestampMs: Int64, timeoutMs: Int64) async -> Result {
        // Expected counts, grouped by metric name.
        var expected: [String: [Labels: UInt64]] = [:]
        for o in outcomes {
            for (s, g, n) in o.accepted where n > 0 {
                let pairs = w.labels(series: s, generation: g)
                expected[pairs.first { $0.0 == "__name__" }!.1, default: [:]][Labels(pairs)] = UInt64(n)
            }
        }
        var names: Set<String> = ["job", w.profile.targetLabel]
        for t in w.templates { for (n, _) in t.labels { names.insert(n) } }

        let initial = Result(url: url, series: expected.values.reduce(0) { $0 + $1.count }, seriesMissing: 0, seriesWithLoss: 0,
                            samplesExpected: expected.values.reduce(0) { $0 + $1.values.reduce(0, +) }, samplesHeld: 0,
                            samplesLost: 0, samplesExtra: 0, examples: [], queries: 0, error: nil)
        let http: HTTPClient
        do { http = try target.makeClient(for: url, connections: 1) } catch {
            var failed = initial
            failed.error = "\(error)"
            return failed
        }
        let result = await compare(http, url: url, target: target, job: w.profile.job, keep: names, expected: expected,
                                   firstTimestampMs: firstTimestampMs, lastTimestampMs: lastTimestampMs,
                                   timeoutMs: timeoutMs, result: initial)
        try? await http.shutdown()
        return result
    }

    private static func compare(_ http: HTTPClient, url: String, target: RemoteWriteTarget, job: String, keep names: Set<String>,
                                expected: [String: [Labels: UInt64]], firstTimestampMs: Int64, lastTimestampMs: Int64,
                                timeoutMs: Int64, result: Result) async -> Result {
        var result = result
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        // Receivers make samples queryable a little after accepting them (VictoriaMetrics: up to
        // its -search.latencyOffset); ask again until nothing is lost or the time is up.
        while true {
            var attempt = result
            attempt.seriesMissing = 0; attempt.seriesWithLoss = 0; attempt.samplesHeld = 0
            attempt.samplesLost = 0; attempt.samplesExtra = 0; attempt.examples = []; attempt.error = nil
            for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
                attempt.queries += 1
                let held: [Labels: UInt64]
                do {
                    held = try await query(http, url: url, target: target, metric: name, job: job, keep: names,
                                           rangeMs: lastTimestampMs - firstTimestampMs + 1, atMs: lastTimestampMs)
                } catch {
                    attempt.error = "\(name): \(error)"
                    break
                }
                for (labels, n) in want {
                    let h = held[labels] ?? 0
                    attempt.samplesHeld += min(h, n)
                    if h == 0 { attempt.seriesMissing += 1 }
                    if h < n {
                        attempt.seriesWithLoss += 1
                        attempt.samplesLost += n - h
                        if attempt.examples.count < 5 { attempt.examples.append("\(labels): accepted \(n), held \(h)") }
                    } else if h > n {
                        attempt.samplesExtra += h - n
                    }
                }
            }
            result = attempt
            if !result.lostAnything || ContinuousClock.now >= deadline { return result }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private struct QueryError: Error, CustomStringConvertible {
        let description: String
    }

    private static func query(_ http: HTTPClient, url: String, target: RemoteWriteTarget, metric: String, job: String,
                              keep: Set<String>, rangeMs: Int64, atMs: Int64) async throws -> [Labels: UInt64] {
        let expr = "count_over_time({__name__=\(goQuote(metric)),job=\(goQuote(job))}[\(rangeMs)ms])"
        var c = URLComponents(string: url.hasSuffix("/") ? String(url.dropLast()) : url)
        c?.path += "/api/v1/query"
        c?.queryItems = [URLQueryItem(name: "query", value: expr),
                         URLQueryItem(name: "time", value: String(format: "%.3f", Double(atMs) / 1000))]
        // `+` in a query string is a space to Go's parser.
        guard let full = c?.url?.absoluteString.replacingOccurrences(of: "+", with: "%2B") else {
            throw QueryError(description: "bad --verify URL \(url)")
        }
        var request = HTTPClientRequest(url: full)
        request.headers = target.commonHeaders
        let response = try await http.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 1 << 30)
        guard response.status.code == 200 else {
            throw QueryError(description: "HTTP \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        guard let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let data = json["data"] as? [String: Any], let rows = data["result"] as? [[String: Any]] else {
            throw QueryError(description: "unexpected answer: \(String(buffer: body).prefix(300))")
        }
        var out: [Labels: UInt64] = [:]
        for row in rows {
            guard let labels = row["metric"] as? [String: String], let value = row["value"] as? [Any], value.count == 2,
                  let s = value[1] as? String, let n = Double(s) else { continue }
            // count_over_time drops the metric name; the query asked for one, so it is known.
            var pairs = labels.filter { keep.contains($0.key) }.map { ($0.key, $0.value) }
            pairs.append(("__name__", metric))
            out[Labels(pairs)] = UInt64(n)
        }
        return out
    }
}
