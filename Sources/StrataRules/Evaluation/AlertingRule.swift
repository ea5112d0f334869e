import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import Synchronization

/// Renders an alerting rule's label and annotation templates for one alert, as Prometheus'
/// rules do (Go's `text/template` with `$labels`, `$value`, `$externalLabels`, `$externalURL`).
public protocol AlertTemplater: Sendable {
    /// The rendered text; a template that fails renders as Prometheus renders it
    /// (`<error expanding template: …>`).
    func expand(_ text: String, alertName: String, labels: Labels, value: Double, at t: Int64,
                query: @escaping @Sendable (String, Int64) throws -> [VectorElement]) -> String
}

/// `alert:` — each element of the expression's result is an alert: pending at first, firing once
/// it has lasted `for`, kept firing `keep_firing_for` after it went away, and remembered for 15
/// minutes after it resolved so Alertmanager hears of the resolution.
public final class AlertingRule: Rule {
    public let spec: RuleSpec
    /// The rule's labels (group labels under its own), sorted, before templating.
    public let labelTemplates: [(String, String)]
    let annotationTemplates: [(String, String)]

    struct State {
        var status = RuleEvaluationStatus()
        /// By the hash of the alert's labels.
        var active: [Labels: Alert] = [:]
        /// False until `for` state has been restored after a start: no ALERTS series until then.
        var restored: Bool
    }
    private let state: Mutex<State>

    /// How long a resolved alert is kept to be sent again.
    static let resolvedRetention: Int64 = 15 * 60_000

    public init(spec: RuleSpec, groupLabels: [String: String] = [:], restored: Bool = true) {
        self.spec = spec
        labelTemplates = groupLabels.merging(spec.labels) { _, rule in rule }.sorted { $0.key < $1.key }
        annotationTemplates = spec.annotations.sorted { $0.key < $1.key }
        state = Mutex(State(restored: restored))
    }

    public var status: RuleEvaluationStatus { state.withLock { $0.status } }
    public func setStatus(_ update: (inout RuleEvaluationStatus) -> Void) { state.withLock { update(&$0.status) } }

    /// The alerts pending or firing (and resolved ones still remembered), by labels.
    public var alerts: [Alert] { state.withLock { Array($0.active.values) }.sorted { $0.labels < $1.labels } }
    public var isRestored: Bool { state.withLock { $0.restored } }
    func setRestored() { state.withLock { $0.restored = true } }

    /// Takes over the alerts of the same rule before a reload (Prometheus' `CopyState`).
    func takeAlerts(from old: AlertingRule) {
        let (active, restored) = old.state.withLock { ($0.active, $0.restored) }
        state.withLock { s in
            s.active = active
            s.restored = s.restored || restored
        }
    }

    /// The highest state of the rule's alerts.
    public var alertState: AlertState {
        state.withLock { $0.active.values.map(\.state).max() ?? .inactive }
    }

    public func evaluate(at t: Int64, queryOffset: Int64, _ context: RuleEvaluationContext) throws(RuleError) -> [VectorElement] {
        let queryTime = t - queryOffset
        let result = try context.query(spec.parsed, at: queryTime)
        let query: @Sendable (String, Int64) throws -> [VectorElement] = { text, at in
            try context.query(PromQLParser.parse(text), at: at)
        }
        var fresh: [Labels: Alert] = [:]
        fresh.reserveCapacity(result.count)
        for element in result {
            let expand = { (text: String) in
                context.templater.expand(text, alertName: self.spec.name, labels: element.labels, value: element.v, at: t, query: query)
            }
            var b = LabelsBuilder(element.labels)
            b.delete("__name__")
            for (k, v) in labelTemplates { b.set(k, expand(v)) }
            b.set("alertname", spec.name)
            var annotations = LabelsBuilder()
            for (k, v) in annotationTemplates { annotations.set(k, expand(v)) }
            let labels = b.labels()
            guard fresh[labels] == nil else {
                throw RuleError("vector contains metrics with the same labelset after applying alert labels")
            }
            fresh[labels] = Alert(labels: labels, annotations: annotations.labels(), state: .pending, value: element.v, activeAt: t)
        }

        return try state.withLock { (s) throws(RuleError) -> [VectorElement] in
            for (key, alert) in fresh {
                if var known = s.active[key], known.state != .inactive {
                    known.value = alert.value
                    known.annotations = alert.annotations
                    s.active[key] = known
                } else {
                    s.active[key] = alert
                }
            }
            var out: [VectorElement] = []
            var activePending = 0
            for key in Array(s.active.keys) {
                guard var a = s.active[key] else { continue }
                if fresh[key] == nil {
                    var keepFiring = false
                    if a.state == .firing && spec.keepFiringFor > 0 {
                        let since = a.keepFiringSince ?? t
                        a.keepFiringSince = since
                        keepFiring = t - since < spec.keepFiringFor
                    }
                    if a.state == .pending || (a.resolvedAt.map { t - $0 > Self.resolvedRetention } ?? false) {
                        s.active[key] = nil
                        continue
                    }
                    if a.state != .inactive && !keepFiring {
                        a.state = .inactive
                        a.resolvedAt = t
                    }
                    s.active[key] = a
                    if !keepFiring { continue }
                } else {
                    a.keepFiringSince = nil
                }
                activePending += 1
                if a.state == .pending && t - a.activeAt >= spec.forDuration {
                    a.state = .firing
                    a.firedAt = t
                }
                s.active[key] = a
                if s.restored {
                    out.append(VectorElement(labels: seriesLabels(a, name: "ALERTS", state: a.state), t: queryTime, v: 1))
                    out.append(VectorElement(labels: seriesLabels(a, name: "ALERTS_FOR_STATE", state: nil), t: queryTime,
                                             v: Double(a.activeAt.floorDiv(1000))))
                }
            }
            if context.limit > 0 && activePending > context.limit {
                s.active = [:]
                throw RuleError("exceeded limit of \(context.limit) with \(activePending) alerts")
            }
            return out
        }
    }

    /// `ALERTS{alertstate=…}` or `ALERTS_FOR_STATE` for an alert: the rule's labels, then the
    /// alert's over them.
    func seriesLabels(_ alert: Alert, name: String, state: AlertState?) -> Labels {
        var b = LabelsBuilder()
        for (k, v) in labelTemplates { b.set(k, v) }
        alert.labels.forEach { k, v in b.set(k, v) }
        b.set("__name__", name)
        b.set("alertname", spec.name)
        if let state { b.set("alertstate", state.rawValue) }
        return b.labels()
    }

    /// The alerts due to Alertmanager after an evaluation at `t`, marked as sent: each valid for
    /// four times the longer of the resend delay and the group's interval.
    func alertsToSend(at t: Int64, resendDelay: Int64, interval: Int64) -> [Alert] {
        state.withLock { s in
            var out: [Alert] = []
            for (key, var a) in s.active where a.needsSending(at: t, resendDelay: resendDelay) {
                a.lastSentAt = t
                a.validUntil = t + 4 * max(resendDelay, interval)
                s.active[key] = a
                out.append(a)
            }
            return out.sorted { $0.labels < $1.labels }
        }
    }

    /// Restores the `activeAt` of alerts that were active before a restart, from the newest
    /// `ALERTS_FOR_STATE` sample in `[mint, t]` (Prometheus' `RestoreForState`; `mint` is `t`
    /// less `--rules.alert.for-outage-tolerance`).
    func restoreForState(at t: Int64, mint: Int64, querier: any Querier, forGracePeriod: Int64) {
        defer { setRestored() }
        guard spec.forDuration >= forGracePeriod else { return }
        state.withLock { s in
            for (key, var a) in s.active {
                var matchers: [LabelMatcher] = []
                let wanted = seriesLabels(a, name: "ALERTS_FOR_STATE", state: nil)
                wanted.forEach { k, v in if let m = try? LabelMatcher(.equal, k, v) { matchers.append(m) } }
                var samples: [Sample] = []
                guard let series = try? querier.select(matchers, hints: SelectHints(mint: mint, maxt: t)),
                      // Every match carries the alert's labels; the stored series is the one with
                      // nothing else but what the storage adds to all (external labels).
                      let found = series.min(by: { $0.labels.count < $1.labels.count }),
                      (try? found.samples(mint: mint, maxt: t, into: &samples)) != nil,
                      let last = samples.last, !StaleNaN.isStale(last.v) else { continue }
                let downAt = last.t.floorDiv(1000) * 1000
                var activeAt = Int64(last.v) * 1000
                let remaining = spec.forDuration - (downAt - activeAt)
                if remaining <= 0 {
                    // It was firing: the next evaluation finds it firing again, or not.
                } else if remaining < forGracePeriod {
                    activeAt = t + forGracePeriod - spec.forDuration
                } else {
                    activeAt += t - downAt
                }
                a.activeAt = activeAt
                s.active[key] = a
            }
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (Go's `time.Unix()` of a millisecond time).
    func floorDiv(_ d: Int64) -> Int64 { self >= 0 ? self / d : -((-self + d - 1) / d) }
}
