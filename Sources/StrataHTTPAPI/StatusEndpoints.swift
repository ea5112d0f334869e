#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import StrataModel
import StrataStorage

/// Status and the parts of Prometheus' API Strata has nothing behind (targets: it scrapes
/// nothing): answered with Prometheus' shapes so Grafana and promtool work.
extension PrometheusAPI {
    func registerStatusEndpoints(on router: APIRouter<Context>) {
        router.get("/api/v1/targets") { _, _ in
            APIResponses.json(.ok, Array(#"{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}"#.utf8))
        }
        router.get("/api/v1/status/runtimeinfo") { _, _ in self.runtimeInfo() }
        router.get("/api/v1/status/flags") { _, _ in self.flags() }
        router.get("/api/v1/status/tsdb") { req, ctx in await self.respond(req, ctx) { p in try self.tsdbStatus(p) } }
        router.get("/api/v1/status/config") { _, _ in
            var w = JSONWriter()
            w.raw("{\"status\":\"success\",\"data\":{\"yaml\":"); w.string(self.options.configYAML); w.raw("}}")
            return APIResponses.json(.ok, w.bytes)
        }
    }

    /// Head size and the label names, values and metrics with the most series (`limit`, 10).
    func tsdbStatus(_ p: Params) throws -> [UInt8] {
        var limit = 10
        if let l = p["limit"], !l.isEmpty {
            guard let n = Int(l), n > 0 else { throw APIError.badData("limit must be a positive number") }
            limit = n
        }
        let st = tenantSources(p).cardinality?.cardinalityStats(limit: limit) ?? CardinalityStats()
        var w = JSONWriter()
        func entries(_ key: StaticString, _ list: [CardinalityStats.Entry]) {
            w.raw(",\""); w.raw(key); w.raw("\":[")
            for (i, e) in list.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.raw("{\"name\":"); w.string(e.name); w.raw(",\"value\":"); w.int(Int64(e.value)); w.byte(UInt8(ascii: "}"))
            }
            w.byte(UInt8(ascii: "]"))
        }
        w.raw("{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":"); w.int(Int64(st.numSeries))
        w.raw(",\"numLabelPairs\":"); w.int(Int64(st.numLabelPairs))
        w.raw(",\"chunkCount\":"); w.int(Int64(st.chunkCount))
        w.raw(",\"minTime\":"); w.int(st.minTime)
        w.raw(",\"maxTime\":"); w.int(st.maxTime); w.byte(UInt8(ascii: "}"))
        entries("seriesCountByMetricName", st.seriesCountByMetricName)
        entries("labelValueCountByLabelName", st.labelValueCountByLabelName)
        entries("memoryInBytesByLabelName", st.memoryInBytesByLabelName)
        entries("seriesCountByLabelValuePair", st.seriesCountByLabelValuePair)
        w.raw("}}")
        return w.bytes
    }

    func runtimeInfo() -> Response {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{\"startTime\":"); w.string(options.startTime)
        w.raw(",\"CWD\":"); w.string(Self.currentDirectory())
        w.raw(",\"reloadConfigSuccess\":true,\"lastConfigTime\":"); w.string(options.startTime)
        w.raw(",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":"); w.int(Int64(Self.cpuCount()))
        w.raw(",\"GOMEMLIMIT\":0,\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":"); w.string(options.storageRetention)
        w.raw("}}")
        return APIResponses.json(.ok, w.bytes)
    }

    /// Prometheus' `storageRetention`: the time (`model.Duration`), then " or " and the size
    /// (`units.Base2Bytes`: `512MiB`, `1GiB512MiB`); empty when neither is set.
    public static func storageRetention(timeMillis: Int64, sizeBytes: Int) -> String {
        var parts: [String] = []
        if timeMillis > 0 { parts.append(formatPrometheusDuration(milliseconds: timeMillis)) }
        if sizeBytes > 0 {
            var n = Int64(sizeBytes), out: [String] = []
            for unit in ["", "K", "M", "G", "T", "P", "E"] {
                if n % 1024 != 0 { out.insert("\(n % 1024)\(unit)\(unit.isEmpty ? "B" : "iB")", at: 0) }
                n /= 1024
                if n == 0 { break }
            }
            parts.append(out.joined())
        }
        return parts.joined(separator: " or ")
    }

    func flags() -> Response {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{")
        for (i, (k, v)) in options.flags.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            w.string(k); w.byte(UInt8(ascii: ":")); w.string(v)
        }
        w.raw("}}")
        return APIResponses.json(.ok, w.bytes)
    }

    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return "" }
        return String(cString: buf)
    }

    static func cpuCount() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
