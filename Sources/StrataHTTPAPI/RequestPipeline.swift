import HTTPTypes
import Hummingbird
import StrataRuntime
import Synchronization

// The shared path of every request that reads or writes the database (Prometheus' `api.wrap`
// plus its readiness check): refused while the server starts, parameters parsed, a slot of a
// concurrency gate taken (and given up when the client leaves), the work run on a thread of its
// own, errors written in the endpoint's format.

/// Refuses requests that need the database while the WAL is being replayed (the head is rebuilt
/// without locks then), with 503 in the format the endpoint answers in. Health, readiness and
/// the status endpoints stay available.
struct ReadinessMiddleware<Context: RequestContext>: RouterMiddleware {
    let startup: StartupState
    /// Told the path of every request refused (remote write counts its 503s).
    let refused: @Sendable (Substring) -> Void

    static var message: String { "Strata is starting (replaying the write-ahead log); try again shortly" }

    /// How the endpoint at `path` answers errors, or nil if it is served while starting (the
    /// status pages, which read no head data, and the query parser).
    static func errorBody(for path: Substring) -> ErrorBody? {
        switch path {
        case "/api/v1/write", "/api/v1/receive", "/api/v1/read", "/federate": return .text
        case "/api/v1/status/tsdb": return .json // head cardinality
        case _ where path.hasPrefix("/api/v1/status/"): return nil
        case "/api/v1/parse_query", "/api/v1/format_query", "/api/v1/targets", "/api/v1/rules", "/api/v1/alerts": return nil
        case _ where path.hasPrefix("/api/v1/"): return .json
        default: return nil
        }
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if startup.isReady { return try await next(request, context) }
        guard request.method != .options, let body = Self.errorBody(for: request.uri.path[...]) else {
            return try await next(request, context)
        }
        refused(request.uri.path[...])
        return APIResponses.error(APIError(.unavailable, Self.message), body)
    }
}

/// How an endpoint writes errors: Prometheus' JSON envelope, or plain text with the status
/// alone (remote write and read, federation).
enum ErrorBody: Sendable { case json, text }

/// What a gated handler gets besides the request.
final class RequestScope: Sendable {
    let params: Params
    let cancellation: QueryCancellation
    /// Time spent waiting for the slot (counts against a query's timeout, as in Prometheus).
    let waited: Duration
    private let slot: ConcurrencyGate.Slot
    private let kept = Atomic<Bool>(false)

    init(params: Params, cancellation: QueryCancellation, waited: Duration, slot: ConcurrencyGate.Slot) {
        self.params = params; self.cancellation = cancellation; self.waited = waited; self.slot = slot
    }

    /// Keeps the slot after the handler returns, for a body streamed later; whoever writes the
    /// body releases it (dropping the slot releases it too).
    func keepSlot() -> ConcurrencyGate.Slot {
        kept.store(true, ordering: .relaxed)
        return slot
    }

    fileprivate func finish() { if !kept.load(ordering: .relaxed) { slot.release() } }
}

extension PrometheusAPI {
    /// Runs `handler` for a request: its parameters parsed (unless `params` is given), a slot of
    /// `gate` held, on a thread with the query stack; API errors become responses in `errors`'
    /// format. A request whose client leaves while it waits never runs; one that leaves while it
    /// runs is stopped by the engine. Both answer 499 and count as canceled.
    /// `validate` checks the parameters before the request waits for a slot, so a malformed one
    /// is refused at once rather than after the queries ahead of it.
    /// `queueTimeout` bounds the wait for a slot (a query's timeout): past it the request is
    /// answered `503 timeout` at once, as Prometheus does, not when a slot frees.
    func serve(_ req: Request, _ context: Context, gate: ConcurrencyGate, errors: ErrorBody, params given: Params? = nil,
               queue: String = "query queue", validate: ((Params) throws -> Void)? = nil,
               queueTimeout: ((Params) -> Duration?)? = nil,
               _ handler: @escaping @Sendable (RequestScope) throws -> Response) async -> Response {
        var params: Params
        do {
            if let given { params = given } else { params = try await Self.params(req) }
            params.tenant = try queryTenant(req.headers)
            try validate?(params)
        } catch let e as APIError { return APIResponses.error(e, errors) } catch {
            return APIResponses.error(APIError(.badData, "\(error)"), errors)
        }
        let response = await withRequestCancellation(context) { cancellation in
            let queued = ContinuousClock.now
            let slot: ConcurrencyGate.Slot?
            if let timeout = queueTimeout?(params) { slot = await gate.hold(timeout: timeout, unless: cancellation) }
            else { slot = await gate.hold(unless: cancellation) }
            guard let slot else {
                if !cancellation.isCancelled { return APIResponses.error(APIError(.timeout, "query timed out in \(queue)"), errors) }
                return APIResponses.error(APIError(.canceled, "query was canceled in \(queue)"), errors)
            }
            let scope = RequestScope(params: params, cancellation: cancellation, waited: ContinuousClock.now - queued, slot: slot)
            let result = await BlockingThread.run(stackBytes: BlockingThread.queryStackBytes) { () -> Result<Response, APIError> in
                do { return .success(try handler(scope)) } catch let e as APIError { return .failure(e) } catch {
                    return .failure(APIError(.internal, "\(error)"))
                }
            }
            scope.finish()
            switch result {
            case .success(let response): return response
            case .failure(let e): return APIResponses.error(e, errors)
            }
        }
        if response.status.code == 499 { stats.queriesCanceled.add(1, ordering: .relaxed) }
        return response
    }

    /// Calls `body` with this request's cancellation token, fired when its client disconnects.
    /// The request has a token of its own, linked to the connection's: cancelling one request
    /// (its task) must not mark the whole keep-alive connection as gone.
    func withRequestCancellation<T>(_ context: Context, _ body: (QueryCancellation) async -> T) async -> T {
        let cancellation = QueryCancellation()
        let clientGone = await (context as? any DisconnectAwareRequestContext)?.clientGone
        let link = clientGone?.onCancel { cancellation.cancel() }
        defer { clientGone?.removeHandler(link) }
        return await body(cancellation)
    }
}
