import AsyncHTTPClient
import Foundation
import NIOCore
import StrataModel
import StrataTestSupport
import Testing

/// Alerts reach a real Alertmanager (0.25, Debian's) through its v2 API: with the ruler's
/// external labels, the rendered annotations, a generator link, basic auth from a Prometheus
/// `alerting` configuration; resolutions as endsAt; a refused send counted per Alertmanager.
@Suite struct AlertmanagerNotificationTests {
    static func alertmanagerAlerts(_ port: Int) async throws -> [[String: Any]] {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v2/alerts")
        req.headers.add(name: "Authorization", value: "Basic " + Data("ruler:s3cret".utf8).base64EncodedString())
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
        let body = try await resp.body.collect(upTo: 1 << 20)
        return (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [[String: Any]]) ?? []
    }

    @Test(.timeLimit(.minutes(3)))
    func firingAndResolvedAlertsReachAlertmanager() async throws {
        guard let binary = strataBinary(), let alertmanager = requiredTool("prometheus-alertmanager"),
              let hash = try await htpasswdHash("s3cret") else { return }
        let dir = try TempDir("alertmanager"); defer { dir.remove() }
        let amPort = try Tools.freePort()
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(toFile: dir.file("am.yml"), atomically: true, encoding: .utf8)
        try "basic_auth_users:\n  ruler: \(hash)\n".write(toFile: dir.file("am-web.yml"), atomically: true, encoding: .utf8)
        let am = try startAlertmanager(alertmanager, dir: dir, port: amPort, extra: ["--web.config.file=\(dir.file("am-web.yml"))"])
        defer { am.stop() }

        // Fires for 3 of every 6 seconds: each cycle sends a firing alert, then its resolution.
        try """
        groups:
          - name: g
            interval: 1s
            rules:
              - alert: Flapping
                expr: vector(1) and on() (vector(time()) % 6 < 3)
                labels: {severity: page}
                annotations: {summary: "value {{ $value }} from {{ $externalLabels.cluster }}"}

        """.write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)
        try """
        global: {scrape_interval: 15s}
        scrape_configs: []
        alerting:
          alertmanagers:
          - basic_auth: {username: ruler, password_file: am-password}
            static_configs:
            - targets: ['127.0.0.1:\(amPort)']

        """.write(toFile: dir.file("prometheus.yml"), atomically: true, encoding: .utf8)
        try "s3cret\n".write(toFile: dir.file("am-password"), atomically: true, encoding: .utf8)
        let (strata, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"), extra: [
            "--rule-file", dir.file("rules.yml"), "--label", "cluster=\"lab\"", "--web.external-url", "http://strata.example:9090/",
            "--alertmanager.config-file", dir.file("prometheus.yml"),
            // The same Alertmanager under another name, with a wrong password: refused, counted.
            "--alertmanager.url", "http://ruler:wrong@localhost:\(amPort)",
        ])
        defer { strata.stop() }

        var seen: [String: Any]?
        // 90 s: the alert is active 3 s in every 6, and a suite that keeps both cores busy can
        // delay evaluations and deliveries past a few of those windows.
        let deadline = Date().addingTimeInterval(90)
        while seen == nil && Date() < deadline {
            seen = try await Self.alertmanagerAlerts(amPort).first { ($0["labels"] as? [String: String])?["alertname"] == "Flapping" }
            if seen == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        let alert = try #require(seen, "no alert reached Alertmanager:\n\(strata.log)\n\(am.log)")
        #expect(alert["labels"] as? [String: String] == ["alertname": "Flapping", "severity": "page", "cluster": "lab", "tenant_id": "default-tenant"])
        #expect(alert["annotations"] as? [String: String] == ["summary": "value 1 from lab"])
        #expect(alert["generatorURL"] as? String == "http://strata.example:9090/graph?g0.expr=vector%281%29+and+on+%28%29+%28vector%28time%28%29%29+%25+6+%3C+3%29&g0.tab=1")

        // Then it resolves: Alertmanager drops it from its active alerts.
        var resolved = false
        let resolveDeadline = Date().addingTimeInterval(40)
        while !resolved && Date() < resolveDeadline {
            resolved = try await !Self.alertmanagerAlerts(amPort).contains { ($0["labels"] as? [String: String])?["alertname"] == "Flapping" }
            if !resolved { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(resolved, "the resolution did not reach Alertmanager")

        let metrics = try await RulesEndToEndTests.request(port, "/metrics").body
        #expect(metrics.contains("prometheus_notifications_alertmanagers_discovered 2"))
        let good = metrics.split(separator: "\n").first { $0.hasPrefix("prometheus_notifications_sent_total{alertmanager=\"http://127.0.0.1:\(amPort)/api/v2/alerts\"}") }
        #expect(good.map { !$0.hasSuffix(" 0") } == true, "\(metrics)")
        let refused = metrics.split(separator: "\n").first { $0.hasPrefix("prometheus_notifications_errors_total{alertmanager=\"http://localhost:\(amPort)/api/v2/alerts\"}") }
        #expect(refused.map { !$0.hasSuffix(" 0") } == true, "\(metrics)")
        #expect(!metrics.contains("wrong"), "credentials stay out of metrics")
        let config = try await RulesEndToEndTests.request(port, "/api/v1/status/config").body
        #expect(config.contains("127.0.0.1:\(amPort)/api/v2/alerts") && !config.contains("wrong") && !config.contains("s3cret"))
    }

    @Test func badAlertmanagerSettingsStopTheStart() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("alertmanager-flags"); defer { dir.remove() }
        try "alerting:\n  alertmanagers:\n  - api_version: v1\n    static_configs: [{targets: [a:9093]}]\n".write(toFile: dir.file("v1.yml"), atomically: true, encoding: .utf8)
        try "alerting:\n  alertmanagers:\n  - static_configs: [{targets: [a:9093]}]\n    timeout: soon\n".write(toFile: dir.file("timeout.yml"), atomically: true, encoding: .utf8)
        try "alerting:\n  alertmanagers:\n  - scheme: https\n    tls_config: {ca_file: nope.crt}\n    static_configs: [{targets: [a:9093]}]\n"
            .write(toFile: dir.file("badca.yml"), atomically: true, encoding: .utf8)
        for (args, message) in [
            (["--alertmanager.url", "ftp://a:9093"], "want http://host:port"),
            (["--alertmanager.config-file", dir.file("v1.yml")], "only v2 is supported"),
            (["--alertmanager.config-file", dir.file("timeout.yml")], "not a valid duration string"),
            (["--alertmanager.config-file", dir.file("missing.yml")], "no such file"),
            (["--alertmanager.notification-queue-capacity", "0"], "must be positive"),
            (["--alertmanager.config-file", dir.file("badca.yml")], "tls_config.ca_file \(dir.file("nope.crt"))"),
        ] {
            let r = try await Tools.runAsync(binary, ["serve", "--tsdb.path", dir.file("data"), "--http-address", "127.0.0.1:0"] + args, timeout: 30)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    /// An Alertmanager behind TLS: trusted through `tls_config.ca_file`, refused without it.
    @Test(.timeLimit(.minutes(2)))
    func alertsReachAnAlertmanagerBehindTLS() async throws {
        guard let binary = strataBinary(), let alertmanager = requiredTool("prometheus-alertmanager") else { return }
        let dir = try TempDir("alertmanager-tls"); defer { dir.remove() }
        guard let pki = TestPKI.make(dir) else { return }
        try await pki.ca("ca")
        try await pki.certificate("am", signedBy: "ca")
        let amPort = try Tools.freePort()
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(toFile: dir.file("am.yml"), atomically: true, encoding: .utf8)
        try "tls_server_config:\n  cert_file: \(dir.file("am.crt"))\n  key_file: \(dir.file("am.key"))\n"
            .write(toFile: dir.file("am-web.yml"), atomically: true, encoding: .utf8)
        let am = try startAlertmanager(alertmanager, dir: dir, port: amPort, extra: ["--web.config.file=\(dir.file("am-web.yml"))"])
        defer { am.stop() }
        try "groups:\n- name: g\n  interval: 1s\n  rules:\n  - alert: A\n    expr: vector(1)\n".write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)
        try """
        alerting:
          alertmanagers:
          - scheme: https
            tls_config: {ca_file: ca.crt}
            static_configs: [{targets: ['127.0.0.1:\(amPort)']}]
          - scheme: https
            static_configs: [{targets: ['localhost:\(amPort)']}]

        """.write(toFile: dir.file("prometheus.yml"), atomically: true, encoding: .utf8)
        let (strata, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"),
                                                   extra: ["--rule-file", dir.file("rules.yml"), "--alertmanager.config-file", dir.file("prometheus.yml")])
        defer { strata.stop() }
        func counter(_ name: String, _ host: String) async throws -> Double? {
            let metrics = try await RulesEndToEndTests.request(port, "/metrics").body
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("\(name){alertmanager=\"https://\(host):\(amPort)/api/v2/alerts\"}") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        try await RulesEndToEndTests.eventually("alerts to be sent over TLS") {
            (try await counter("prometheus_notifications_sent_total", "127.0.0.1") ?? 0) > 0
        }
        try await RulesEndToEndTests.eventually("the untrusted Alertmanager to be refused") {
            (try await counter("prometheus_notifications_errors_total", "localhost") ?? 0) > 0
        }
        #expect(try await counter("prometheus_notifications_errors_total", "127.0.0.1") == 0, "\(strata.log)")
        #expect(try await counter("prometheus_notifications_sent_total", "localhost") == 0)
    }

    /// Through Alertmanager to the webhook it routes to (a receiver the test runs): the alert is
    /// pending, fires after `for` and is delivered with its labels and rendered annotations; after
    /// a restart it fires again at once (its `for` state restored, not pending for `for` again);
    /// it resolves when the condition ends, and the webhook hears that too.
    @Test(.timeLimit(.minutes(3)))
    func anAlertReachesAWebhookFiresAgainAfterARestartAndResolves() async throws {
        guard let binary = strataBinary(), let alertmanager = requiredTool("prometheus-alertmanager"),
              let python = PythonServer.interpreter(importing: ["http.server"]) else { return }
        let dir = try TempDir("alertmanager-webhook"); defer { dir.remove() }
        let hookPort = try Tools.freePort(), amPort = try Tools.freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/alertmanager_webhook.py").path
        let hook = try PythonServer(python: python, .script(script), arguments: [String(hookPort), dir.file("hook.log")], name: "webhook")
        defer { hook.process.terminate() }
        try """
        route: {receiver: hook, group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
        receivers:
          - name: hook
            webhook_configs: [{url: 'http://127.0.0.1:\(hookPort)/', send_resolved: true}]

        """.write(toFile: dir.file("am.yml"), atomically: true, encoding: .utf8)
        let am = try startAlertmanager(alertmanager, dir: dir, port: amPort)
        defer { am.stop() }
        try """
        groups:
          - name: g
            interval: 1s
            rules:
              - alert: Broken
                expr: cond == 1
                for: 20s
                labels: {severity: page}
                annotations: {summary: "{{ $labels.instance }} broken ({{ $value }})"}

        """.write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)
        let args = ["--rule-file", dir.file("rules.yml"), "--alertmanager.url", "http://127.0.0.1:\(amPort)",
                    "--rules.alert.for-grace-period", "1s", "--rules.alert.resend-delay", "2s"]
        var (strata, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve.log"), extra: args)
        defer { strata.stop() } // whichever process runs when the test ends
        func writeCondition(_ v: Double) async {
            var b = WriteRequestBuilder()
            b.add([("__name__", "cond"), ("instance", "db-1")], [(WallClock.nowMillis(), v)])
            #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
        }
        func state() async throws -> String? {
            let alerts = (try await RulesEndToEndTests.json(port, "/api/v1/alerts")["data"] as? [String: Any])?["alerts"] as? [[String: Any]]
            return alerts?.first?["state"] as? String
        }
        func delivered() -> [[String: Any]] {
            let text = (try? String(contentsOfFile: dir.file("hook.log"), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        await writeCondition(1)
        try await RulesEndToEndTests.eventually("the alert to be pending") { try await state() == "pending" }
        #expect(delivered().isEmpty, "a pending alert is not sent")
        var firing: [String: Any]?
        let deadline = Date().addingTimeInterval(60)
        while firing == nil && Date() < deadline {
            firing = delivered().first { ($0["status"] as? String) == "firing" }
            if firing == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        let alert = try #require((firing?["alerts"] as? [[String: Any]])?.first, "nothing delivered:\n\(am.log)")
        #expect(alert["labels"] as? [String: String] == ["alertname": "Broken", "instance": "db-1", "severity": "page", "tenant_id": "default-tenant"])
        #expect(alert["annotations"] as? [String: String] == ["summary": "db-1 broken (1)"])

        // Restarted within the outage tolerance: firing again long before `for` (20 s) could pass.
        await strata.stopAsync()
        (strata, port) = try await startStrata(binary, dataDir: dir.file("data"), log: dir.file("serve2.log"), extra: args)
        let restarted = Date()
        try await RulesEndToEndTests.eventually("the alert to fire again") { try await state() == "firing" }
        // Its for-clock was restored: active since before the restart, not pending anew (judged
        // on the alert's own activeAt, which a slow restart on a busy machine does not move).
        let activeAt = try #require(try await RulesEndToEndTests.activeAt(port, "Broken"))
        #expect(activeAt < restarted, "the alert went through `for` again: active at \(activeAt), restarted at \(restarted)")

        // The condition ends: resolved at Strata, and Alertmanager tells the webhook.
        await writeCondition(0)
        var resolved = false
        while !resolved && Date() < deadline.addingTimeInterval(60) {
            resolved = delivered().contains { ($0["status"] as? String) == "resolved" }
            if !resolved { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(resolved, "no resolved notification:\n\(am.log)")
    }
}

/// A real Alertmanager on `port` with `dir/am.yml`, its data and log in `dir`, clustering off.
private func startAlertmanager(_ binary: String, dir: TempDir, port: Int, extra: [String] = []) throws -> ChildProcess {
    try ChildProcess(binary, [
        "--config.file=\(dir.file("am.yml"))", "--storage.path=\(dir.file("am-data"))",
        "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
    ] + extra, logPath: dir.file("am.log"))
}
