import Hummingbird
import StrataModel
import StrataRules

/// `/api/v1/rules` and `/api/v1/alerts` as Prometheus answers them, from the rule manager's
/// groups (empty lists when no rule files are loaded).
extension PrometheusAPI {
    func registerRulesEndpoints(on router: APIRouter<Context>) {
        router.get("/api/v1/rules") { req, ctx in await self.respond(req, ctx) { p in try self.rules(p) } }
        router.get("/api/v1/alerts") { _, _ in APIResponses.json(.ok, self.alerts()) }
    }

    /// Groups and their rules, filtered as Prometheus filters them: `type` (`alert`, `record`),
    /// `rule_name[]`, `rule_group[]`, `file[]`. Groups left without rules are left out.
    func rules(_ p: Params) throws -> [UInt8] {
        let type = p["type"] ?? ""
        guard type.isEmpty || type == "alert" || type == "record" else {
            throw APIError.badData("not supported value \(goQuote(type))")
        }
        let names = Set(p.all("rule_name[]")), groupNames = Set(p.all("rule_group[]")), files = Set(p.all("file[]"))
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{\"groups\":[")
        var firstGroup = true
        for g in options.rules?.groups ?? [] {
            if !groupNames.isEmpty && !groupNames.contains(g.name) { continue }
            if !files.isEmpty && !files.contains(g.file) { continue }
            let rules = g.rules.filter { r in
                if !names.isEmpty && !names.contains(r.spec.name) { return false }
                switch r.spec.kind {
                case .alerting: return type != "record"
                case .recording: return type != "alert"
                }
            }
            if rules.isEmpty && (!names.isEmpty || !type.isEmpty) { continue }
            if !firstGroup { w.byte(UInt8(ascii: ",")) }
            firstGroup = false
            let snap = g.snapshot
            w.raw("{\"name\":"); w.string(g.name)
            w.raw(",\"file\":"); w.string(g.file)
            w.raw(",\"rules\":[")
            for (i, r) in rules.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                writeRule(r, &w)
            }
            w.raw("],\"interval\":"); w.number(Double(g.interval) / 1000)
            w.raw(",\"limit\":"); w.int(Int64(g.limit))
            w.raw(",\"evaluationTime\":"); w.number(snap.evaluationSeconds)
            w.raw(",\"lastEvaluation\":"); w.string(goTimeJSON(snap.lastEvaluation))
            w.byte(UInt8(ascii: "}"))
        }
        w.raw("]}}")
        return w.bytes
    }

    private func writeRule(_ r: any Rule, _ w: inout JSONWriter) {
        let status = r.status
        let spec = r.spec
        if let alerting = r as? AlertingRule {
            w.raw("{\"state\":"); w.string(alerting.alertState.rawValue)
            w.raw(",\"name\":"); w.string(spec.name)
            w.raw(",\"query\":"); w.string(spec.parsed.description)
            w.raw(",\"duration\":"); w.number(Double(spec.forDuration) / 1000)
            w.raw(",\"keepFiringFor\":"); w.number(Double(spec.keepFiringFor) / 1000)
            w.raw(",\"labels\":"); w.labels(Labels(alerting.labelTemplates))
            w.raw(",\"annotations\":"); w.labels(Labels(spec.annotations))
            w.raw(",\"alerts\":[")
            for (i, a) in alerting.alerts.filter({ $0.resolvedAt == nil }).enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                writeAlert(a, &w)
            }
            w.byte(UInt8(ascii: "]"))
        } else {
            w.raw("{\"name\":"); w.string(spec.name)
            w.raw(",\"query\":"); w.string(spec.parsed.description)
            if !spec.labels.isEmpty { w.raw(",\"labels\":"); w.labels(Labels(spec.labels)) }
        }
        w.raw(",\"health\":"); w.string(status.health.rawValue)
        if let e = status.lastError { w.raw(",\"lastError\":"); w.string(e) }
        w.raw(",\"evaluationTime\":"); w.number(status.evaluationSeconds)
        w.raw(",\"lastEvaluation\":"); w.string(goTimeJSON(status.lastEvaluation))
        w.raw(",\"type\":"); w.string(r is AlertingRule ? "alerting" : "recording")
        w.byte(UInt8(ascii: "}"))
    }

    /// One alert as Prometheus' API shows it; its value in Go's `%e` shortest form.
    private func writeAlert(_ a: Alert, _ w: inout JSONWriter) {
        w.raw("{\"labels\":"); w.labels(a.labels)
        w.raw(",\"annotations\":"); w.labels(a.annotations)
        w.raw(",\"state\":"); w.string(a.state.rawValue)
        w.raw(",\"activeAt\":"); w.string(goTimeJSON(a.activeAt))
        if let k = a.keepFiringSince { w.raw(",\"keepFiringSince\":"); w.string(goTimeJSON(k)) }
        w.raw(",\"value\":"); w.string(GoFloat.formatE(a.value))
        w.byte(UInt8(ascii: "}"))
    }

    /// Pending and firing alerts of every alerting rule, rule by rule.
    func alerts() -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{\"alerts\":[")
        for (i, a) in (options.rules?.activeAlerts ?? []).enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            writeAlert(a, &w)
        }
        w.raw("]}}")
        return w.bytes
    }
}

/// A time as Go's `time.Time` marshals to JSON; nil is Go's zero time.
func goTimeJSON(_ ms: Int64?) -> String {
    ms.map { CivilDate.rfc3339(milliseconds: $0) } ?? "0001-01-01T00:00:00Z"
}
