import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import StrataModel
import StrataTestSupport
import Testing

@Suite struct CrashRecoveryTests {
    /// kill -9 at random moments while a client writes; after each restart every acknowledged
    /// sample is there, exactly once and unaltered (checked with promtool tsdb dump on the WAL).
    @Test(.timeLimit(.minutes(5)))
    func killNineLosesNothingAcknowledged() async throws {
        guard let binary = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("strata-crash"); defer { dir.remove() }
        let data = dir.file("data")
        let series = 20
        var acked: [Int] = []       // request numbers acknowledged with 204
        var attempted = 0           // requests sent so far (acked or not)
        var rng = SplitMix(seed: 2024)
        let base: Int64 = 1_700_000_000_000

        for round in 0 ..< 10 {
            // A small segment size rotates segments during the test; fsync policy does not matter for kill -9.
            let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("strata-\(round).log"),
                                                     extra: ["--tsdb.wal-fsync", round % 2 == 0 ? "segment" : "always",
                                                             "--tsdb.head-snapshot-interval", round % 4 < 2 ? "100ms" : "0"])
            let killAfter = Double(rng.next() % 400 + 50) / 1000
            let start = Date()
            let ackedBefore = acked.count
            // Writes for a random time, and at least three acknowledged, so a slow (loaded)
            // machine still gets enough writes in before the kill to test something.
            while Date().timeIntervalSince(start) < killAfter || (acked.count - ackedBefore < 3 && Date().timeIntervalSince(start) < 30) {
                let r = attempted
                attempted += 1
                var b = WriteRequestBuilder()
                for s in 0 ..< series {
                    b.add([("__name__", "crash_test"), ("s", String(s))], [(base + Int64(r) * 1000, Double(r * series + s))])
                }
                if await postWrite(port: port, b.snappyBody()) == .noContent { acked.append(r) }
            }
            // Every third round stops cleanly (SIGTERM: WAL closed, head snapshot written); the
            // others are killed, so restarts run from snapshot + WAL and from the WAL alone.
            if round % 3 == 2 {
                proc.stop()
            } else {
                kill(proc.process.processIdentifier, SIGKILL)
                proc.process.waitUntilExit()
            }
        }
        #expect(acked.count > 20, "the client got too few writes in to test anything")

        // One more start replays everything (and repairs any torn tail). The query API must show
        // every acknowledged sample: a point at an acknowledged timestamp carries that request's
        // value, never an older one carried over by the lookback.
        let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("strata-final.log"))
        let start = Double(base) / 1000, end = Double(base + Int64(attempted) * 1000) / 1000
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/query_range?query=crash_test%7Bs%3D%220%22%7D&start=\(start)&end=\(end)&step=1")
        req.method = .GET
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let body = try await resp.body.collect(upTo: 64 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        let result = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        var points: [Int64: Double] = [:]
        for p in (result.first?["values"] as? [[Any]]) ?? [] {
            if let ts = p[0] as? Double, let v = (p[1] as? String).flatMap(Double.init) { points[Int64((ts * 1000).rounded())] = v }
        }
        for r in acked { #expect(points[base + Int64(r) * 1000] == Double(r * series), "request \(r) not served after restart") }
        kill(proc.process.processIdentifier, SIGKILL)
        proc.process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: data + "/default-tenant/head.snapshot"), "a clean stop writes a head snapshot")

        let dump = try await Tools.runAsync(promtool, ["tsdb", "dump", data + "/default-tenant"])
        #expect(dump.status == 0, "\(dump.stderr)")
        var seen: [String: Int] = [:]
        let dumped = dumpedSamples(dump.stdout, metric: "crash_test")
        #expect(dumped.count == dump.stdout.split(separator: "\n").count, "a series other than crash_test in the dump")
        for (line, s, v, t) in dumped {
            let r = Int((t - base) / 1000)
            #expect(v == Double(r * series + s), "sample altered: \(line)")
            #expect(r < attempted, "sample that was never sent: \(line)")
            seen["\(r)/\(s)", default: 0] += 1
        }
        #expect(seen.values.allSatisfy { $0 == 1 }, "a sample was stored twice")
        let missing = acked.flatMap { r in (0 ..< series).map { "\(r)/\($0)" } }.filter { seen[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) acknowledged samples lost, e.g. \(missing.prefix(5))")
    }
}

@Suite struct WALDamageTests {
    /// Truncating the newest WAL segment at a random offset, or flipping a random byte in it: the
    /// server still starts, and keeps an unaltered prefix of what was written.
    @Test(.timeLimit(.minutes(5)))
    func damagedWALTailIsRepairedOnStart() async throws {
        guard let binary = strataBinary(), let promtool = requiredTool("promtool") else { return }
        var rng = SplitMix(seed: 77)
        let base: Int64 = 1_700_000_000_000
        for round in 0 ..< 6 {
            let dir = try TempDir("strata-damage"); defer { dir.remove() }
            let data = dir.file("data")
            let requests = 40
            let (proc, port) = try await startStrata(binary, dataDir: data, log: dir.file("a.log"), extra: ["--no-tsdb.wal-compression"])
            for r in 0 ..< requests {
                var b = WriteRequestBuilder()
                for s in 0 ..< 5 { b.add([("__name__", "damage"), ("s", String(s))], [(base + Int64(r) * 1000, Double(r * 10 + s))]) }
                #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
            }
            kill(proc.process.processIdentifier, SIGKILL)
            proc.process.waitUntilExit()

            // Damage the newest non-empty segment.
            let wal = data + "/default-tenant/wal"
            let segs = try FileManager.default.contentsOfDirectory(atPath: wal).sorted()
            let target = try #require(segs.last { (try? FileManager.default.attributesOfItem(atPath: "\(wal)/\($0)")[.size] as? Int ?? 0) ?? 0 > 0 })
            let path = "\(wal)/\(target)"
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            if round % 2 == 0 {
                bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            } else {
                bytes[Int(rng.next() % UInt64(bytes.count))] ^= 0x5A
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))

            let (proc2, _) = try await startStrata(binary, dataDir: data, log: dir.file("b.log"))
            kill(proc2.process.processIdentifier, SIGKILL)
            proc2.process.waitUntilExit()
            let dump = try await Tools.runAsync(promtool, ["tsdb", "dump", data + "/default-tenant"])
            #expect(dump.status == 0, "\(dump.stderr)")
            var present = Set<Int>()
            let dumped = dumpedSamples(dump.stdout, metric: "damage")
            #expect(dumped.count == dump.stdout.split(separator: "\n").count, "a series other than damage in the dump")
            for (line, s, v, t) in dumped {
                let r = Int((t - base) / 1000)
                #expect(v == Double(r * 10 + s), "altered sample \(line)")
                present.insert(r)
            }
            // Requests were logged in order, so what survives is a prefix of them.
            #expect(present == Set(0 ..< present.count), "round \(round): kept requests are not a prefix: \(present.sorted())")
        }
    }
}
