import HTTPTypes
import Hummingbird
import Synchronization

/// Registers the API's routes on a Hummingbird router and remembers which methods each path
/// takes, so `APIMethodsMiddleware` can answer other methods as Prometheus' router does:
/// `OPTIONS` with 204 (and CORS headers), anything else with 405 and an `Allow` header.
struct APIRouter<Context: RequestContext> {
    let router: Router<Context>
    let table: RouteTable

    @discardableResult
    func on(_ path: RouterPath, method: HTTPRequest.Method,
            use handler: @escaping @Sendable (Request, Context) async throws -> Response) -> Self {
        table.add(path.description, method)
        router.on(path, method: method, use: handler)
        return self
    }

    @discardableResult
    func get(_ path: RouterPath, use handler: @escaping @Sendable (Request, Context) async throws -> Response) -> Self {
        on(path, method: .get, use: handler)
    }

    @discardableResult
    func post(_ path: RouterPath, use handler: @escaping @Sendable (Request, Context) async throws -> Response) -> Self {
        on(path, method: .post, use: handler)
    }
}

/// Path patterns (`/api/v1/label/:name/values`) and the methods registered for each.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], methods: Set<HTTPRequest.Method>)]>([])

    func add(_ pattern: String, _ method: HTTPRequest.Method) {
        let segments = pattern.split(separator: "/")
        routes.withLock { all in
            if let i = all.firstIndex(where: { $0.segments == segments }) { all[i].methods.insert(method) }
            else { all.append((segments, [method])) }
        }
    }

    /// The methods registered for `path`, nil when no route matches it.
    func methods(for path: Substring) -> Set<HTTPRequest.Method>? {
        let parts = path.split(separator: "/")
        return routes.withLock { all in
            all.first { r in
                r.segments.count == parts.count
                    && zip(r.segments, parts).allSatisfy { $0.first == ":" || $0.first == "{" || $0 == $1 }
            }?.methods
        }
    }
}

/// Prometheus' API behaviour around the handlers (`api.Register` and `wrap`): CORS headers on
/// every API answer to a request with an `Origin`, `OPTIONS` answered with 204, and a method the
/// path does not take answered with 405 instead of 404.
struct APIMethodsMiddleware<Context: RequestContext>: RouterMiddleware {
    let table: RouteTable

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/"), let methods = table.methods(for: path[...]) else {
            return try await next(request, context)
        }
        var response: Response
        if request.method == .options {
            response = Response(status: .noContent)
        } else if !methods.contains(request.method) {
            let allow = (methods.union([.options])).map(\.rawValue).sorted().joined(separator: ", ")
            response = Response(status: .methodNotAllowed,
                                headers: [.contentType: "text/plain; charset=utf-8", .allow: allow],
                                body: .init(byteBuffer: .init(string: request.method == .head ? "" : "Method Not Allowed\n")))
        } else {
            response = try await next(request, context)
        }
        if request.headers[.origin] != nil {
            // Prometheus' defaults (`--web.cors.origin=.*`).
            response.headers[.accessControlAllowHeaders] = "Accept, Authorization, Content-Type, Origin"
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlExposeHeaders] = "Date"
            response.headers[.accessControlAllowOrigin] = "*"
        }
        return response
    }
}
