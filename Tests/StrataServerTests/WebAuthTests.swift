import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataServer
import StrataTestSupport
import Testing

/// Basic auth from `--web.config.file` in front of the whole server, as exporter-toolkit puts it
/// in front of Prometheus: every route, with hashes made by two independent bcrypt
/// implementations (Apache's htpasswd, `$2y$`, and Python's bcrypt, `$2b$`).
@Suite struct WebAuthTests {
    struct Answer { let status: UInt; let headers: HTTPHeaders; let body: String }

    static func call(_ port: Int, _ method: HTTPMethod = .GET, _ path: String, authorization: String? = nil,
                     contentType: String? = nil, body: [UInt8]? = nil) async throws -> Answer {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        req.method = method
        if let authorization { req.headers.add(name: "Authorization", value: authorization) }
        if let contentType { req.headers.add(name: "Content-Type", value: contentType) }
        if let body {
            req.headers.add(name: "Content-Encoding", value: "snappy")
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        let r = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let text = String(buffer: try await r.body.collect(upTo: 1 << 20))
        return Answer(status: r.status.code, headers: r.headers, body: text)
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// A server whose web config has `alice` (htpasswd hash of "alice-pw") and `bob` (Python
    /// bcrypt hash of "bob-pw"), and `extra` lines.
    static func withGuardedStrata(extra: String = "", healthOpen: Bool = false,
                                  inspectRoutes: ([(method: String, path: String)]) -> Void = { _ in },
                                  _ body: @Sendable @escaping (Int, String) async throws -> Void) async throws {
        guard let alice = try await htpasswdHash("alice-pw"), let bob = try await pythonBcryptHash("bob-pw") else { return }
        #expect(alice.hasPrefix("$2y$") && bob.hasPrefix("$2b$"))
        let dir = try TempDir("web-auth")
        defer { dir.remove() }
        let file = dir.file("web.yml")
        try "basic_auth_users:\n  alice: \(alice)\n  bob: \(bob)\n\(extra)".write(toFile: file, atomically: true, encoding: .utf8)
        var config = ServerConfig()
        config.webConfigFile = file
        config.healthProbesWithoutAuth = healthOpen
        let auth = basic("alice", "alice-pw")
        try await withStrata(config, ready: { port in try await waitUntilReady(port: port, authorization: auth) },
                             inspectRoutes: inspectRoutes) { port in try await body(port, file) }
    }

    /// Every route the router has, walked from its own list so a new route cannot slip through:
    /// without credentials, with a wrong password, as an unknown user or with a malformed header,
    /// 401 with `WWW-Authenticate: Basic`; with either user's right password, anything but 401.
    @Test(.timeLimit(.minutes(3)))
    func everyRouteAsksForCredentials() async throws {
        let routes = RouteBox()
        try await Self.withGuardedStrata(inspectRoutes: { routes.value = $0 }) { port, _ in
            let all = routes.value
            #expect(all.count > 30, "the router lists \(all.count) routes")
            // Paths the router does not know are guarded too.
            let paths = all.map { r in
                (r.method, "/" + r.path.split(separator: "/").map { $0.first == ":" || $0.first == "{" || $0.hasPrefix("*") ? "x" : String($0) }
                    .joined(separator: "/"))
            } + [("GET", "/no/such/route"), ("POST", "/api/v1/nothing")]
            let refused: [String?] = [nil, Self.basic("alice", "wrong"), Self.basic("mallory", "alice-pw"), Self.basic("alice", ""),
                                      "Bearer abc", "Basic !!!notbase64", "Basic " + Data("alice".utf8).base64EncodedString(),
                                      Self.basic("alice", String(repeating: "x", count: 5000))]
            for (method, path) in paths {
                let m = HTTPMethod(rawValue: method)
                for authorization in refused {
                    let a = try await Self.call(port, m, path, authorization: authorization)
                    #expect(a.status == 401, "\(method) \(path) with \(authorization ?? "no credentials") answered \(a.status)")
                    #expect(a.headers["WWW-Authenticate"] == ["Basic"])
                    if m != .HEAD { #expect(a.body == "Unauthorized\n") }
                }
                for authorization in [Self.basic("alice", "alice-pw"), Self.basic("bob", "bob-pw")] {
                    let a = try await Self.call(port, m, path, authorization: authorization)
                    #expect(a.status != 401, "\(method) \(path) refused right credentials")
                }
            }
            for path in ["/-/healthy", "/-/ready", "/metrics", "/api/v1/labels", "/api/v1/query?query=1", "/api/v1/status/buildinfo"] {
                #expect(try await Self.call(port, .GET, path, authorization: Self.basic("bob", "bob-pw")).status == 200, "\(path)")
            }
        }
    }

    /// A refused remote write stores nothing; an accepted one is queryable.
    @Test(.timeLimit(.minutes(2)))
    func refusedWritesStoreNothing() async throws {
        try await Self.withGuardedStrata { port, _ in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            func write(_ name: String) -> [UInt8] {
                var b = WriteRequestBuilder()
                b.add([("__name__", name)], [(now, 1)])
                return b.snappyBody()
            }
            let denied = try await Self.call(port, .POST, "/api/v1/write", authorization: Self.basic("bob", "alice-pw"),
                                             contentType: "application/x-protobuf", body: write("denied"))
            #expect(denied.status == 401)
            let accepted = try await Self.call(port, .POST, "/api/v1/receive", authorization: Self.basic("alice", "alice-pw"),
                                               contentType: "application/x-protobuf", body: write("accepted"))
            #expect(accepted.status / 100 == 2)
            let names = try await Self.call(port, .GET, "/api/v1/label/__name__/values", authorization: Self.basic("alice", "alice-pw"))
            #expect(names.body.contains("\"accepted\"") && !names.body.contains("\"denied\""), "\(names.body)")
        }
    }

    /// Configured headers are on every answer, the 401 and the 404 included; the health probes
    /// answer without credentials only when asked to.
    @Test(.timeLimit(.minutes(2)))
    func headersAndOpenHealthProbes() async throws {
        let headers = "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n    Content-Security-Policy: default-src 'self'\n"
        try await Self.withGuardedStrata(extra: headers, healthOpen: true) { port, _ in
            for (path, auth, status) in [("/-/healthy", nil, 200), ("/-/ready", nil, 200), ("/api/v1/labels", nil, 401),
                                         ("/metrics", nil, 401), ("/nowhere", Self.basic("alice", "alice-pw"), 404),
                                         ("/api/v1/labels", Self.basic("alice", "alice-pw"), 200)] as [(String, String?, UInt)] {
                let a = try await Self.call(port, .GET, path, authorization: auth)
                #expect(a.status == status, "\(path)")
                #expect(a.headers["X-Frame-Options"] == ["sameorigin"], "\(path)")
                #expect(a.headers["Content-Security-Policy"] == ["default-src 'self'"], "\(path)")
            }
        }
        try await Self.withGuardedStrata { port, _ in
            let closed = try await Self.call(port, .GET, "/-/healthy")
            #expect(closed.status == 401)
        }
    }

    /// A password changed in the file applies without a restart.
    @Test(.timeLimit(.minutes(2)))
    func aChangedPasswordAppliesWithoutARestart() async throws {
        try await Self.withGuardedStrata { port, file in
            guard let newHash = try await pythonBcryptHash("alice-new") else { return }
            try "basic_auth_users:\n  alice: \(newHash)\n".write(toFile: file, atomically: true, encoding: .utf8)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, try await Self.call(port, .GET, "/api/v1/labels", authorization: Self.basic("alice", "alice-new")).status != 200 {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await Self.call(port, .GET, "/api/v1/labels", authorization: Self.basic("alice", "alice-new")).status == 200)
            #expect(try await Self.call(port, .GET, "/api/v1/labels", authorization: Self.basic("alice", "alice-pw")).status == 401)
            #expect(try await Self.call(port, .GET, "/api/v1/labels", authorization: Self.basic("bob", "bob-pw")).status == 401)
        }
    }
}

/// The router's routes, handed out of `buildApplication`.
final class RouteBox: @unchecked Sendable {
    var value: [(method: String, path: String)] = []
}
