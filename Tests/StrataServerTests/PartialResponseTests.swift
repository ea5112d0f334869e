import AsyncHTTPClient
import Foundation
import NIOCore
import StrataTestSupport
import Testing

/// `partial_response`: when the bucket cannot be read, a query fails by default, and with
/// `partial_response=true` (or `--query.partial-response`) answers from local data with a
/// warning saying what was left out.
@Suite struct PartialResponseTests {
    static func get(_ port: Int, _ pathAndQuery: String) async throws -> (status: Int, json: [String: Any]) {
        let resp = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(pathAndQuery)"), timeout: .seconds(30))
        let body = try await resp.body.collect(upTo: 16 << 20)
        return (Int(resp.status.code), try #require(try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]))
    }

    @Test(.timeLimit(.minutes(2)))
    func anUnreadableBucketFailsQueriesUnlessPartialResponseIsAsked() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("partial-response"); defer { dir.remove() }
        let base = BucketQueryEndToEndTests.base
        var b = WriteRequestBuilder()
        for s in 0 ..< 3 {
            b.add([("__name__", "kept"), ("s", String(s))], (0 ..< 144).map { (base + Int64($0) * 5000, Double($0)) })
        }
        let bucketDir = dir.file("bucket")
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"), extra: BlocksEndToEndTests.fastBlocks + [
            "--shipper.interval", "300ms", "--tsdb.retention.time", "3m",
            "--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(bucketDir)\n",
        ])
        defer { proc.stop() }
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        let deadline = Date().addingTimeInterval(60)
        while !proc.log.contains("retention deleted blocks") && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(proc.log.contains("retention deleted blocks"), "\(proc.log)")

        // The bucket goes away before any query has read (and cached) its blocks.
        try FileManager.default.moveItem(atPath: bucketDir, toPath: dir.file("bucket-gone"))
        let end = Double(base + 144 * 5000) / 1000
        let q = "/api/v1/query?query=count_over_time(kept%5B20m%5D)&time=\(end)"
        let failed = try await Self.get(port, q)
        #expect(failed.status >= 500 && failed.json["status"] as? String == "error", "\(failed)")

        let partial = try await Self.get(port, q + "&partial_response=true")
        #expect(partial.status == 200, "\(partial)")
        let warnings = partial.json["warnings"] as? [String] ?? []
        #expect(warnings.count == 1 && warnings[0].contains("bucket could not be read"), "\(warnings)")
        let result = (partial.json["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        let counts = result.compactMap { Double(($0["value"] as? [Any])?.last as? String ?? "") }
        #expect(counts.count == 3 && counts.allSatisfy { $0 > 0 && $0 < 144 }, "local data only: \(counts)")

        let series = try await Self.get(port, "/api/v1/series?match[]=kept&start=\(Double(base) / 1000)&end=\(end)&partial_response=1")
        #expect(series.status == 200 && (series.json["warnings"] as? [String])?.first?.contains("bucket could not be read") == true, "\(series)")
        for path in ["/api/v1/labels", "/api/v1/label/s/values"] {
            let range = "start=\(Double(base) / 1000)&end=\(end)"
            let strict = try await Self.get(port, "\(path)?\(range)")
            #expect(strict.status >= 500, "\(path): \(strict)")
            let lenient = try await Self.get(port, "\(path)?\(range)&partial_response=true")
            #expect(lenient.status == 200 && (lenient.json["warnings"] as? [String])?.first?.contains("bucket could not be read") == true,
                    "\(path): \(lenient)")
            #expect((lenient.json["data"] as? [String])?.isEmpty == false, "local names and values still answer: \(lenient)")
        }
        let bad = try await Self.get(port, q + "&partial_response=perhaps")
        #expect(bad.status == 400, "\(bad)")
    }
}
