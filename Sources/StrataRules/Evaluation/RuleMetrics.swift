import StrataModel

extension RuleManager {
    /// The rule manager's metrics under Prometheus' names (`prometheus_rule_*`), so dashboards
    /// and alerts written for a Prometheus ruler work on Strata's.
    public func metricsText() -> String {
        let groups = self.groups
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: (RuleGroup, RuleGroup.Snapshot) -> Double?) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for g in groups {
                let snap = g.snapshot
                guard let v = value(g, snap) else { continue }
                out += "\(name){rule_group=\(goQuote(g.key))} \(GoFloat.format(v))\n"
            }
        }
        metric("prometheus_rule_evaluations_total", "counter", "The total number of rule evaluations.") { _, s in Double(s.evaluations) }
        metric("prometheus_rule_evaluation_failures_total", "counter", "The total number of rule evaluation failures.") { _, s in Double(s.failures) }
        metric("prometheus_rule_group_iterations_total", "counter", "The total number of scheduled rule group evaluations, whether executed or missed.") { _, s in Double(s.iterations + s.missedIterations) }
        metric("prometheus_rule_group_iterations_missed_total", "counter", "The total number of rule group evaluations missed due to slow rule group evaluation.") { _, s in Double(s.missedIterations) }
        metric("prometheus_rule_group_interval_seconds", "gauge", "The interval of a rule group.") { g, _ in Double(g.interval) / 1000 }
        metric("prometheus_rule_group_last_duration_seconds", "gauge", "The duration of the last rule group evaluation.") { _, s in s.evaluationSeconds }
        metric("prometheus_rule_group_last_evaluation_timestamp_seconds", "gauge", "The timestamp of the last rule group evaluation in seconds.") { _, s in
            s.lastEvalTimestamp.map { Double($0) / 1000 } ?? 0
        }
        metric("prometheus_rule_group_last_evaluation_samples", "gauge", "The number of samples returned during the last rule group evaluation.") { _, s in Double(s.samples) }
        metric("prometheus_rule_group_rules", "gauge", "The number of rules.") { g, _ in Double(g.rules.count) }
        out += "# HELP prometheus_rule_group_duration_seconds The duration of rule group evaluations.\n# TYPE prometheus_rule_group_duration_seconds summary\n"
        let iterations = groups.reduce(0) { $0 + $1.snapshot.iterations }
        let seconds = groups.reduce(0.0) { $0 + $1.snapshot.durationSum }
        out += "prometheus_rule_group_duration_seconds_sum \(GoFloat.format(seconds))\nprometheus_rule_group_duration_seconds_count \(iterations)\n"
        let reload = lastReload
        out += "# HELP prometheus_config_last_reload_successful Whether the last configuration reload attempt was successful.\n# TYPE prometheus_config_last_reload_successful gauge\n"
        out += "prometheus_config_last_reload_successful \(reload.successful ? 1 : 0)\n"
        out += "# HELP prometheus_config_last_reload_success_timestamp_seconds Timestamp of the last successful configuration reload.\n# TYPE prometheus_config_last_reload_success_timestamp_seconds gauge\n"
        out += "prometheus_config_last_reload_success_timestamp_seconds \(reload.millis / 1000)\n"
        return out
    }
}
