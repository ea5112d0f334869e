import Hummingbird
import StrataModel
import StrataStorage

extension PrometheusAPI {
    /// Prometheus' TSDB admin API (only `snapshot` so far). Off unless the server was started with
    /// `--web.enable-admin-api`, answering as Prometheus does then: 503 "admin APIs disabled".
    func registerAdmin(on router: APIRouter<Context>) {
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/api/v1/admin/tsdb/snapshot", method: method) { req, _ in
                guard let admin = self.admin else { return Self.error(APIError(.unavailable, "admin APIs disabled")) }
                // The head is rebuilt without locks during WAL replay: nothing may read it yet.
                guard self.startup.isReady else { return Self.error(APIError(.unavailable, "Strata is starting (replaying the write-ahead log); retry later")) }
                do {
                    let params = try await Self.params(req)
                    let skipHead = try Self.parseBool(params["skip_head"], name: "skip_head")
                    let result: Result<String, any Error> = await self.scheduler.run {
                        do { return .success(try admin.snapshot(skipHead: skipHead)) } catch { return .failure(error) }
                    }
                    let name: String
                    do { name = try result.get() } catch {
                        return Self.error(APIError(.internal, "create snapshot: \(error)"))
                    }
                    var w = JSONWriter(capacity: 96)
                    w.raw("{\"status\":\"success\",\"data\":{\"name\":"); w.string(name); w.raw("}}")
                    return Self.json(.ok, w.bytes)
                } catch let e as APIError {
                    return Self.error(e)
                }
            }
        }
    }

    /// Go's `strconv.ParseBool`; absent or empty is false.
    static func parseBool(_ s: String?, name: String) throws -> Bool {
        guard let s, !s.isEmpty else { return false }
        switch s {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default: throw APIError.badData("unable to parse boolean '\(name)' argument: strconv.ParseBool: parsing \(goQuote(s)): invalid syntax")
        }
    }
}
