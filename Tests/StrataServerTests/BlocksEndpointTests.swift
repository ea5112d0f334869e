import Foundation
import StrataTestSupport
import Testing

/// `/api/v1/blocks` (what the UI's block viewer draws) lists the blocks `strata tsdb list`
/// lists, marks where each is, sees bucket-only blocks another writer left, and
/// `/api/v1/blocks/inspect` is byte for byte what `strata bucket inspect` prints.
@Suite struct BlocksEndpointTests {
    static func get(_ port: Int, _ pathAndQuery: String) async throws -> (Int, String) { try await httpGet(port: port, pathAndQuery) }

    static func blocks(_ port: Int) async throws -> [[String: Any]] {
        let (status, body) = try await get(port, "/api/v1/blocks")
        #expect(status == 200, "\(body)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let data = try #require(json["data"] as? [String: Any])
        return try #require(data["blocks"] as? [[String: Any]])
    }

    /// 20 hours of three gauges, from 30 h ago: the importer cuts about ten 2 h blocks.
    static func importBlocks(_ binary: String, into dataDir: String, tmp: TempDir) async throws -> [String] {
        let now = Int64(Date().timeIntervalSince1970)
        var om = "# TYPE old_metric gauge\n"
        for t in stride(from: now - 30 * 3600, to: now - 10 * 3600, by: 60) {
            for i in 0 ..< 3 { om += "old_metric{i=\"\(i)\"} \(t % 100) \(t)\n" }
        }
        try (om + "# EOF\n").write(toFile: tmp.file("in.om"), atomically: true, encoding: .utf8)
        let made = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", tmp.file("in.om"), dataDir])
        #expect(made.status == 0, "\(made.stdout)\(made.stderr)")
        let list = try await Tools.runAsync(binary, ["tsdb", "list", dataDir])
        #expect(list.status == 0, "\(list.stderr)")
        return list.stdout.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    static func eventually(_ seconds: Double = 30, _ cond: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await cond() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    @Test(.timeLimit(.minutes(3)))
    func listsWhatTsdbListListsLocalAndInTheBucket() async throws {
        guard let binary = strataBinary() else { return }
        let tmp = try TempDir("blocks-api"); defer { tmp.remove() }
        let ulids = try await Self.importBlocks(binary, into: tmp.file("data"), tmp: tmp)
        #expect(ulids.count >= 10, "\(ulids)")
        let objstore = ["--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(tmp.file("bucket"))\n"]
        let (proc, port) = try await startStrata(binary, dataDir: tmp.file("data"), log: tmp.file("serve.log"), extra: objstore)
        defer { proc.stop() }

        // Every block is listed, local, with its meta; the shipper's uploads show as bucket copies.
        var listed: [[String: Any]] = []
        let shipped = try await Self.eventually {
            listed = try await Self.blocks(port)
            return listed.allSatisfy { ($0["strata"] as? [String: Any])?["bucket"] as? Bool == true }
        }
        #expect(shipped, "\(listed.map { $0["strata"] ?? "" })")
        #expect(listed.compactMap { $0["ulid"] as? String } == ulids, "oldest first, as tsdb list")
        for b in listed {
            let strata = b["strata"] as? [String: Any] ?? [:]
            #expect(strata["local"] as? Bool == true && strata["tenant"] as? String == "default-tenant" && strata["state"] as? String == "uploaded")
            #expect((strata["sizeBytes"] as? Int ?? 0) > 0)
            #expect(((b["thanos"] as? [String: Any])?["labels"] as? [String: String]) == ["tenant_id": "default-tenant"])
            #expect(((b["stats"] as? [String: Any])?["numSeries"] as? Int) == 3)
        }

        // The inspect report is the CLI's, whole and with a selector; bad parameters are 400s.
        for query in ["", "?selector=tenant_id%3D%22default-tenant%22&output=csv", "?selector=tenant_id%3D%22nobody%22"] {
            let (status, text) = try await Self.get(port, "/api/v1/blocks/inspect" + query)
            var args = ["bucket", "inspect"] + objstore
            if query.contains("default-tenant") { args += ["--selector", "tenant_id=\"default-tenant\"", "--output", "csv"] }
            if query.contains("nobody") { args += ["--selector", "tenant_id=\"nobody\""] }
            let cli = try await Tools.runAsync(binary, args)
            #expect(status == 200 && cli.status == 0 && text == cli.stdout, "\(query):\n\(text)\n---\n\(cli.stdout)\(cli.stderr)")
        }
        #expect(try await Self.get(port, "/api/v1/blocks/inspect").1.components(separatedBy: "\n").count == ulids.count + 3)
        let badSelector = try await Self.get(port, "/api/v1/blocks/inspect?selector=tenant_id")
        #expect(badSelector.0 == 400 && badSelector.1.contains("selector"), "\(badSelector)")
        let badOutput = try await Self.get(port, "/api/v1/blocks/inspect?output=xml")
        #expect(badOutput.0 == 400 && badOutput.1.contains("table, csv or tsv"), "\(badOutput)")

        // A second server on the same bucket with no data of its own sees them all in the bucket only.
        let (other, otherPort) = try await startStrata(binary, dataDir: tmp.file("other"), log: tmp.file("other.log"), extra: objstore)
        defer { other.stop() }
        var seen: [[String: Any]] = []
        let found = try await Self.eventually {
            seen = try await Self.blocks(otherPort)
            return seen.count == ulids.count
        }
        #expect(found, "\(seen.count) of \(ulids.count)")
        #expect(seen.compactMap { $0["ulid"] as? String } == ulids)
        #expect(seen.allSatisfy { b in
            let s = b["strata"] as? [String: Any] ?? [:]
            return s["local"] as? Bool == false && s["bucket"] as? Bool == true && s["tenant"] == nil
        })
    }

    @Test(.timeLimit(.minutes(2)))
    func withoutABucketOnlyLocalBlocks() async throws {
        guard let binary = strataBinary() else { return }
        let tmp = try TempDir("blocks-api-local"); defer { tmp.remove() }
        let ulids = try await Self.importBlocks(binary, into: tmp.file("data"), tmp: tmp)
        let (proc, port) = try await startStrata(binary, dataDir: tmp.file("data"), log: tmp.file("serve.log"), extra: ["--no-shipper"])
        defer { proc.stop() }
        let listed = try await Self.blocks(port)
        #expect(listed.compactMap { $0["ulid"] as? String } == ulids)
        #expect(listed.allSatisfy { b in
            let s = b["strata"] as? [String: Any] ?? [:]
            return s["local"] as? Bool == true && s["bucket"] as? Bool == false && s["state"] == nil
        })
        let (status, text) = try await Self.get(port, "/api/v1/blocks/inspect")
        #expect(status == 404 && text.contains("no bucket"), "\(status) \(text)")
    }
}
