import Foundation
import Logging
import StrataModel
import StrataTestSupport
import Testing
@testable import StrataRules

/// The notifier's queue and the ways Alertmanagers are named (sending itself is tested against a
/// real Alertmanager in StrataServerTests).
@Suite struct NotifierTests {
    static func alert(_ name: String, _ labels: [String: String] = [:]) -> NotifierAlert {
        NotifierAlert(labels: Labels(labels.merging(["alertname": name]) { a, _ in a }), annotations: .empty,
                      startsAt: 0, endsAt: 60_000, generatorURL: "")
    }

    @Test func aFullQueueDropsTheOldestAlertsAndCountsThem() throws {
        var options = Notifier.Options()
        options.queueCapacity = 3
        options.externalLabels = ["cluster": "lab", "severity": "external"]
        let n = try Notifier(endpoints: [], options: options, logger: Logger(label: "test"))
        n.send((0 ..< 5).map { Self.alert("A\($0)", ["severity": "page"]) })
        #expect(n.queueLength == 3 && n.dropped == 2)
        #expect(n.metricsText().contains("prometheus_notifications_dropped_total 2\n"))
        #expect(n.metricsText().contains("prometheus_notifications_queue_length 3\n"))
        // The newest three stay, and that is what the body sent holds.
        let body = String(decoding: Notifier.json(n.queued), as: UTF8.self)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
        #expect(decoded.map { ($0["labels"] as? [String: String])?["alertname"] } == ["A2", "A3", "A4"])
        #expect(decoded[0]["startsAt"] as? String == "1970-01-01T00:00:00Z" && decoded[0]["endsAt"] as? String == "1970-01-01T00:01:00Z")
    }

    @Test func externalLabelsAreAddedOnlyWhereAnAlertLacksThem() throws {
        var options = Notifier.Options()
        options.externalLabels = ["cluster": "lab", "severity": "external"]
        let n = try Notifier(endpoints: [], options: options, logger: Logger(label: "test"))
        n.send([Self.alert("A", ["severity": "page"])])
        #expect(n.queued.map(\.labels) == [Labels(["alertname": "A", "cluster": "lab", "severity": "page"])])
    }

    @Test func alertmanagerURLsCarryCredentialsAsBasicAuth() throws {
        let e = try AlertmanagerEndpoint.parse(flag: "https://user:p%40ss@am.example:9093/prefix/")
        #expect(e.url == "https://am.example:9093/prefix/api/v2/alerts")
        #expect(e.basicAuth == AlertmanagerEndpoint.BasicAuth(username: "user", password: "p@ss"))
        #expect(throws: AlertmanagerConfigError.self) { try AlertmanagerEndpoint.parse(flag: "am.example:9093") }
    }

    @Test func prometheusAlertingSectionsAreRead() throws {
        let dir = try TempDir("am-config"); defer { dir.remove() }
        try "tok3n\n".write(toFile: dir.file("token"), atomically: true, encoding: .utf8)
        try """
        global: {evaluation_interval: 30s}
        scrape_configs: [{job_name: x}]
        alerting:
          alertmanagers:
          - scheme: https
            path_prefix: am/
            timeout: 3s
            authorization: {credentials_file: token}
            tls_config: {insecure_skip_verify: true}
            static_configs:
            - targets: [a:9093, b:9093]
          - static_configs: [{targets: ['c:9093']}]
            basic_auth: {username: u, password: p}

        """.write(toFile: dir.file("prometheus.yml"), atomically: true, encoding: .utf8)
        let all = try AlertmanagerEndpoint.load(configFile: dir.file("prometheus.yml"))
        #expect(all.map(\.url) == ["https://a:9093/am/api/v2/alerts", "https://b:9093/am/api/v2/alerts", "http://c:9093/api/v2/alerts"])
        #expect(all[0].timeout == 3000 && all[0].authorization?.type == "Bearer" && all[0].authorization?.credentials == "tok3n")
        #expect(all[0].tls.insecureSkipVerify && all[2].basicAuth?.username == "u" && all[2].timeout == 10_000)

        try "alerting:\n  alertmanagers:\n  - static_configs: [{targets: [a]}]\n    nonsense: 1\n".write(toFile: dir.file("bad.yml"), atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try AlertmanagerEndpoint.load(configFile: dir.file("bad.yml")) }
        try "alerting:\n  alert_relabel_configs: [{action: drop}]\n".write(toFile: dir.file("relabel.yml"), atomically: true, encoding: .utf8)
        #expect(throws: AlertmanagerConfigError.self) { try AlertmanagerEndpoint.load(configFile: dir.file("relabel.yml")) }
    }

    @Test func ruleAlertsBecomeNotificationsAsPrometheusSendsThem() {
        var firing = Alert(labels: Labels(["alertname": "A"]), annotations: .empty, state: .firing, value: 1, activeAt: 1000)
        firing.firedAt = 5000
        firing.validUntil = 245_000
        var resolved = firing
        resolved.resolvedAt = 9000
        let out = Notifier.alerts([firing, resolved], expr: "up == 0", externalURL: "http://s:9090")
        #expect(out.map(\.startsAt) == [5000, 5000] && out.map(\.endsAt) == [245_000, 9000])
        #expect(out[0].generatorURL == "http://s:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1")
    }
}
