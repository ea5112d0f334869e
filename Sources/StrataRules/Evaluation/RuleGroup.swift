import StrataModel
import StrataPromQL
import StrataStorage
import Synchronization

/// Where a group's evaluations write and what they notify.
public struct RuleGroupOutput: Sendable {
    /// The storage recorded series, `ALERTS` and `ALERTS_FOR_STATE` go to.
    public var appendable: any Appendable
    /// Called after each alerting rule's evaluation with the alerts due to Alertmanager.
    public var notify: @Sendable (_ expr: String, _ alerts: [Alert]) -> Void
    public var resendDelay: Int64

    public init(appendable: any Appendable, resendDelay: Int64 = 60_000,
                notify: @escaping @Sendable (_ expr: String, _ alerts: [Alert]) -> Void = { _, _ in }) {
        self.appendable = appendable
        self.resendDelay = resendDelay
        self.notify = notify
    }
}

/// A group of rules evaluated in order, every `interval`, at times aligned to a per-group offset
/// (so that groups with the same interval spread over it), as Prometheus' rule manager runs them.
public final class RuleGroup: Sendable {
    public let file: String
    public let name: String
    /// Milliseconds.
    public let interval: Int64
    public let queryOffset: Int64
    public let limit: Int
    public let rules: [any Rule]

    struct State {
        /// Per rule: the series its last successful evaluation wrote, to mark them stale once
        /// they are no longer returned.
        var previousSeries: [Set<Labels>]
        /// Wall-clock ms of the last evaluation's start, and how long it took.
        var lastEvaluation: Int64?
        var evaluationSeconds: Double = 0
        /// The evaluation time (aligned) of the last evaluation.
        var lastEvalTimestamp: Int64?
        var samples = 0
        var evaluations = 0
        var failures = 0
        var iterations = 0
        var missedIterations = 0
        var durationSum: Double = 0
    }
    private let state: Mutex<State>

    public init(file: String, name: String, interval: Int64, queryOffset: Int64, limit: Int, rules: [any Rule]) {
        self.file = file
        self.name = name
        self.interval = interval
        self.queryOffset = queryOffset
        self.limit = limit
        self.rules = rules
        state = Mutex(State(previousSeries: Array(repeating: [], count: rules.count)))
    }

    /// The group a rule file describes; `interval` and `queryOffset` apply where it sets none.
    /// Alerting rules that are not `restored` write no `ALERTS` until their `for` state is.
    public convenience init(_ spec: RuleGroupSpec, file: String, interval: Int64, queryOffset: Int64, restored: Bool) {
        let rules: [any Rule] = spec.rules.map { rule in
            switch rule.kind {
            case .recording: return RecordingRule(spec: rule, groupLabels: spec.labels)
            case .alerting: return AlertingRule(spec: rule, groupLabels: spec.labels, restored: restored)
            }
        }
        self.init(file: file, name: spec.name, interval: spec.interval ?? interval, queryOffset: spec.queryOffset ?? queryOffset,
                  limit: spec.limit, rules: rules)
    }

    /// `file;name`, Prometheus' group key (and the `rule_group` label of its metrics).
    public var key: String { file + ";" + name }

    /// The evaluation time at or before `now`: `now` less what it is past the group's offset
    /// within its interval. The offset is a hash of the key, so it is stable across restarts.
    public func evalTimestamp(at now: Int64) -> Int64 {
        let offset = Int64(RuleGroup.fnv1a(file + "\u{ff}" + name) % UInt64(interval))
        let adjusted = now - offset
        return adjusted - adjusted.floorMod(interval) + offset
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Evaluates every rule at `t`, in order (a rule sees what the rules before it wrote), stores
    /// what they return and stale markers for series they no longer return, and hands alerts
    /// due for sending to `output.notify`.
    public func evaluate(at t: Int64, _ context: RuleEvaluationContext, _ output: RuleGroupOutput) {
        let groupStart = ContinuousClock.now
        let wallStart = WallClock.nowMillis()
        var samplesTotal = 0
        var context = context
        context.limit = limit
        for (i, rule) in rules.enumerated() {
            let started = ContinuousClock.now
            let ruleWallStart = WallClock.nowMillis()
            state.withLock { $0.evaluations += 1 }
            let result: Result<[VectorElement], RuleError>
            do { result = .success(try rule.evaluate(at: t, queryOffset: queryOffset, context)) } catch { result = .failure(error) }
            var error: String?
            switch result {
            case .failure(let e):
                error = e.description
                state.withLock { $0.failures += 1 }
            case .success(let vector):
                samplesTotal += vector.count
                if let alerting = rule as? AlertingRule {
                    let due = alerting.alertsToSend(at: t, resendDelay: output.resendDelay, interval: interval)
                    if !due.isEmpty { output.notify(rule.spec.parsed.description, due) }
                }
                error = store(vector, rule: i, at: t - queryOffset, output.appendable)
            }
            let took = ContinuousClock.now - started
            rule.setStatus { s in
                s.health = error == nil ? .ok : .err
                s.lastError = error
                s.lastEvaluation = ruleWallStart
                s.evaluationSeconds = took.seconds
            }
        }
        let took = (ContinuousClock.now - groupStart).seconds
        state.withLock { s in
            s.samples = samplesTotal
            s.lastEvaluation = wallStart
            s.evaluationSeconds = took
            s.lastEvalTimestamp = t
            s.iterations += 1
            s.durationSum += took
        }
    }

    /// Appends one rule's output and stale markers for what it returned last time but not now.
    /// An append error is the rule's error, as in Prometheus; the series it wrote still count.
    private func store(_ vector: [VectorElement], rule i: Int, at t: Int64, _ appendable: any Appendable) -> String? {
        let previous = state.withLock { $0.previousSeries[i] }
        let app = appendable.appender()
        var returned = Set<Labels>()
        returned.reserveCapacity(vector.count)
        var failure: String?
        for s in vector {
            let r = app.append(s.labels, [Sample(t: s.t, v: s.v)])
            if let f = r.firstFailure { failure = failure ?? f.failure.message } else { returned.insert(s.labels) }
        }
        for labels in previous where !returned.contains(labels) {
            app.append(labels, [Sample(t: t, v: StaleNaN.value)])
        }
        do { try app.commit() } catch { return "\(error)" }
        state.withLock { $0.previousSeries[i] = returned }
        return failure
    }

    /// Stale markers for every series the group wrote last: it was removed, or Strata stops.
    public func markStale(at t: Int64, _ appendable: any Appendable) {
        let all = state.withLock { s in
            defer { s.previousSeries = Array(repeating: [], count: s.previousSeries.count) }
            return s.previousSeries.reduce(into: Set<Labels>()) { $0.formUnion($1) }
        }
        guard !all.isEmpty else { return }
        let app = appendable.appender()
        for labels in all { app.append(labels, [Sample(t: t, v: StaleNaN.value)]) }
        try? app.commit()
    }

    /// Takes over the state of the same group before a reload: the series it wrote, and the
    /// alerts and status of rules that did not change.
    public func copyState(from old: RuleGroup) {
        let oldState = old.state.withLock { $0 }
        var oldByIdentity: [String: [Int]] = [:]
        for (i, r) in old.rules.enumerated() { oldByIdentity[Self.identity(r), default: []].append(i) }
        state.withLock { s in
            s.lastEvaluation = oldState.lastEvaluation
            s.evaluationSeconds = oldState.evaluationSeconds
            s.lastEvalTimestamp = oldState.lastEvalTimestamp
            s.evaluations = oldState.evaluations
            s.failures = oldState.failures
            s.iterations = oldState.iterations
            s.missedIterations = oldState.missedIterations
            s.durationSum = oldState.durationSum
            for (i, r) in rules.enumerated() {
                guard var candidates = oldByIdentity[Self.identity(r)], !candidates.isEmpty else { continue }
                let j = candidates.removeFirst()
                oldByIdentity[Self.identity(r)] = candidates
                s.previousSeries[i] = oldState.previousSeries[j]
                let oldRule = old.rules[j]
                r.setStatus { $0 = oldRule.status }
                if let a = r as? AlertingRule, let b = oldRule as? AlertingRule { a.takeAlerts(from: b) }
            }
        }
    }

    /// Rules are the same rule across a reload when name, expression, labels and annotations are.
    private static func identity(_ r: any Rule) -> String {
        let s = r.spec
        return "\(s.name)\u{0}\(s.expr)\u{0}\(s.labels.sorted { $0.key < $1.key })\u{0}\(s.annotations.sorted { $0.key < $1.key })"
    }

    /// What `/api/v1/rules` and `/metrics` show of the group.
    public var snapshot: Snapshot {
        state.withLock { s in
            Snapshot(lastEvaluation: s.lastEvaluation, evaluationSeconds: s.evaluationSeconds,
                     lastEvalTimestamp: s.lastEvalTimestamp, samples: s.samples, evaluations: s.evaluations,
                     failures: s.failures, iterations: s.iterations, missedIterations: s.missedIterations,
                     durationSum: s.durationSum)
        }
    }

    public struct Snapshot: Sendable {
        public var lastEvaluation: Int64?
        public var evaluationSeconds: Double
        public var lastEvalTimestamp: Int64?
        public var samples: Int
        public var evaluations: Int
        public var failures: Int
        public var iterations: Int
        public var missedIterations: Int
        public var durationSum: Double
    }

    func countMissed(_ n: Int) { state.withLock { $0.missedIterations += n } }
}

extension Int64 {
    /// The remainder with the divisor's sign (never negative for a positive divisor).
    func floorMod(_ d: Int64) -> Int64 { let r = self % d; return r < 0 ? r + d : r }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
