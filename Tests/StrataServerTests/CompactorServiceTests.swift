import AsyncHTTPClient
import Foundation
import StrataBlockStore
import StrataObjectStore
import StrataTestSupport
import Testing

/// `strata serve --compact`: the compactor runs inside the server, over the bucket the server
/// ships to and queries; queries answer the same before and after the merge.
@Suite struct CompactorServiceTests {
    @Test(.timeLimit(.minutes(2)))
    func theServerCompactsItsBucketAndQueriesAnswerTheSame() async throws {
        guard let binary = strataBinary() else { return }
        let tmp = try TempDir("compact-serve"); defer { tmp.remove() }
        // Five 2h blocks another writer shipped into the server's default bucket.
        let pristine = try await CompactorCrashTests.shippedBucket(tmp)
        try FileManager.default.createDirectory(atPath: tmp.file("data"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: pristine, toPath: tmp.file("data/bucket"))
        let (proc, port) = try await startStrata(binary, dataDir: tmp.file("data"), log: tmp.file("serve.log"), extra: [
            "--compact", "--compact.wait-interval", "500ms", "--consistency-delay", "0s", "--delete-delay", "0s",
        ])
        defer { proc.stop() }
        let deadline = Date().addingTimeInterval(60)
        while !proc.log.contains("deleted blocks marked for deletion") && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(proc.log.contains("compacted blocks in the bucket"), "\(proc.log)")
        #expect(proc.log.contains("deleted blocks marked for deletion"), "\(proc.log)")

        let blocks = try await BucketBlocks.list(try FilesystemBucket(directory: tmp.file("data/bucket")))
        #expect(blocks.map { $0.meta.maxTime - $0.meta.minTime } == [8 * 3_600_000, 2 * 3_600_000])
        #expect(blocks.first?.thanos?.source == "compactor")
        // Every sample of 0h-10h once, now from the 8h block and the last 2h block.
        let counts = try await BlocksEndToEndTests.query(port, "count_over_time(m[11h])", time: 36_000)
        #expect(counts == ["0": 600, "1": 600, "2": 600], "\(counts)\n\(proc.log)")
        let sums = try await BlocksEndToEndTests.query(port, "sum_over_time(m[11h])", time: 36_000)
        #expect(sums["1"] == (0 ..< 600).map { 1000 + Double($0) }.reduce(0, +), "\(sums)")

        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
        req.method = .GET
        let metrics = String(buffer: try await HTTPClient.shared.execute(req, timeout: .seconds(10)).body.collect(upTo: 16 << 20))
        #expect(metrics.contains("thanos_compact_group_compactions_total{resolution=\"0\"} 1\n"), "\(metrics)")
        #expect(metrics.contains("thanos_compact_blocks_cleaned_total 4\n"))
        #expect(metrics.contains("thanos_compact_halted 0\n"))
        #expect(try #require(metrics.split(separator: "\n").first { $0.hasPrefix("thanos_compact_iterations_total ") }).dropFirst(32) != "0")
    }
}
