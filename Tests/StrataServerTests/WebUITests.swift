import Foundation
import StrataTestSupport
import Testing

/// The web UI: its embedded copy matches `ui/`, and in a real headless Chromium (Debian's, driven
/// by Selenium from `Tests/Fixtures/ui_browser.py`) the query page graphs, tabulates, hovers,
/// highlights, completes names and values, formats, shows parse errors where they are and keeps
/// its state in the URL; the other pages (blocks, rules, alerts, …) show what the API holds; no
/// page logs a console error. Screenshots go to `.build/ui-screenshots/`.
@Suite struct WebUITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theEmbeddedUIIsTheUIFolder() async throws {
        let r = try await Tools.runAsync(try #require(Tools.which("python3")), [Self.root.appendingPathComponent("scripts/embed-ui.py").path, "--check"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    static let script = root.appendingPathComponent("Tests/Fixtures/ui_browser.py").path
    static let shots = root.appendingPathComponent(".build/ui-screenshots").path

    /// Python with Selenium, when Chromium and its driver are there too.
    static func browserPython() -> String? {
        let python = PythonServer.interpreter(importing: ["selenium"])
        let browser = ["/usr/bin/chromium", "/usr/bin/chromedriver"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python, browser else {
            let why = "Chromium, chromium-driver and selenium are needed for the web UI tests (scripts/bootstrap.sh installs them)"
            if Tools.isCI { Issue.record(Comment(rawValue: why)) } else { print(why + "; skipping") }
            return nil
        }
        try? FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        return python
    }

    @Test(.timeLimit(.minutes(3)))
    func theQueryPageInARealBrowser() async throws {
        guard let binary = strataBinary(), let python = Self.browserPython() else { return }
        let dir = try TempDir("web-ui"); defer { dir.remove() }
        // Blocks for the block viewer (as `strata tsdb list` lists them), and rules for the
        // rules and alerts pages: one alert firing, one pending, one inactive.
        let ulids = try await BlocksEndpointTests.importBlocks(binary, into: dir.file("data"), tmp: dir)
        try """
        groups:
          - name: ui
            interval: 1s
            rules:
              - record: i:g:sum
                expr: sum by (i) (g)
              - alert: GHigh
                expr: g > 18
                labels: {severity: page}
                annotations: {summary: "g is {{ $value }}"}
              - alert: GSlow
                expr: g >= 0
                for: 1h
              - alert: GNever
                expr: g > 1000
        """.write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("strata.log"),
                                                 extra: ["--rule-file", dir.file("rules.yml")])
        defer { proc.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var b = WriteRequestBuilder()
        let times = stride(from: now - 40 * 60_000, through: now - 15_000, by: 15_000).map { $0 }
        for i in 0 ..< 3 {
            // Counters whose rate rises and falls, so the graph has something to show.
            var total = 0.0
            b.add([("__name__", "x_total"), ("i", String(i))], times.enumerated().map { k, t in
                total += Double((i + 1) * (1 + (k / 8 + i) % 5))
                return (t, total)
            })
            b.add([("__name__", "g"), ("i", String(i))], times.enumerated().map { ($1, Double(i * 10 + $0 % 7)) })
        }
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)

        let r = try await Tools.runAsync(python, [Self.script, "http://127.0.0.1:\(port)", Self.shots, ulids.joined(separator: ",")], timeout: 150)
        print(r.stdout.split(separator: "\n").filter { $0.hasPrefix("measure") }.joined(separator: "\n"))
        #expect(r.status == 0 && !r.stdout.contains("FAIL"), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("ok the UI is under 200 KiB gzipped"), "\(r.stdout)")
    }

    /// `/tsdb-status` opened while Strata starts follows the WAL replay, then shows the head: a
    /// WAL of 2M samples (20,000 series) left by a killed server takes seconds to replay.
    @Test(.timeLimit(.minutes(3)))
    func theTSDBStatusPageFollowsTheWALReplay() async throws {
        guard let binary = strataBinary(), let python = Self.browserPython() else { return }
        let dir = try TempDir("web-ui-replay"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("first.log"))
        let start = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-50 * 60))
        let load = try await Tools.runAsync(binary, ["loadgen", "--url", "http://127.0.0.1:\(port)/api/v1/write", "--profile", "flat",
                                                     "--series", "20000", "--samples-per-series", "100", "--start", start,
                                                     "--scrape-interval", "15s", "--rate", "max"], timeout: 120)
        #expect(load.status == 0, "\(load.stdout)\(load.stderr)")
        // Killed: no head snapshot at shutdown, so the next start replays the whole WAL.
        kill(proc.process.processIdentifier, SIGKILL)
        proc.process.waitUntilExit()
        let r = try await Tools.runAsync(python, [Self.script, "--replay", binary, dir.file("data"), Self.shots], timeout: 150)
        #expect(r.status == 0 && !r.stdout.contains("FAIL"), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("ok then the head once the replay is done"), "\(r.stdout)")
    }
}
