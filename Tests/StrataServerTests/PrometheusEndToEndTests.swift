import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StrataServer
import StrataTestSupport
import Testing

/// Runs Strata as `strata serve` does (buildApplication) on 127.0.0.1:0 and calls `body` with its port.
/// `ready` waits until the server answers (default: `/-/ready` over plain HTTP without credentials);
/// `inspectRoutes` receives the router's routes.
func withStrata(_ config: ServerConfig = ServerConfig(),
                ready: @Sendable (Int) async throws -> Void = { try await waitUntilReady(port: $0) },
                inspectRoutes: ([(method: String, path: String)]) -> Void = { _ in },
                _ body: @Sendable @escaping (Int) async throws -> Void) async throws {
    let dir = try TempDir("strata-e2e")
    defer { dir.remove() }
    var config = config
    config.httpHost = "127.0.0.1"
    config.httpPort = 0
    // A test that looks into the data directory chooses it; the others get a temporary one.
    if config.tsdbPath == ServerConfig().tsdbPath { config.tsdbPath = dir.file("data") }
    let (ports, cont) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "strata-test")
    logger.logLevel = .warning
    let app = try buildApplication(config: config, logger: logger, inspectRoutes: inspectRoutes) { channel in
        cont.yield(channel.localAddress?.port ?? 0)
        cont.finish()
    }
    let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { g in
        g.addTask { try await group.run() }
        var it = ports.makeAsyncIterator()
        let port = try #require(await it.next())
        do {
            // The listener is bound before the WAL replay finishes; until then everything but
            // the health endpoints answers 503, so wait as a client would.
            try await ready(port)
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await g.waitForAll()
    }
}

@Suite struct PrometheusEndToEndTests {
    /// A real Prometheus 2.42 scrapes itself and remote-writes to Strata; promtool then asks both
    /// the same instant queries and must print the same series and values.
    @Test(.timeLimit(.minutes(3)))
    func prometheusRemoteWritesAndPromtoolSeesTheSameSeries() async throws {
        guard let prometheus = requiredTool("prometheus"), let promtool = requiredTool("promtool") else { return }
        try await withStrata { strataPort in
            let dir = try TempDir("prometheus-e2e")
            defer { dir.remove() }
            // No readiness polling: it would add `/-/ready` counter series that start inside the
            // compared rate windows, where 2.42 and 3.x extrapolate differently. The wait for
            // scraped data below covers startup.
            let (prom, promPort) = try await startPrometheus(prometheus, dir: dir, waitReady: false) { promPort in """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: prometheus
                    static_configs:
                      - targets: ["127.0.0.1:\(promPort)"]
                remote_write:
                  - url: http://127.0.0.1:\(strataPort)/api/v1/write
                    queue_config:
                      batch_send_deadline: 1s
                      min_backoff: 50ms
                      max_backoff: 1s
                """ }
            defer { prom.stop() }

            let strata = "http://127.0.0.1:\(strataPort)"
            let promURL = "http://127.0.0.1:\(promPort)"
            // Wait for several scrapes to reach Strata.
            let deadline = Date().addingTimeInterval(90)
            var seen = ""
            while Date() < deadline {
                let r = try await Tools.runAsync(promtool, ["query", "instant", strata, "prometheus_build_info"])
                if r.status == 0 && r.stdout.contains("=> 1") { seen = r.stdout; break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(!seen.isEmpty, "no data reached Strata; prometheus log:\n\(prom.log)")
            // Wait for 35 scrapes in Strata, so every rate window compared below (10 s windows,
            // the range query reaching 30.5 s back) lies after the series' first samples: where a
            // series starts inside a window, 2.42 and 3.x extrapolate differently.
            let enough = Date().addingTimeInterval(90)
            while Date() < enough {
                let r = try await Tools.runAsync(promtool, ["query", "instant", strata, #"count_over_time(up{job="prometheus"}[1m])"#])
                if let v = r.stdout.components(separatedBy: "=> ").last?.split(separator: " ").first.flatMap({ Double($0) }), v >= 35 { break }
                try await Task.sleep(for: .milliseconds(500))
            }

            let t = String(format: "%.3f", Date().timeIntervalSince1970 - 1.5)
            for query in ["up", "prometheus_build_info", #"{__name__=~"prometheus_build_info|up", job="prometheus"}"#] {
                let ours = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", strata, query])
                let theirs = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", promURL, query])
                #expect(ours.status == 0, "promtool against Strata failed: \(ours.stderr)")
                #expect(theirs.status == 0, "promtool against Prometheus failed: \(theirs.stderr)")
                #expect(!theirs.stdout.isEmpty)
                #expect(withoutTenantLabel(ours.stdout) == theirs.stdout, "query \(query)\nStrata:\n\(withoutTenantLabel(ours.stdout))\nPrometheus:\n\(theirs.stdout)")
            }
            // A metric Prometheus exports with many series: the same number of series in both.
            let name = "prometheus_http_requests_total"
            let ourCount = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", strata, name]).stdout
                .split(separator: "\n").count
            let theirCount = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(t)", promURL, name]).stdout
                .split(separator: "\n").count
            #expect(ourCount > 0 && ourCount == theirCount)

            // PromQL beyond selectors: both answer the same expressions over the same samples.
            // Evaluate half a scrape interval after an older scrape, so no sample sits exactly on
            // a window edge (Prometheus 2.42 includes the left edge, Strata follows 3.x and does not).
            let stamp = try await Tools.runAsync(promtool, ["query", "instant", promURL, #"timestamp(up{job="prometheus"})"#]).stdout
            // promtool prints `{labels} => <value> @[<time>]`.
            let value = stamp.components(separatedBy: "=> ").last?.split(separator: " ").first
            let lastScrape = try #require(value.flatMap { Double($0) }, "\(stamp)")
            let at = String(format: "%.3f", lastScrape - 2.5)
            for query in [
                "1 + 1", "sum by (job) (up)", "count by (handler) (prometheus_http_requests_total)",
                "rate(prometheus_http_requests_total[10s])",
                "sum(rate(prometheus_tsdb_head_samples_appended_total[5s]))",
                "histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[10s])))",
                "up * on (instance, job) group_left (version) prometheus_build_info",
                "max_over_time(deriv(process_resident_memory_bytes[5s])[20s:2s])",
                #"label_replace(up, "host", "$1", "instance", "(.*):.*")"#,
                "absent(no_such_metric)", "prometheus_http_requests_total > 1 unless on (code) prometheus_http_requests_total{code=\"400\"}",
            ] {
                let ours = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(at)", strata, query])
                let theirs = try await Tools.runAsync(promtool, ["query", "instant", "--time=\(at)", promURL, query])
                #expect(ours.status == 0 && theirs.status == 0, "\(query): \(ours.stderr) \(theirs.stderr)")
                #expect(!theirs.stdout.isEmpty, "\(query) returned nothing from Prometheus")
                // Instant vectors are unordered; compare line sets.
                let a = withoutTenantLabel(ours.stdout).split(separator: "\n").sorted(), b = theirs.stdout.split(separator: "\n").sorted()
                #expect(a == b, "query \(query)\nStrata:\n\(withoutTenantLabel(ours.stdout))\nPrometheus:\n\(theirs.stdout)")
            }

            // A range query through promtool: same points, same values.
            for query in ["rate(prometheus_http_requests_total[10s])", "sum by (job) (up)"] {
                let range = ["query", "range", "--start=\(String(format: "%.3f", lastScrape - 20.5))", "--end=\(at)", "--step=2s"]
                let o = try await Tools.runAsync(promtool, range + [strata, query])
                let t = try await Tools.runAsync(promtool, range + [promURL, query])
                #expect(o.status == 0 && t.status == 0, "\(query): \(o.stderr) \(t.stderr)")
                #expect(!t.stdout.isEmpty)
                #expect(withoutTenantLabel(o.stdout).split(separator: "\n").sorted() == t.stdout.split(separator: "\n").sorted(),
                        "range \(query)\nStrata:\n\(withoutTenantLabel(o.stdout))\nPrometheus:\n\(t.stdout)")
            }

            // The series and labels APIs as promtool calls them.
            let window = ["--start=\(String(format: "%.3f", lastScrape - 30))", "--end=\(at)"]
            for args in [["series", "--match=up"] + window, ["series", "--match=prometheus_build_info"] + window,
                         ["labels"] + window + ["job"], ["labels"] + window + ["instance"]] {
                let withURL = { (url: String) in args.first == "labels" ? ["query"] + args.dropLast() + [url, args.last!] : ["query"] + args + [url] }
                let ours = try await Tools.runAsync(promtool, withURL(strata))
                let theirs = try await Tools.runAsync(promtool, withURL(promURL))
                #expect(ours.status == 0 && theirs.status == 0, "\(args): \(ours.stderr) \(theirs.stderr)")
                #expect(!theirs.stdout.isEmpty)
                #expect(withoutTenantLabel(ours.stdout) == theirs.stdout, "promtool query \(args)\nStrata:\n\(withoutTenantLabel(ours.stdout))\nPrometheus:\n\(theirs.stdout)")
            }
        }
    }
}
