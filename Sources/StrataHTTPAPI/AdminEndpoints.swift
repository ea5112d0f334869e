import Hummingbird
import StrataModel
import StrataStorage

extension PrometheusAPI {
    /// Prometheus' TSDB admin API (only `snapshot` so far). Off unless the server was started with
    /// `--web.enable-admin-api`, answering as Prometheus does then: 503 "admin APIs disabled".
    func registerAdmin(on router: APIRouter<Context>) {
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/api/v1/admin/tsdb/snapshot", method: method) { req, ctx in
                guard let admin = self.admin else { return APIResponses.error(APIError(.unavailable, "admin APIs disabled")) }
                return await self.serve(req, ctx, gate: self.scheduler, errors: .json) { scope in
                    let skipHead = try Self.parseBool(scope.params["skip_head"], name: "skip_head")
                    let name: String
                    do { name = try admin.snapshot(skipHead: skipHead) } catch {
                        throw APIError(.internal, "create snapshot: \(error)")
                    }
                    var w = JSONWriter(capacity: 96)
                    w.raw("{\"status\":\"success\",\"data\":{\"name\":"); w.string(name); w.raw("}}")
                    return APIResponses.json(.ok, w.bytes)
                }
            }
        }
    }

    /// Go's `strconv.ParseBool` with Prometheus' message; absent or empty is false.
    static func parseBool(_ s: String?, name: String) throws -> Bool {
        guard let s, !s.isEmpty else { return false }
        guard let b = goParseBool(s) else {
            throw APIError.badData("unable to parse boolean '\(name)' argument: strconv.ParseBool: parsing \(goQuote(s)): invalid syntax")
        }
        return b
    }
}
