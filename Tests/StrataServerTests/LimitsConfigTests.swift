import AsyncHTTPClient
import Foundation
import NIOCore
import StrataHTTPAPI
import StrataServer
import StrataTestSupport
import Testing

/// Thanos Receive's limits file, read with Thanos' keys and rules, and re-read while serving.
@Suite struct LimitsConfigTests {
    /// The example of Thanos' documentation, with Strata's rate keys added.
    @Test func readsThanosExample() throws {
        let l = try LimitsConfig.parse("""
            write:
              global:
                max_concurrency: 30
                meta_monitoring_url: "http://localhost:9090"
                meta_monitoring_limit_query: "sum(prometheus_tsdb_head_series) by (tenant)"
              default:
                request:
                  size_bytes_limit: 1024
                  series_limit: 1000
                  samples_limit: 10
                head_series_limit: 1000
                ingestion_rate: 2.5e4
              tenants:
                acme:
                  request:
                    size_bytes_limit: 0
                    series_limit: 0
                    samples_limit: 0
                  head_series_limit: 2000
                  ingestion_burst_size: 100000
                ajax:
                  request:
                    series_limit: 50000
            """)
        #expect(l.maxConcurrency == 30)
        #expect(l.defaults.sizeBytes == 1024 && l.defaults.series == 1000 && l.defaults.samples == 10 && l.defaults.headSeries == 1000)
        #expect(l.defaults.ingestionRate == 25000)
        let acme = l.effective(for: "acme"), ajax = l.effective(for: "ajax"), other = l.effective(for: "other")
        #expect(acme.sizeBytes == nil && acme.series == nil && acme.samples == nil && acme.headSeries == 2000)
        #expect(acme.ingestionRate == 25000 && acme.ingestionBurst == 100000)
        #expect(ajax.series == 50000 && ajax.samples == 10 && ajax.sizeBytes == 1024)
        #expect(other.series == 1000 && other.ingestionBurst == 25000)
        #expect(try LimitsConfig.parse("") == WriteLimits())
    }

    @Test(arguments: [
        ("write:\n  default:\n    request:\n      series_limits: 1\n", "line 4: field series_limits not found in type receive.requestLimitsConfig"),
        ("write:\n  global:\n    max_concurrency: many\n", "cannot unmarshal !!str `many` into int64"),
        ("write:\n  default:\n    head_series_limit: -1\n", "cannot unmarshal !!int `-1` into uint64"),
        ("write:\n  default:\n    request:\n      samples_limit: -5\n", "samples_limit must not be negative"),
        ("write:\n  tenants:\n    ../etc:\n      head_series_limit: 1\n", "tenant name \"../etc\" not valid"),
        ("write:\n  tenants: [a]\n", "cannot unmarshal !!seq into map[string]*receive.WriteLimitConfig"),
        ("write:\n  global:\n    meta_monitoring_url: /no-host\n", "is not a valid meta-monitoring URL"),
        ("write:\n  default:\n    ingestion_rate: fast\n", "cannot unmarshal !!str `fast` into float64"),
        ("limits: {}\n", "field limits not found in type receive.RootLimitsConfig"),
    ])
    func refuses(_ yaml: String, _ message: String) {
        #expect {
            _ = try LimitsConfig.parse(yaml)
        } throws: { "\($0)".contains(message) && !"\($0)".contains("\n") }
    }

    /// A limit changed in the file applies to the next write, without a restart; a broken edit
    /// keeps the limits in force.
    @Test(.timeLimit(.minutes(2)))
    func aChangedFileAppliesWithoutARestart() async throws {
        let dir = try TempDir("limits")
        defer { dir.remove() }
        let file = dir.file("limits.yml")
        try "write:\n  default:\n    request:\n      series_limit: 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        var config = ServerConfig()
        config.limitsConfigFile = file
        try await withStrata(config) { port in
            func write(_ series: Int, _ t: Int64) async throws -> UInt {
                var b = WriteRequestBuilder()
                for s in 0 ..< series { b.add([("__name__", "m"), ("s", String(s))], [(t, 1)]) }
                var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/receive")
                req.method = .POST
                req.headers.add(name: "Content-Type", value: "application/x-protobuf")
                req.headers.add(name: "Content-Encoding", value: "snappy")
                req.body = .bytes(ByteBuffer(bytes: b.snappyBody()))
                return try await HTTPClient.shared.execute(req, timeout: .seconds(10)).status.code
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            #expect(try await write(2, now) == 413)
            try "write:\n  default:\n    request:\n      series_limit: 5\n".write(toFile: file, atomically: true, encoding: .utf8)
            var status: UInt = 0
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                status = try await write(2, now)
                if status == 200 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status == 200)
            try "write:\n  default:\n    request:\n      series_limit: [\n".write(toFile: file, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await write(6, now + 1000) == 413)
            #expect(try await write(5, now + 1000) == 200)
        }
    }
}
