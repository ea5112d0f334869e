import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import StrataTestSupport
import Synchronization
import Testing
@testable import StrataRules

/// Rule groups evaluated step by step on in-memory storage, checked against what Prometheus'
/// rule manager does at each step.
@Suite struct RuleEvaluationTests {
    static let minute: Int64 = 60_000

    /// A group from rule-file text (one group), evaluated on `storage`.
    static func group(_ yaml: String, restored: Bool = true, queryOffset: Int64 = 0) throws -> RuleGroup {
        let file = try RuleFileParser(checkTemplate: AlertTemplates.parseCheck).parse(yaml, path: "test.yml")
        return RuleGroup(file.groups[0], file: "test.yml", interval: minute, queryOffset: queryOffset, restored: restored)
    }

    static func context(_ storage: MemoryStorage) -> RuleEvaluationContext {
        RuleEvaluationContext(engine: Engine(), queryable: storage, templater: GoAlertTemplater(externalLabels: ["site": "lab"]))
    }

    static func series(_ storage: MemoryStorage, _ name: String) -> [(labels: Labels, samples: [Sample])] {
        storage.allSeries.filter { $0.labels.metricName == name }
    }

    @Test func recordingRulesWriteAtTheEvaluationTimeAndMarkVanishedSeriesStale() throws {
        let storage = MemoryStorage()
        for (i, v) in [1.0, 2, 3].enumerated() {
            storage.add(Labels(["__name__": "up", "job": "a", "instance": "x"]), [Sample(t: Int64(i) * Self.minute, v: v)])
        }
        storage.add(Labels(["__name__": "up", "job": "b", "instance": "y"]), [Sample(t: 0, v: 5)])
        let g = try Self.group("""
        groups:
        - name: rec
          rules:
          - record: job:up:sum
            expr: sum by (job) (up)
            labels: {source: rules}
          - record: job:up:double
            expr: job:up:sum * 2
        """)
        let output = RuleGroupOutput(appendable: storage)
        g.evaluate(at: 0, Self.context(storage), output)
        g.evaluate(at: 2 * Self.minute, Self.context(storage), output)
        // `job="b"` has no sample within 5m of 6m: its recorded series gets a stale marker then.
        g.evaluate(at: 6 * Self.minute, Self.context(storage), output)

        let sums = Self.series(storage, "job:up:sum")
        #expect(sums.map(\.labels) == [Labels(["__name__": "job:up:sum", "job": "a", "source": "rules"]),
                                       Labels(["__name__": "job:up:sum", "job": "b", "source": "rules"])])
        #expect(sums[0].samples.map(\.t) == [0, 2 * Self.minute, 6 * Self.minute])
        #expect(sums[0].samples.map(\.v) == [1, 3, 3])
        #expect(sums[1].samples.map(\.t) == [0, 2 * Self.minute, 6 * Self.minute])
        #expect(StaleNaN.isStale(sums[1].samples[2].v))
        // The second rule saw the first rule's output of the same evaluation.
        let doubles = Self.series(storage, "job:up:double")
        #expect(doubles.first { $0.labels.get("job") == "a" }?.samples.map(\.v).prefix(2) == [2, 6])
        #expect(g.rules.allSatisfy { $0.status.health == .ok && $0.status.lastError == nil })
        #expect(g.snapshot.evaluations == 6 && g.snapshot.iterations == 3)
    }

    @Test func anAlertIsPendingThenFiresAfterForThenResolvesAndIsForgottenAfter15Minutes() throws {
        let storage = MemoryStorage()
        let labels = Labels(["__name__": "up", "job": "a", "instance": "x"])
        // Down (0) from 0 to 5m, up again from 6m.
        for m in 0 ... 30 { storage.add(labels, [Sample(t: Int64(m) * Self.minute, v: m <= 5 ? 0 : 1)]) }
        let g = try Self.group("""
        groups:
        - name: alerts
          rules:
          - alert: InstanceDown
            expr: up == 0
            for: 3m
            labels: {severity: page, instance: "{{ $labels.instance }}-{{ $externalLabels.site }}"}
            annotations: {summary: "{{ $labels.job }} down, value {{ $value }}"}
        """)
        let rule = try #require(g.rules[0] as? AlertingRule)
        let output = RuleGroupOutput(appendable: storage)
        func at(_ m: Int64) { g.evaluate(at: m * Self.minute, Self.context(storage), output) }

        at(0)
        #expect(rule.alerts.map(\.state) == [.pending])
        let alert = rule.alerts[0]
        #expect(alert.labels == Labels(["alertname": "InstanceDown", "instance": "x-lab", "job": "a", "severity": "page"]))
        #expect(alert.annotations == Labels(["summary": "a down, value 0"]))
        at(2)
        #expect(rule.alerts.map(\.state) == [.pending])
        at(3)
        #expect(rule.alerts.map(\.state) == [.firing] && rule.alerts[0].firedAt == 3 * Self.minute && rule.alerts[0].activeAt == 0)
        at(6)
        #expect(rule.alerts.map(\.state) == [.inactive] && rule.alerts[0].resolvedAt == 6 * Self.minute)
        #expect(rule.alertState == .inactive)
        at(21)
        #expect(rule.alerts.count == 1, "kept 15 minutes after resolving")
        at(22)
        #expect(rule.alerts.isEmpty)

        // ALERTS: pending at 0 and 2, firing at 3; ALERTS_FOR_STATE holds activeAt in seconds.
        let pending = Self.series(storage, "ALERTS").first { $0.labels.get("alertstate") == "pending" }
        let firing = Self.series(storage, "ALERTS").first { $0.labels.get("alertstate") == "firing" }
        #expect(pending?.samples.filter { !StaleNaN.isStale($0.v) }.map(\.t) == [0, 2 * Self.minute])
        #expect(firing?.samples.first?.t == 3 * Self.minute)
        #expect(firing?.labels == Labels(["__name__": "ALERTS", "alertname": "InstanceDown", "alertstate": "firing",
                                          "instance": "x-lab", "job": "a", "severity": "page"]))
        // The pending series went stale when the alert fired, the firing one when it resolved.
        #expect(pending.map { StaleNaN.isStale($0.samples.last!.v) } == true)
        #expect(firing.map { StaleNaN.isStale($0.samples.last!.v) && $0.samples.last!.t == 6 * Self.minute } == true)
        #expect(Self.series(storage, "ALERTS_FOR_STATE").first?.samples.first?.v == 0)
    }

    @Test func keepFiringForHoldsAFiringAlertAfterItsConditionClears() throws {
        let storage = MemoryStorage()
        for m in 0 ... 10 { storage.add(Labels(["__name__": "errors"]), [Sample(t: Int64(m) * Self.minute, v: m < 2 ? 1 : 0)]) }
        let g = try Self.group("""
        groups:
        - name: g
          rules:
          - alert: Errors
            expr: errors > 0
            keep_firing_for: 3m
        """)
        let rule = try #require(g.rules[0] as? AlertingRule)
        for m: Int64 in 0 ... 6 {
            g.evaluate(at: m * Self.minute, Self.context(storage), RuleGroupOutput(appendable: storage))
            let state = rule.alerts.first?.state
            switch m {
            case 0, 1: #expect(state == .firing && rule.alerts[0].keepFiringSince == nil, "minute \(m)")
            case 2, 3, 4: #expect(state == .firing && rule.alerts[0].keepFiringSince == 2 * Self.minute, "minute \(m)")
            default: #expect(state == .inactive, "minute \(m)")
            }
        }
    }

    @Test func limitsAndDuplicateLabelSetsFailTheRuleWithPrometheusMessages() throws {
        let storage = MemoryStorage()
        for i in 0 ..< 3 { storage.add(Labels(["__name__": "x", "i": "\(i)"]), [Sample(t: 0, v: 1)]) }
        let g = try Self.group("""
        groups:
        - name: g
          limit: 2
          rules:
          - record: r
            expr: x
          - alert: A
            expr: x
          - record: dup
            expr: x * 0 + on(i) group_left x
            labels: {i: same}
          - record: fine
            expr: sum(x)
        """)
        g.evaluate(at: 0, Self.context(storage), RuleGroupOutput(appendable: storage))
        let status = g.rules.map(\.status)
        #expect(status[0].health == .err && status[0].lastError == "exceeded limit of 2 with 3 series")
        #expect(status[1].lastError == "exceeded limit of 2 with 3 alerts")
        #expect(status[2].lastError == "vector contains metrics with the same labelset after applying rule labels")
        #expect(status[3].health == .ok)
        #expect(Self.series(storage, "r").isEmpty && Self.series(storage, "fine").count == 1)
        #expect(g.snapshot.failures == 3)
        #expect((g.rules[1] as? AlertingRule)?.alerts.isEmpty == true)
    }

    @Test func aQueryOffsetEvaluatesAndStoresEarlier() throws {
        let storage = MemoryStorage()
        storage.add(Labels(["__name__": "x"]), [Sample(t: 0, v: 7)])
        let g = try Self.group("groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: y\n    expr: x\n")
        g.evaluate(at: 2 * Self.minute, Self.context(storage), RuleGroupOutput(appendable: storage))
        #expect(Self.series(storage, "y").first?.samples == [Sample(t: Self.minute, v: 7)])
    }

    @Test func evaluationTimesAreAlignedToAStablePerGroupOffset() throws {
        let g = try Self.group("groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: y\n    expr: vector(1)\n")
        let t0 = g.evalTimestamp(at: 1_700_000_000_000)
        #expect(t0 <= 1_700_000_000_000 && t0 > 1_700_000_000_000 - 30_000)
        #expect(g.evalTimestamp(at: t0 + 29_999) == t0 && g.evalTimestamp(at: t0 + 30_000) == t0 + 30_000)
        let other = RuleGroup(file: "other.yml", name: "g", interval: 30_000, queryOffset: 0, limit: 0, rules: [])
        #expect(other.evalTimestamp(at: 1_700_000_000_000) != t0, "groups spread over the interval")
    }

    @Test func alertsAreSentWhenFiringAgainAfterTheResendDelayAndWhenResolved() throws {
        let storage = MemoryStorage()
        for m in 0 ... 10 { storage.add(Labels(["__name__": "x"]), [Sample(t: Int64(m) * Self.minute, v: m < 5 ? 1 : 0)]) }
        let g = try Self.group("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 0\n")
        let sent = SentAlerts()
        let output = RuleGroupOutput(appendable: storage, resendDelay: 2 * Self.minute) { _, alerts in sent.add(alerts) }
        for m: Int64 in 0 ... 6 { g.evaluate(at: m * Self.minute, Self.context(storage), output) }
        // Sent when it fired (0), again once the resend delay passed (3), resolved at 5, and
        // the resolved alert once more when the delay passed again.
        #expect(sent.all.map(\.lastSentAt) == [0, 3, 5].map { $0 * Self.minute })
        #expect(sent.all.map(\.state) == [.firing, .firing, .inactive])
        #expect(sent.all[0].validUntil == 8 * Self.minute, "4 × max(resend delay, interval)")
        #expect(sent.all[2].resolvedAt == 5 * Self.minute)
    }

    @Test func forStateIsRestoredFromAlertsForStateAfterARestart() throws {
        let storage = MemoryStorage()
        let t = 100 * Self.minute
        for m in 0 ... 100 { storage.add(Labels(["__name__": "x"]), [Sample(t: Int64(m) * Self.minute, v: 1)]) }
        // Before the restart the alert had been active since 60m; the server was down from 90m.
        for m in 60 ... 90 {
            storage.add(Labels(["__name__": "ALERTS_FOR_STATE", "alertname": "Long"]), [Sample(t: Int64(m) * Self.minute, v: 3600)])
        }
        let g = try Self.group("groups:\n- name: g\n  rules:\n  - alert: Long\n    expr: x > 0\n    for: 1h\n", restored: false)
        let rule = try #require(g.rules[0] as? AlertingRule)
        g.evaluate(at: t, Self.context(storage), RuleGroupOutput(appendable: storage))
        #expect(Self.series(storage, "ALERTS").isEmpty, "no ALERTS until the state is restored")
        let querier = try storage.querier(mint: t - 60 * Self.minute, maxt: t)
        rule.restoreForState(at: t, mint: t - 60 * Self.minute, querier: querier, forGracePeriod: 10 * Self.minute)
        // 30 of the 60 minutes were spent pending before the outage; the 10-minute outage is
        // added to activeAt, so 30 minutes remain from now.
        #expect(rule.alerts[0].activeAt == 70 * Self.minute)
        #expect(rule.isRestored)
        g.evaluate(at: t + Self.minute, Self.context(storage), RuleGroupOutput(appendable: storage))
        #expect(rule.alerts[0].state == .pending && !Self.series(storage, "ALERTS").isEmpty)
    }
}

/// What a group handed to its notifier, in order.
final class SentAlerts: Sendable {
    private let alerts = Mutex<[Alert]>([])
    func add(_ a: [Alert]) { alerts.withLock { $0 += a } }
    var all: [Alert] { alerts.withLock { $0 } }
}
