#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataServer
import StrataTestSupport
import Testing

/// TLS from `--web.config.file`, checked with real clients: curl, and Prometheus 2.42 writing
/// and reading over TLS with basic auth, and promtool querying.
@Suite struct WebTLSTests {
    /// A TLS server (certificate `server`, signed by the CA `ca`) with basic auth for alice;
    /// with `clientCertificates`, clients must present a certificate from the CA `clientca`
    /// (`client.crt` is one). `body` gets the port, the PKI and curl's path.
    static func withTLSStrata(clientCertificates: Bool = false, clientSubject: String = "/CN=localhost",
                              configure: (inout ServerConfig) -> Void = { _ in },
                              _ body: @Sendable @escaping (Int, TestPKI, String) async throws -> Void) async throws {
        let dir = try TempDir("web-tls")
        defer { dir.remove() }
        guard let pki = TestPKI.make(dir), let curl = requiredTool("curl"), let hash = try await htpasswdHash("alice-pw") else { return }
        try await pki.ca("ca")
        try await pki.certificate("server", signedBy: "ca")
        var clientAuth = ""
        if clientCertificates {
            try await pki.ca("clientca")
            try await pki.certificate("client", signedBy: "clientca", subject: clientSubject)
            clientAuth = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clientca.crt\n"
        }
        try """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            \(clientAuth)basic_auth_users:
              alice: \(hash)
            """.write(toFile: dir.file("web.yml"), atomically: true, encoding: .utf8)
        var config = ServerConfig()
        config.webConfigFile = dir.file("web.yml")
        configure(&config)
        let clientCert = clientCertificates ? ["--cert", dir.file("client.crt"), "--key", dir.file("client.key")] : []
        try await withStrata(config, ready: { port in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let r = try await Tools.runAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", dir.file("ca.crt"),
                                                        "-u", "alice:alice-pw", "https://127.0.0.1:\(port)/-/ready"] + clientCert)
                if r.stdout == "200" { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw StrataTestError("the TLS server did not become ready")
        }) { port in try await body(port, pki, curl) }
    }

    /// curl with the CA answers; without it, or in plain HTTP, the connection fails cleanly.
    @Test(.timeLimit(.minutes(2)))
    func curlWithTheCAAndPlainHTTPRefused() async throws {
        try await Self.withTLSStrata { port, pki, curl in
            let ok = try await Tools.runAsync(curl, ["-s", "--cacert", pki.dir.file("ca.crt"), "-u", "alice:alice-pw",
                                                     "https://localhost:\(port)/api/v1/status/buildinfo"])
            #expect(ok.status == 0 && ok.stdout.contains("\"status\":\"success\""), "\(ok.stdout) \(ok.stderr)")
            let noAuth = try await Tools.runAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.dir.file("ca.crt"),
                                                         "https://localhost:\(port)/api/v1/labels"])
            #expect(noAuth.stdout == "401")
            // Not trusted: curl's "SSL certificate problem" (60).
            let untrusted = try await Tools.runAsync(curl, ["-s", "-u", "alice:alice-pw", "https://localhost:\(port)/api/v1/labels"])
            #expect(untrusted.status == 60, "\(untrusted.status) \(untrusted.stderr)")
            // Plain HTTP to the TLS port: Go's answer, then the connection closes.
            let plain = try await Tools.runAsync(curl, ["-s", "-w", "%{http_code}", "http://127.0.0.1:\(port)/api/v1/labels"])
            #expect(plain.stdout == "Client sent an HTTP request to an HTTPS server.\n400", "\(plain.stdout)")
            // The server is still serving.
            let again = try await Tools.runAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.dir.file("ca.crt"),
                                                        "-u", "alice:alice-pw", "https://localhost:\(port)/-/healthy"])
            #expect(again.stdout == "200")
        }
    }

    /// A certificate replaced on disk (as cert-manager or certbot do) is served to the next
    /// connections without a restart.
    @Test(.timeLimit(.minutes(2)))
    func aRenewedCertificateIsPickedUp() async throws {
        try await Self.withTLSStrata { port, pki, curl in
            // RSA this time (the first was P-256): both kinds of key are served.
            try await pki.ca("ca2", rsa: true)
            try await pki.certificate("renewed", signedBy: "ca2", rsa: true)
            // Renamed into place, key first: a reader never sees half a file.
            for ext in ["key", "crt"] {
                #expect(rename(pki.dir.file("renewed.\(ext)"), pki.dir.file("server.\(ext)")) == 0)
            }
            func status(_ ca: String) async throws -> String {
                try await Tools.runAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.dir.file("\(ca).crt"),
                                                "-u", "alice:alice-pw", "https://localhost:\(port)/-/healthy"]).stdout
            }
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, try await status("ca2") != "200" { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await status("ca2") == "200")
            #expect(try await status("ca") == "000", "the old CA still verifies the server")
        }
    }

    /// `RequireAndVerifyClientCert` with a client CA: only clients with a certificate from it.
    @Test(.timeLimit(.minutes(2)))
    func clientCertificatesAreVerified() async throws {
        try await Self.withTLSStrata(clientCertificates: true) { port, pki, curl in
            try await pki.certificate("stranger", signedBy: nil)
            func status(_ cert: String?) async throws -> String {
                let client = cert.map { ["--cert", pki.dir.file("\($0).crt"), "--key", pki.dir.file("\($0).key")] } ?? []
                return try await Tools.runAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.dir.file("ca.crt"),
                                                       "-u", "alice:alice-pw", "https://localhost:\(port)/-/healthy"] + client).stdout
            }
            #expect(try await status("client") == "200")
            #expect(try await status(nil) == "000")
            #expect(try await status("stranger") == "000")
        }
    }

    /// `--receive.tenant-certificate-field`: the client certificate's field names the tenant, over
    /// any tenant header; a certificate without the field is refused with Thanos' message.
    @Test(.timeLimit(.minutes(2)))
    func theClientCertificateNamesTheTenant() async throws {
        try await Self.withTLSStrata(clientCertificates: true, clientSubject: "/O=team-a/OU=ops/CN=agent-1",
                                     configure: { $0.tenancy.certificateField = .organization }) { port, pki, curl in
            try await pki.certificate("nameless", signedBy: "clientca", subject: "/OU=ops/CN=agent-2")
            var b = WriteRequestBuilder()
            b.add([("__name__", "cert_tenant_metric")], [(1_700_000_000_000, 7)])
            try Data(b.snappyBody()).write(to: URL(fileURLWithPath: pki.dir.file("body.bin")))
            func write(_ cert: String) async throws -> (String, String) {
                let r = try await Tools.runAsync(curl, [
                    "-s", "-w", "\n%{http_code}", "--cacert", pki.dir.file("ca.crt"), "-u", "alice:alice-pw",
                    "--cert", pki.dir.file("\(cert).crt"), "--key", pki.dir.file("\(cert).key"),
                    "-H", "Content-Type: application/x-protobuf", "-H", "Content-Encoding: snappy", "-H", "THANOS-TENANT: spoofed",
                    "--data-binary", "@" + pki.dir.file("body.bin"), "https://localhost:\(port)/api/v1/receive",
                ])
                let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
            }
            #expect(try await write("client").0 == "200")
            let refused = try await write("nameless")
            #expect(refused.0 == "400" && refused.1.contains("could not get organization field from client cert"), "\(refused)")
            let read = try await Tools.runAsync(curl, [
                "-s", "-g", "--cacert", pki.dir.file("ca.crt"), "-u", "alice:alice-pw", "--cert", pki.dir.file("client.crt"), "--key", pki.dir.file("client.key"),
                "https://localhost:\(port)/api/v1/series?match[]=cert_tenant_metric",
            ])
            #expect(read.stdout.contains(#""tenant_id":"team-a""#) && !read.stdout.contains("spoofed"), "\(read.stdout)")
        }
    }

    /// Real Go clients over TLS with basic auth: Prometheus 2.42 remote-writes what it scrapes and
    /// remote-reads a series only Strata has; promtool (which in 2.42 has no --http.config.file)
    /// queries with the credentials in the URL and the CA in SSL_CERT_FILE.
    @Test(.timeLimit(.minutes(3)))
    func prometheusWritesAndReadsOverTLSWithBasicAuth() async throws {
        guard let prometheus = requiredTool("prometheus"), let promtool = requiredTool("promtool") else { return }
        try await Self.withTLSStrata { port, pki, curl in
            // A series only Strata has, written with curl.
            var b = WriteRequestBuilder()
            b.add([("__name__", "only_in_strata"), ("via", "tls")], [(Int64(Date().timeIntervalSince1970 * 1000), 42)])
            try Data(b.snappyBody()).write(to: URL(fileURLWithPath: pki.dir.file("write.bin")))
            let w = try await Tools.runAsync(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.dir.file("ca.crt"),
                                                    "-u", "alice:alice-pw", "-H", "Content-Type: application/x-protobuf",
                                                    "-H", "Content-Encoding: snappy", "--data-binary", "@" + pki.dir.file("write.bin"),
                                                    "https://localhost:\(port)/api/v1/write"])
            #expect(w.stdout == "204")

            let endpoint = """
                    basic_auth:
                      username: alice
                      password: alice-pw
                    tls_config:
                      ca_file: \(pki.dir.file("ca.crt"))
                """
            let (prom, promPort) = try await startPrometheus(prometheus, dir: pki.dir) { promPort in """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: prometheus
                    static_configs:
                      - targets: ["127.0.0.1:\(promPort)"]
                remote_write:
                  - url: https://localhost:\(port)/api/v1/write
                \(endpoint)
                    queue_config:
                      batch_send_deadline: 1s
                      min_backoff: 50ms
                remote_read:
                  - url: https://localhost:\(port)/api/v1/read
                    read_recent: true
                \(endpoint)
                """ }
            defer { prom.stop() }

            // Written through TLS and basic auth, read by promtool the same way.
            let strata = "https://alice:alice-pw@localhost:\(port)"
            let env = ["SSL_CERT_FILE": pki.dir.file("ca.crt")]
            var written = ""
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let r = try await Tools.runAsync(promtool, ["query", "instant", strata, "prometheus_build_info"], environment: env)
                if r.status == 0 && r.stdout.contains("=> 1") { written = r.stdout; break }
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(written.contains("job=\"prometheus\""), "Prometheus' samples did not arrive:\n\(prom.log)")
            // Without credentials promtool is refused.
            let refused = try await Tools.runAsync(promtool, ["query", "instant", "https://localhost:\(port)", "up"], environment: env)
            #expect(refused.status != 0 && refused.stderr.contains("401"), "\(refused.stderr)")

            // Prometheus reads Strata's series back through remote read.
            let read = try await Tools.runAsync(promtool, ["query", "instant", "http://127.0.0.1:\(promPort)", "only_in_strata"])
            #expect(read.stdout.contains("only_in_strata{tenant_id=\"default-tenant\", via=\"tls\"} => 42"), "\(read.stdout)\(read.stderr)\n\(prom.log)")
        }
    }

    /// A web config that cannot be served stops `strata serve` before it touches the data
    /// directory, with one line that names the file and the problem.
    @Test(.timeLimit(.minutes(2)))
    func aBadWebConfigStopsTheStartWithOneLine() async throws {
        guard let binary = strataBinary() else { return }
        let dir = try TempDir("web-tls-start")
        defer { dir.remove() }
        guard let pki = TestPKI.make(dir) else { return }
        try await pki.certificate("server", signedBy: nil)
        try await pki.certificate("other", signedBy: nil)
        let cases: [(String, String)] = [
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n", "private key does not match public key"),
            ("tls_server_config:\n  cert_file: gone.crt\n  key_file: server.key\n", "failed to read cert_file (\(dir.file("gone.crt"))): no such file or directory"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth: x\n", "field client_auth not found in type web.TLSConfig"),
            ("basic_auth_users:\n  alice: hunter2\n", "hashedSecret too short"),
        ]
        for (i, (yaml, message)) in cases.enumerated() {
            try yaml.write(toFile: dir.file("web\(i).yml"), atomically: true, encoding: .utf8)
            let r = try await Tools.runAsync(binary, ["serve", "--http-address", "127.0.0.1:0", "--tsdb.path", dir.file("data"),
                                                      "--web.config.file", dir.file("web\(i).yml")], timeout: 30)
            #expect(r.status != 0)
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains(dir.file("web\(i).yml")) && lines[0].contains(message), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file("data")), "a refused start created the data directory")
        }
    }
}
