import Hummingbird
import StrataModel

/// Status and the parts of Prometheus' API Strata has nothing behind yet (targets, rules,
/// alerts): answered with Prometheus' shapes so Grafana and promtool work.
extension PrometheusAPI {
    func registerStatusEndpoints(on router: Router<Context>) {
        router.get("/api/v1/targets") { _, _ in
            Self.json(.ok, Array(#"{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}"#.utf8))
        }
        router.get("/api/v1/rules") { _, _ in Self.json(.ok, Array(#"{"status":"success","data":{"groups":[]}}"#.utf8)) }
        router.get("/api/v1/alerts") { _, _ in Self.json(.ok, Array(#"{"status":"success","data":{"alerts":[]}}"#.utf8)) }
        router.get("/api/v1/status/runtimeinfo") { _, _ in self.runtimeInfo() }
        router.get("/api/v1/status/flags") { _, _ in self.flags() }
        router.get("/api/v1/status/config") { _, _ in
            var w = JSONWriter()
            w.raw("{\"status\":\"success\",\"data\":{\"yaml\":"); w.string(self.options.configYAML); w.raw("}}")
            return Self.json(.ok, w.bytes)
        }
    }

    func runtimeInfo() -> Response {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{\"startTime\":"); w.string(options.startTime)
        w.raw(",\"CWD\":"); w.string(Self.currentDirectory())
        w.raw(",\"reloadConfigSuccess\":true,\"lastConfigTime\":"); w.string(options.startTime)
        w.raw(",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":"); w.int(Int64(Self.cpuCount()))
        w.raw(",\"GOMEMLIMIT\":0,\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":"); w.string(options.storageRetention)
        w.raw("}}")
        return Self.json(.ok, w.bytes)
    }

    func flags() -> Response {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":{")
        for (i, (k, v)) in options.flags.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            w.string(k); w.byte(UInt8(ascii: ":")); w.string(v)
        }
        w.raw("}}")
        return Self.json(.ok, w.bytes)
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
