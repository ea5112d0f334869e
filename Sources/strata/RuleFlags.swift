import ArgumentParser
import StrataModel
import StrataRules
import StrataServer

/// Rules and the lifecycle endpoint, under Prometheus' and Thanos Ruler's names.
struct RuleFlags: ParsableArguments {
    @Option(name: .customLong("rule-file"), parsing: .singleValue,
            help: "Prometheus rule file to evaluate (repeatable; globs like rules/*.yml). Checked at start; reloaded on SIGHUP and POST /-/reload.")
    var ruleFiles: [String] = []

    @Option(name: .customLong("rules.evaluation-interval"), help: "Interval of rule groups that set none (Prometheus' evaluation_interval).")
    var evaluationInterval = "1m"

    @Option(name: .customLong("rules.query-offset"), help: "How far back rule evaluations look, for groups that set no query_offset (lets late samples arrive first).")
    var queryOffset = "0s"

    @Option(name: .customLong("rules.alert.for-outage-tolerance"), help: "Max time to tolerate Strata outage for restoring 'for' state of alerts.")
    var outageTolerance = "1h"

    @Option(name: .customLong("rules.alert.for-grace-period"), help: "Minimum duration between alert and restored 'for' state; kept for alerts with a 'for' longer than it.")
    var forGracePeriod = "10m"

    @Option(name: .customLong("rules.alert.resend-delay"), help: "Minimum amount of time to wait before resending an alert to Alertmanager.")
    var resendDelay = "1m"

    @Option(name: .customLong("web.external-url"), help: "The URL Strata is reached at (alerts' generator links, templates' externalURL); default http://<hostname>:<port>.")
    var externalURL = ""

    @Flag(name: .customLong("web.enable-lifecycle"), help: "Serve POST /-/reload (reload the rule files).")
    var enableLifecycle = false

    @Option(name: .customLong("alertmanager.url"), parsing: .singleValue,
            help: "Alertmanager to send alerts to (repeatable): http(s)://[user:password@]host:port[/path-prefix].")
    var alertmanagerURLs: [String] = []

    @Option(name: .customLong("alertmanager.config-file"),
            help: "Prometheus configuration file whose alerting.alertmanagers (static_configs, scheme, path_prefix, timeout, basic_auth, authorization, tls_config) say where alerts go.")
    var alertmanagerConfigFile: String?

    @Option(name: .customLong("alertmanager.notification-queue-capacity"), help: "Alerts waiting to be sent, at most; beyond it the oldest are dropped.")
    var notificationQueueCapacity = 10_000

    @Option(name: .customLong("alertmanager.timeout"), help: "Timeout of a send to an --alertmanager.url.")
    var alertmanagerTimeout = "10s"

    func apply(to config: inout ServerConfig) throws {
        func duration(_ flag: String, _ value: String, positive: Bool = false) throws -> Int64 {
            guard let d = DurationFlag.parse(value), d >= 0, !positive || d > 0 else {
                throw ValidationError("invalid --\(flag) \"\(value)\": want a \(positive ? "positive " : "")Prometheus duration such as 30s or 1m")
            }
            return d
        }
        config.rules.ruleFiles = ruleFiles
        config.rules.evaluationInterval = try duration("rules.evaluation-interval", evaluationInterval, positive: true)
        config.rules.queryOffset = try duration("rules.query-offset", queryOffset)
        config.rules.outageTolerance = try duration("rules.alert.for-outage-tolerance", outageTolerance)
        config.rules.forGracePeriod = try duration("rules.alert.for-grace-period", forGracePeriod)
        config.rules.resendDelay = try duration("rules.alert.resend-delay", resendDelay)
        config.externalURL = externalURL.hasSuffix("/") ? String(externalURL.dropLast()) : externalURL
        config.enableLifecycle = enableLifecycle
        let timeout = try duration("alertmanager.timeout", alertmanagerTimeout, positive: true)
        do {
            config.alertmanagers = try alertmanagerURLs.map { url in
                var e = try AlertmanagerEndpoint.parse(flag: url)
                e.timeout = timeout
                return e
            } + (alertmanagerConfigFile.map(AlertmanagerEndpoint.load(configFile:)) ?? [])
        } catch { throw ValidationError("\(error)") }
        guard notificationQueueCapacity > 0 else { throw ValidationError("--alertmanager.notification-queue-capacity must be positive") }
        config.notificationQueueCapacity = notificationQueueCapacity
    }

    var flagValues: [String: String] {
        [
            "rule-file": ruleFiles.joined(separator: ","), "rules.evaluation-interval": evaluationInterval,
            "rules.query-offset": queryOffset, "rules.alert.for-outage-tolerance": outageTolerance,
            "rules.alert.for-grace-period": forGracePeriod, "rules.alert.resend-delay": resendDelay,
            "web.external-url": externalURL, "web.enable-lifecycle": String(enableLifecycle),
            // URLs may hold credentials: only how many there are is shown.
            "alertmanager.url": alertmanagerURLs.isEmpty ? "" : "<\(alertmanagerURLs.count) URL(s)>",
            "alertmanager.config-file": alertmanagerConfigFile ?? "",
            "alertmanager.notification-queue-capacity": String(notificationQueueCapacity), "alertmanager.timeout": alertmanagerTimeout,
        ]
    }
}
