import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataModel
import StrataTestSupport
import Testing

/// `strata serve --rule-file`: rules evaluated on what remote write stored, recorded series and
/// alerts queryable, `/api/v1/rules` and `/api/v1/alerts` as Prometheus answers them, and the
/// rule files reloaded by `POST /-/reload` and SIGHUP (a bad file keeping the rules in force).
@Suite struct RulesEndToEndTests {
    static func request(_ port: Int, _ path: String, method: HTTPMethod = .GET) async throws -> (status: Int, body: String) {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        req.method = method
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let body = try await resp.body.collect(upTo: 16 << 20)
        return (Int(resp.status.code), String(buffer: body))
    }

    static func json(_ port: Int, _ path: String) async throws -> [String: Any] {
        let (status, body) = try await request(port, path)
        #expect(status == 200, "\(path): \(body)")
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// Polls `check` every 100 ms for up to 60 s (servers started beside the whole suite on two
    /// cores can take a while to evaluate their first rounds).
    static func eventually(_ what: String, _ check: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
    }

    static let rules = """
    groups:
      - name: instances
        interval: 1s
        rules:
          - record: job:up:sum
            expr: sum by (job) (up)
          - alert: InstanceDown
            expr: up == 0
            labels:
              severity: page
            annotations:
              summary: "{{ $labels.instance }} of {{ $labels.job }} is down ({{ $value }})"
          - alert: DownForLong
            expr: up == 0
            for: 1h

    """

    static func groups(_ port: Int) async throws -> [[String: Any]] {
        let data = try await json(port, "/api/v1/rules")["data"] as? [String: Any]
        return data?["groups"] as? [[String: Any]] ?? []
    }

    @Test(.timeLimit(.minutes(2)))
    func rulesRunOnWrittenDataAndReloadWithoutLosingAlerts() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("rules-e2e"); defer { dir.remove() }
        let ruleFile = dir.file("rules/instances.yml")
        try FileManager.default.createDirectory(atPath: dir.file("rules"), withIntermediateDirectories: true)
        try Self.rules.write(toFile: ruleFile, atomically: true, encoding: .utf8)
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"),
                                                 extra: ["--rule-file", dir.file("rules/*.yml"), "--web.enable-lifecycle"])
        defer { proc.stop() }
        // Samples every 5 s over the last two minutes, so every evaluation finds one.
        let now = WallClock.nowMillis()
        var b = WriteRequestBuilder()
        let times = stride(from: now - 120_000, through: now + 60_000, by: 5000).map { $0 }
        b.add([("__name__", "up"), ("instance", "a:9090"), ("job", "api")], times.map { ($0, 0.0) })
        b.add([("__name__", "up"), ("instance", "b:9090"), ("job", "api")], times.map { ($0, 1.0) })
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)

        var activeAt: String?
        try await Self.eventually("InstanceDown to fire") {
            let alerts = (try await Self.json(port, "/api/v1/alerts")["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            guard let firing = alerts.first(where: { ($0["state"] as? String) == "firing" }) else { return false }
            #expect(firing["labels"] as? [String: String] == [
                "alertname": "InstanceDown", "instance": "a:9090", "job": "api", "severity": "page", "tenant_id": "default-tenant",
            ])
            #expect(firing["annotations"] as? [String: String] == ["summary": "a:9090 of api is down (0)"])
            #expect(firing["value"] as? String == "0e+00")
            #expect(alerts.contains { ($0["labels"] as? [String: String])?["alertname"] == "DownForLong" && ($0["state"] as? String) == "pending" })
            activeAt = firing["activeAt"] as? String
            return true
        }
        // /api/v1/rules: the group, its rules in order, their health and state.
        let group = try #require(try await Self.groups(port).first)
        #expect(group["name"] as? String == "instances" && group["file"] as? String == ruleFile && group["interval"] as? Double == 1)
        let rules = try #require(group["rules"] as? [[String: Any]])
        #expect(rules.map { $0["name"] as? String } == ["job:up:sum", "InstanceDown", "DownForLong"])
        #expect(rules.map { $0["type"] as? String } == ["recording", "alerting", "alerting"])
        #expect(rules.allSatisfy { $0["health"] as? String == "ok" })
        #expect(rules[1]["state"] as? String == "firing" && rules[2]["state"] as? String == "pending" && rules[2]["duration"] as? Double == 3600)
        #expect(rules[0]["query"] as? String == "sum by (job) (up)")
        // Filters: type, rule_name[].
        let onlyRecording = try await Self.json(port, "/api/v1/rules?type=record")
        #expect(((onlyRecording["data"] as? [String: Any])?["groups"] as? [[String: Any]])?.first?["rules"].map { ($0 as? [Any])?.count } == 1)
        #expect(try await Self.request(port, "/api/v1/rules?type=nope").status == 400)

        // The recorded series is stored (with the default tenant's label) and so is ALERTS.
        let recorded = try await Self.json(port, "/api/v1/query?query=job:up:sum")
        let result = ((recorded["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        #expect(result.first?["metric"] as? [String: String] == ["__name__": "job:up:sum", "job": "api", "tenant_id": "default-tenant"])
        // ALERTS is written from the evaluation after the `for` state was restored (the second).
        try await Self.eventually("ALERTS to be written") {
            let series = try await Self.json(port, "/api/v1/query?query=ALERTS%7Balertstate%3D%22firing%22%7D")
            return ((series["data"] as? [String: Any])?["result"] as? [Any])?.count == 1
        }
        let metrics = try await Self.request(port, "/metrics").body
        #expect(metrics.contains("prometheus_rule_evaluations_total{rule_group=\"\(ruleFile);instances\"}"))
        #expect(metrics.contains("prometheus_rule_group_rules{rule_group=\"\(ruleFile);instances\"} 3"))

        // A new rule by POST /-/reload; the firing alert keeps its activeAt.
        try (Self.rules + "      - record: two\n        expr: vector(2)\n").write(toFile: ruleFile, atomically: true, encoding: .utf8)
        #expect(try await Self.request(port, "/-/reload", method: .POST).status == 200)
        #expect(((try await Self.groups(port).first?["rules"]) as? [Any])?.count == 4)
        let afterReload = (try await Self.json(port, "/api/v1/alerts")["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        #expect(afterReload.first { ($0["labels"] as? [String: String])?["alertname"] == "InstanceDown" }?["activeAt"] as? String == activeAt)

        // A broken file: 500 with the reason, the rules in force stay.
        try "groups:\n- name: x\n  rules:\n  - record: bad name\n    expr: up\n".write(toFile: dir.file("rules/broken.yml"), atomically: true, encoding: .utf8)
        let failed = try await Self.request(port, "/-/reload", method: .POST)
        #expect(failed.status == 500 && failed.body.contains("failed to reload config:") && failed.body.contains("invalid recording rule name: bad name"), "\(failed.body)")
        #expect(try await Self.groups(port).count == 1)
        #expect(try await Self.request(port, "/metrics").body.contains("prometheus_config_last_reload_successful 0"))

        // SIGHUP reloads too: with the broken file gone, the group of a new file appears.
        try FileManager.default.removeItem(atPath: dir.file("rules/broken.yml"))
        try "groups:\n- name: extra\n  rules:\n  - record: three\n    expr: vector(3)\n".write(toFile: dir.file("rules/extra.yml"), atomically: true, encoding: .utf8)
        kill(proc.process.processIdentifier, SIGHUP)
        try await Self.eventually("SIGHUP to reload the rules") { try await Self.groups(port).count == 2 }
        #expect(proc.process.isRunning)
    }

    @Test(.timeLimit(.minutes(1)))
    func reloadNeedsTheLifecycleFlagAndABadRuleFileStopsTheStart() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("rules-lifecycle"); defer { dir.remove() }
        let (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"))
        let reload = try await Self.request(port, "/-/reload", method: .POST)
        #expect(reload.status == 403 && reload.body == "Lifecycle API is not enabled.\n")
        #expect(try await Self.groups(port).isEmpty)
        await proc.stopAsync()

        try "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n".write(toFile: dir.file("bad.yml"), atomically: true, encoding: .utf8)
        let r = try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data2"), "--http-address", "127.0.0.1:0",
                                                  "--rule-file", dir.file("bad.yml")], timeout: 30)
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(dir.file("bad.yml")): 5:11: group \"g\", rule 1, \"A\": could not parse expression: 1:6: parse error: unexpected end of input"), "\(r.stderr)")
    }

    /// The `activeAt` of the pending alert `name` (Go's JSON time), if listed.
    static func activeAt(_ port: Int, _ name: String) async throws -> Date? {
        let alerts = (try await json(port, "/api/v1/alerts")["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        guard let text = alerts.first(where: { ($0["labels"] as? [String: String])?["alertname"] == name })?["activeAt"] as? String else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return f.date(from: text)
    }

    /// A pending alert's `for` clock survives a restart: after the second evaluation it is
    /// restored from `ALERTS_FOR_STATE` (read back from the WAL), moved on by the outage only.
    @Test(.timeLimit(.minutes(2)))
    func pendingAlertsKeepTheirForClockAcrossARestart() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("rules-restart"); defer { dir.remove() }
        try "groups:\n- name: g\n  interval: 1s\n  rules:\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n"
            .write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)
        let args = ["--rule-file", dir.file("rules.yml")]
        var (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"), extra: args)
        defer { proc.stop() } // whichever process runs when the test ends
        var first: Date?
        try await Self.eventually("the alert to be pending") { first = try await Self.activeAt(port, "Slow"); return first != nil }
        // Pending for a while, with ALERTS_FOR_STATE written (from the third evaluation on).
        try await Self.eventually("ALERTS_FOR_STATE to be written") {
            let r = try await Self.json(port, "/api/v1/query?query=ALERTS_FOR_STATE")
            return ((r["data"] as? [String: Any])?["result"] as? [Any])?.isEmpty == false
        }
        try await Task.sleep(for: .seconds(10))
        await proc.stopAsync()
        let activeAt = try #require(first)

        (proc, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve2.log"), extra: args)
        let ready = Date()
        // A fresh alert would be active from about now; the restored one only moves by the time
        // Strata was down, so it stays 10+ s (the pending time before the stop) before now,
        // however long the restart took on a busy machine.
        var restored: Date?
        try await Self.eventually("the for state to be restored") {
            guard let t = try await Self.activeAt(port, "Slow") else { return false }
            restored = t
            return t < ready.addingTimeInterval(-5)
        }
        #expect(restored.map { $0.timeIntervalSince(activeAt) >= 0 } == true, "\(String(describing: restored)) vs \(activeAt)")
    }

    /// Every sample of every series `q` returns at `time`, by label set (without the tenant label
    /// Strata's series carry).
    static func vector(_ port: Int, _ q: String, time: Double) async throws -> [String: Double] {
        let enc = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let result = ((try await json(port, "/api/v1/query?query=\(enc)&time=\(time)")["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        var out: [String: Double] = [:]
        for r in result {
            var metric = r["metric"] as? [String: String] ?? [:]
            metric["tenant_id"] = nil
            out[metric.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")] = Double((r["value"] as? [Any])?.last as? String ?? "")
        }
        return out
    }

    /// The same rule file run by a real Prometheus 2.42 and by Strata over the same
    /// remote-written samples records the same series with the same values.
    @Test(.timeLimit(.minutes(3)))
    func recordedSeriesEqualPrometheus() async throws {
        guard let binary = strataBinary(), let prometheus = requiredTool("prometheus") else { return }
        let dir = try TempDir("rules-vs-prometheus"); defer { dir.remove() }
        let rules: [(String, String)] = [
            ("job:up:sum", "sum by (job) (up)"),
            ("job:requests:rate1m", "sum by (job) (rate(requests_total[1m]))"),
            ("instance:mem:ratio", "mem_used / on (instance, job) mem_total"),
            ("job:mem_used:max", "max by (job) (mem_used)"),
            ("up:count", "count(up)"),
            ("mem_used:quantile90", "quantile(0.9, mem_used)"),
            ("up:host", "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")"),
            ("latency:p50", "histogram_quantile(0.5, sum by (le) (rate(latency_bucket[1m])))"),
            ("up:total", "scalar(sum(up)) * 2"),
            ("job:up:sum:doubled", "job:up:sum * 2"),
        ]
        var file = "groups:\n  - name: compare\n    rules:\n"
        for (name, expr) in rules { file += "      - record: \(name)\n        expr: '\(expr.replacingOccurrences(of: "'", with: "''"))'\n        labels: {source: rules}\n" }
        try file.write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)

        let (prom, promPort) = try await startPrometheus(prometheus, dir: dir, extra: ["--web.enable-remote-write-receiver"]) { _ in
            "global:\n  evaluation_interval: 1s\nrule_files: ['\(dir.file("rules.yml"))']\n"
        }
        defer { prom.stop() }
        let (strata, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"),
                                                   extra: ["--rule-file", dir.file("rules.yml"), "--rules.evaluation-interval", "1s"])
        defer { strata.stop() }

        // Gauges that stay put and counters that grow at a fixed rate, from 5 minutes ago to 2
        // minutes ahead, so every evaluation of either server sees the same values.
        let now = WallClock.nowMillis()
        let times = stride(from: now - 300_000, through: now + 120_000, by: 15_000).map { $0 }
        var b = WriteRequestBuilder()
        for (i, instance) in ["a:9100", "b:9100", "c:9100"].enumerated() {
            let job = i < 2 ? "node" : "db"
            b.add([("__name__", "mem_total"), ("instance", instance), ("job", job)], times.map { ($0, 8e9) })
            b.add([("__name__", "mem_used"), ("instance", instance), ("job", job)], times.map { ($0, Double(i + 1) * 1e9) })
            b.add([("__name__", "requests_total"), ("instance", instance), ("job", job)], times.map { ($0, Double($0 - now + 300_000) / 1000 * Double(i + 1)) })
            b.add([("__name__", "up"), ("instance", instance), ("job", job)], times.map { ($0, i == 1 ? 0 : 1) })
        }
        for (le, perSecond) in [("0.1", 1.0), ("0.5", 3.0), ("1", 4.0), ("+Inf", 5.0)] {
            b.add([("__name__", "latency_bucket"), ("le", le)], times.map { ($0, Double($0 - now + 300_000) / 1000 * perSecond) })
        }
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        #expect(await postWrite(port: promPort, b.snappyBody()) == .noContent, "\(prom.log)")

        // Both have evaluated a few times; compare what they recorded, as of a moment ago.
        try await Self.eventually("both servers to record every rule") {
            let at = Double(WallClock.nowMillis()) / 1000 - 1
            for (name, _) in rules {
                if try await Self.vector(port, name, time: at).isEmpty { return false }
                if try await Self.vector(promPort, name, time: at).isEmpty { return false }
            }
            return true
        }
        let at = Double(WallClock.nowMillis()) / 1000 - 1
        for (name, _) in rules {
            let ours = try await Self.vector(port, name, time: at), theirs = try await Self.vector(promPort, name, time: at)
            #expect(ours.keys.sorted() == theirs.keys.sorted(), "\(name)")
            for (k, v) in theirs {
                let o = ours[k] ?? .nan
                #expect(abs(o - v) <= 1e-9 * max(1, abs(v)), "\(name) \(k): Strata \(o), Prometheus \(v)")
            }
        }
    }
}
