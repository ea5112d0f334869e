import AsyncHTTPClient
import Foundation
import NIOCore
import StrataServer
import StrataTestSupport
import Testing

@Suite struct MetricsTests {
    /// /metrics counts what happened and parses with `promtool check metrics`.
    @Test(.timeLimit(.minutes(2)))
    func metricsReflectWritesAndPassPromtool() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("strata-metrics"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("log"))
        defer { proc.stop() }
        var b = WriteRequestBuilder()
        for i in 0 ..< 10 { b.add([("__name__", "m"), ("i", String(i))], [(1000, 1), (2000, 2)]) }
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        var bad = WriteRequestBuilder()
        bad.add([("__name__", "m"), ("i", "0")], [(500, 9)]) // out of order
        #expect(await postWrite(port: port, bad.snappyBody()) == .badRequest)

        for path in ["/api/v1/query?query=sum(m)&time=2", "/api/v1/query?query=sum(&time=2", "/api/v1/label/i/values"] {
            var q = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            q.method = .GET
            _ = try await HTTPClient.shared.execute(q, timeout: .seconds(10))
        }

        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
        req.method = .GET
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
        #expect(resp.status == .ok)
        let text = String(buffer: try await resp.body.collect(upTo: 1 << 20))
        for line in [
            #"strata_remote_write_requests_total{code="204"} 1"#, #"strata_remote_write_requests_total{code="400"} 1"#,
            #"strata_remote_write_samples_total{outcome="accepted"} 20"#, #"strata_remote_write_samples_total{outcome="rejected"} 1"#,
            #"strata_head_series{tenant="default-tenant"} 10"#, #"strata_head_samples_appended_total{tenant="default-tenant"} 20"#,
            "strata_wal_replay_samples 0", #"strata_blocks_skipped{tenant="default-tenant"} 0"#,
            #"strata_wal_write_failures_total{tenant="default-tenant"} 0"#, #"strata_tenants{state="open"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "missing \(line) in:\n\(text)")
        }
        #expect(text.contains(#"strata_wal_written_bytes_total{tenant="default-tenant"} "#))
        // Histograms: requests by route (the registered path), queries by kind and outcome.
        for fragment in [
            #"strata_http_request_duration_seconds_count{handler="/api/v1/query",method="GET",code="200"} 1"#,
            #"strata_http_request_duration_seconds_count{handler="/api/v1/query",method="GET",code="400"} 1"#,
            #"strata_http_request_duration_seconds_count{handler="/api/v1/label/{name}/values",method="GET",code="200"} 1"#,
            #"strata_http_request_duration_seconds_bucket{handler="/api/v1/write",method="POST",code="204",le="+Inf"} 1"#,
            #"strata_query_duration_seconds_count{kind="instant",outcome="success"} 1"#,
            #"strata_query_duration_seconds_count{kind="instant",outcome="error"} 1"#,
        ] {
            #expect(text.contains(fragment), "missing \(fragment) in:\n\(text)")
        }

        // client_golang's process collector, read from /proc: values that fit this process.
        func value(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let now = Date().timeIntervalSince1970
        #expect((value("process_resident_memory_bytes") ?? 0) > 1_048_576)
        #expect((value("process_virtual_memory_bytes") ?? 0) >= (value("process_resident_memory_bytes") ?? .infinity))
        #expect((value("process_open_fds") ?? 0) >= 3 && (value("process_open_fds") ?? .infinity) <= (value("process_max_fds") ?? 0))
        #expect((value("process_cpu_seconds_total") ?? 0) > 0)
        let started = value("process_start_time_seconds") ?? 0
        #expect(started > now - 120 && started <= now + 1, "process_start_time_seconds \(started), now \(now)")
        #expect(value("process_virtual_memory_max_bytes") != nil)

        if let promtool = requiredTool("promtool") {
            let file = dir.file("metrics.txt")
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let check = try await Tools.runAsync("/bin/sh", ["-c", "\(promtool) check metrics < \(file)"])
            #expect(check.status == 0, "promtool check metrics: \(check.stdout) \(check.stderr)")
        }
    }
}
