import HTTPTypes
import Hummingbird

/// What the web configuration asks of every request (`--web.config.file`): basic auth when users
/// are configured, and extra headers on every response.
public struct WebAccessPolicy: Sendable {
    /// User → bcrypt hash; empty: no authentication.
    public var users: [String: String] = [:]
    /// Set on every response, the 401 included.
    public var headers: [(name: HTTPField.Name, value: String)] = []
    /// Paths answered without credentials (`/-/healthy` and `/-/ready` when asked for).
    public var openPaths: Set<String> = []

    public init() {}
}

/// Guards the whole server, in front of the router: every path, routed or not, asks for
/// credentials, so a route added later cannot be left open by mistake. Answers as exporter-toolkit
/// does: 401 with `WWW-Authenticate: Basic` and Go's `Unauthorized` body.
public struct WebGuardResponder<Base: HTTPResponder>: HTTPResponder where Base.Context: RequestContext {
    public typealias Context = Base.Context
    let base: Base
    let policy: @Sendable () -> WebAccessPolicy
    let verifier: BasicAuthVerifier

    public init(_ base: Base, verifier: BasicAuthVerifier, policy: @escaping @Sendable () -> WebAccessPolicy) {
        self.base = base
        self.verifier = verifier
        self.policy = policy
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let p = policy()
        var allowed = p.users.isEmpty || p.openPaths.contains(request.uri.path)
        if !allowed { allowed = await verifier.verify(authorization: request.headers[.authorization], users: p.users) }
        var response: Response
        if allowed {
            do {
                response = try await base.respond(to: request, context: context)
            } catch let error as any HTTPResponseError {
                guard !p.headers.isEmpty else { throw error }
                response = try error.response(from: request, context: context)
            }
        } else {
            response = Response(status: .unauthorized,
                                headers: [.wwwAuthenticate: "Basic", .contentType: "text/plain; charset=utf-8",
                                          .xContentTypeOptions: "nosniff"],
                                body: .init(byteBuffer: .init(string: "Unauthorized\n")))
        }
        for h in p.headers { response.headers[h.name] = h.value }
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
