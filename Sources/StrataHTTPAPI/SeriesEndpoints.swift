import Hummingbird
import StrataModel
import StrataPromQLParser
import StrataStorage

/// `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/series`, `/api/v1/metadata`,
/// `/api/v1/query_exemplars`, `/api/v1/format_query`: what Grafana's query editor and metric
/// browser call, answered as Prometheus answers them.
extension PrometheusAPI {
    func registerSeriesEndpoints(on router: APIRouter<Context>) {
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/api/v1/labels", method: method) { req, ctx in await self.respond(req, ctx) { p in try self.labels(p) } }
            router.on("/api/v1/series", method: method) { req, ctx in await self.respond(req, ctx) { p in try self.series(p) } }
            router.on("/api/v1/query_exemplars", method: method) { req, ctx in await self.respond(req, ctx) { p in try self.exemplars(p) } }
            router.on("/api/v1/format_query", method: method) { req, ctx in await self.respond(req, ctx) { p in try self.formatQuery(p) } }
        }
        router.get("/api/v1/label/:name/values") { req, ctx in
            let name = ctx.parameters.get("name") ?? ""
            return await self.respond(req, ctx) { p in try self.labelValues(name, p) }
        }
        router.get("/api/v1/metadata") { req, ctx in await self.respond(req, ctx) { p in try self.metadata(p) } }
    }

    /// Runs `body` with the request's parameters on a query thread: these endpoints scan the
    /// index, so they share the query slots.
    func respond(_ req: Request, _ context: Context, _ body: @escaping @Sendable (Params) throws -> [UInt8]) async -> Response {
        await serve(req, context, gate: scheduler, errors: .json) { scope in APIResponses.json(.ok, try body(scope.params)) }
    }

    // MARK: parameters shared by the series endpoints

    /// `match[]` selectors; an empty list means "no filter".
    func matcherSets(_ p: Params) throws(APIError) -> [[LabelMatcher]] {
        var sets: [[LabelMatcher]] = []
        for s in p.all("match[]") {
            do { sets.append(try PromQLParser.parseMetricSelector(s)) } catch {
                throw APIError.badData("\(error)")
            }
        }
        // As Prometheus: a selector matching every series (e.g. `{}`) is refused.
        for set in sets where set.allSatisfy({ $0.matchesEmpty }) {
            throw APIError.badData("match[] must contain at least one non-empty matcher")
        }
        return sets
    }

    /// `start`/`end` with Prometheus' defaults (the whole time range).
    func timeRange(_ p: Params) throws(APIError) -> (Int64, Int64) {
        var start = Int64.min / 2, end = Int64.max / 2
        if let s = p["start"], !s.isEmpty { start = try Self.param("start") { () throws(APIError) in try APITime.parseTime(s) } }
        if let e = p["end"], !e.isEmpty { end = try Self.param("end") { () throws(APIError) in try APITime.parseTime(e) } }
        return (start, end)
    }

    /// `limit`: 0 or absent means no limit.
    func limit(_ p: Params, _ name: String = "limit") throws(APIError) -> Int {
        guard let s = p[name], !s.isEmpty else { return 0 }
        guard let n = Int(s), n >= 0 else {
            throw APIError.badData("invalid parameter \(goQuote(name)): limit must be a non-negative integer, got \(goQuote(s))")
        }
        return n
    }

    /// `lookup` for each `match[]` set, merged and sorted bytewise; with no sets, `lookup([])`
    /// (the storage answers that from its index without selecting series).
    func unionOverMatchers(_ sets: [[LabelMatcher]], _ lookup: ([LabelMatcher]) throws -> [String]) throws -> [String] {
        if sets.isEmpty { return try lookup([]) }
        var all: [String] = []
        for m in sets { all += try lookup(m) }
        return all.uniqueSortedBytewise()
    }

    /// The storage as the request reads it (replicas merged unless `dedup=false`).
    func querier(_ p: Params, _ start: Int64, _ end: Int64) throws(APIError) -> any Querier {
        try querierWithWarnings(p, start, end).querier
    }

    /// The same, with the sink for what `partial_response` leaves out (series reads honour it).
    func querierWithWarnings(_ p: Params, _ start: Int64, _ end: Int64) throws(APIError) -> (querier: any Querier, warnings: StorageWarnings?) {
        let (read, warnings, _) = try readStorage(p, step: nil)
        do { return (try read.querier(mint: start, maxt: end), warnings) } catch {
            throw APIError(.internal, "\(error)")
        }
    }

    /// `{"status":"success","data":…}` with Prometheus 3's "results truncated" warning and
    /// what `partial_response` left out.
    func envelope(truncated: Bool, warnings extra: [String] = [], _ data: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":")
        data(&w)
        let warnings = extra + (truncated ? ["results truncated due to limit"] : [])
        if !warnings.isEmpty { w.raw(",\"warnings\":"); w.stringArray(warnings) }
        w.raw("}")
        return w.bytes
    }

    // MARK: endpoints

    func labels(_ p: Params) throws -> [UInt8] {
        let (start, end) = try timeRange(p)
        let limit = try limit(p)
        let (q, warnings) = try querierWithWarnings(p, start, end)
        let hints = SelectHints(mint: start, maxt: end)
        var names = try unionOverMatchers(try matcherSets(p)) { try q.labelNames($0, hints: hints) }
        let truncated = limit > 0 && names.count > limit
        if truncated { names = Array(names.prefix(limit)) }
        return envelope(truncated: truncated, warnings: warnings?.all ?? []) { $0.stringArray(names) }
    }

    func labelValues(_ rawName: String, _ p: Params) throws -> [UInt8] {
        let name = Self.unescapeLabelName(rawName)
        guard !name.isEmpty else { throw APIError.badData("invalid label name: \(goQuote(rawName))") }
        let (start, end) = try timeRange(p)
        let limit = try limit(p)
        let (q, warnings) = try querierWithWarnings(p, start, end)
        let hints = SelectHints(mint: start, maxt: end)
        var values = try unionOverMatchers(try matcherSets(p)) { try q.labelValues(name, $0, hints: hints) }
        let truncated = limit > 0 && values.count > limit
        if truncated { values = Array(values.prefix(limit)) }
        return envelope(truncated: truncated, warnings: warnings?.all ?? []) { $0.stringArray(values) }
    }

    func series(_ p: Params) throws -> [UInt8] {
        let sets = try matcherSets(p)
        guard !sets.isEmpty else { throw APIError.badData("no match[] parameter provided") }
        let (start, end) = try timeRange(p)
        let limit = try limit(p)
        let (q, warnings) = try querierWithWarnings(p, start, end)
        var seen = Set<Labels>()
        var result: [Labels] = []
        for m in sets {
            for s in try q.select(m, hints: SelectHints(mint: start, maxt: end)) where seen.insert(s.labels).inserted {
                result.append(s.labels)
            }
        }
        if sets.count > 1 { result.sort { Labels.compare($0, $1) < 0 } }
        let truncated = limit > 0 && result.count > limit
        if truncated { result = Array(result.prefix(limit)) }
        return envelope(truncated: truncated, warnings: warnings?.all ?? []) { w in
            w.byte(UInt8(ascii: "["))
            for (i, l) in result.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.labels(l)
            }
            w.byte(UInt8(ascii: "]"))
        }
    }

    /// `{"<metric>":[{"type":…,"help":…,"unit":…}]}`; `metric` filters, `limit` caps metrics,
    /// `limit_per_metric` caps entries per metric (Strata keeps one, the latest).
    func metadata(_ p: Params) throws -> [UInt8] {
        // Prometheus: a negative limit (the default, -1) means none; 0 returns nothing.
        func signedLimit(_ name: String) throws(APIError) -> Int {
            guard let s = p[name], !s.isEmpty else { return -1 }
            guard let n = Int(s) else { throw APIError.badData("limit must be a number") }
            return n
        }
        let limit = try signedLimit("limit")
        _ = try signedLimit("limit_per_metric")
        var all = tenantSources(p).metadata?.metricMetadata ?? []
        if let metric = p["metric"], !metric.isEmpty { all = all.filter { $0.metricFamilyName.utf8.elementsEqual(metric.utf8) } }
        if limit >= 0 { all = Array(all.prefix(limit)) }
        return envelope(truncated: false) { w in
            w.byte(UInt8(ascii: "{"))
            for (i, m) in all.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.string(m.metricFamilyName)
                w.raw(":[{\"type\":"); w.string(m.type.apiName)
                w.raw(",\"help\":"); w.string(m.help)
                w.raw(",\"unit\":"); w.string(m.unit)
                w.raw("}]")
            }
            w.byte(UInt8(ascii: "}"))
        }
    }

    /// Strata stores no exemplars yet: a valid request gets an empty list (Grafana probes this
    /// with millisecond times, which parse as seconds with decimals).
    func exemplars(_ p: Params) throws -> [UInt8] {
        guard let query = p["query"], !query.isEmpty else {
            throw APIError.badData("invalid parameter \"query\": 1:1: parse error: no expression found in input")
        }
        do { _ = try PromQLParser.parse(query, options: options.parser) } catch {
            throw APIError.badData("invalid parameter \"query\": \(error)")
        }
        _ = try timeRange(p)
        return envelope(truncated: false) { $0.raw("[]") }
    }

    func formatQuery(_ p: Params) throws -> [UInt8] {
        let query = p["query"] ?? ""
        let expr: Expr
        do { expr = try PromQLParser.parse(query, options: options.parser) } catch {
            throw APIError.badData("invalid parameter \"query\": \(error)")
        }
        return envelope(truncated: false) { $0.string(expr.pretty()) }
    }

    /// Label names in URLs may be escaped as `U__` + `_XX_` hex code points (Prometheus' UTF-8
    /// escaping); everything else is taken as is.
    static func unescapeLabelName(_ s: String) -> String {
        guard s.hasPrefix("U__") else { return s }
        var out = ""
        var chars = Array(s.dropFirst(3))
        var i = 0
        while i < chars.count {
            if chars[i] == "_" {
                if i + 1 < chars.count, chars[i + 1] == "_" { out.append("_"); i += 2; continue }
                var j = i + 1
                var hex = ""
                while j < chars.count, chars[j] != "_" { hex.append(chars[j]); j += 1 }
                guard j < chars.count, let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else { return s }
                out.unicodeScalars.append(scalar)
                i = j + 1
            } else {
                out.append(chars[i]); i += 1
            }
        }
        chars.removeAll()
        return out
    }
}
