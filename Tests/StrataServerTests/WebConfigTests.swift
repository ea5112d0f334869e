import Foundation
import Logging
@testable import StrataServer
import StrataTestSupport
import Testing

/// `--web.config.file` read as exporter-toolkit reads it: the same keys, defaults and messages.
@Suite struct WebConfigTests {
    static let hash = "$2y$10$j6uP/d71BGjBIZWvzq8t3.I7eJ8htIpdLVVsDfv0f2TpIig39t2Pe" // htpasswd -bnBC 10 user pass

    @Test func readsEveryKey() throws {
        let c = try WebConfig.parse("""
            tls_server_config:
              cert_file: tls/server.crt
              key_file: /etc/strata/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              min_version: TLS13
              max_version: TLS13
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
              curve_preferences: [X25519, CurveP256]
              prefer_server_cipher_suites: false
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              alice: \(Self.hash)
            """, directory: "/srv/strata")
        let tls = try #require(c.tls)
        #expect(tls.certFile == "/srv/strata/tls/server.crt")
        #expect(tls.keyFile == "/etc/strata/server.key")
        #expect(tls.clientCAFile == "/srv/strata/ca.crt")
        #expect(tls.clientAuth == .requireAndVerify)
        #expect(tls.minVersion == .tlsv13 && tls.maxVersion == .tlsv13)
        #expect(tls.cipherSuites.map(\.rawValue) == [0xC02F])
        #expect(tls.curves == [.x25519, .secp256r1])
        #expect(tls.files == ["/srv/strata/tls/server.crt", "/etc/strata/server.key", "/srv/strata/ca.crt"])
        #expect(!c.http2)
        #expect(c.headers.map(\.name) == ["X-Frame-Options", "Strict-Transport-Security"])
        #expect(c.users == ["alice": Self.hash])
    }

    @Test func anEmptyFileTurnsNothingOn() throws {
        let c = try WebConfig.parse("", directory: ".")
        #expect(c.tls == nil && c.users.isEmpty && c.headers.isEmpty && c.http2)
        // Basic auth alone, without TLS, is allowed (exporter-toolkit serves plain HTTP then).
        #expect(try WebConfig.parse("basic_auth_users:\n  a: \(Self.hash)\n", directory: ".").tls == nil)
    }

    /// Each mistake, with exporter-toolkit's message (yaml.v2's for the strict decoding).
    @Test(arguments: [
        ("tls_server_config:\n  cert_file: a\n  key_file: b\nfoo: 1\n", "line 4: field foo not found in type web.Config"),
        ("tls_server_config:\n  certfile: a\n", "line 2: field certfile not found in type web.TLSConfig"),
        ("http_server_config:\n  headers:\n    X-Powered-By: strata\n", "HTTP header \"X-Powered-By\" can not be configured"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
         "invalid value for X-Frame-Options. Expected one of: [\"deny\" \"sameorigin\"], but got: \"allow\""),
        ("http_server_config:\n  http2: maybe\n", "cannot unmarshal !!str `maybe` into bool"),
        ("tls_server_config:\n  key_file: b\n", "missing one of cert or cert_file"),
        ("tls_server_config:\n  cert_file: a\n", "missing one of key or key_file"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n", "client CA's have been configured without a Client Auth Policy"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n", "invalid ClientAuth: Sometimes"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: SSL3\n", "unknown TLS version: SSL3"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", "unknown cipher: TLS_RSA_WITH_RC4_128_SHA"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P192]\n", "unknown curve: P192"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [x]\n",
         "client_allowed_sans is not supported"),
        ("basic_auth_users:\n  alice: secret\n", "basic_auth_users: user \"alice\": crypto/bcrypt: hashedSecret too short to be a bcrypted password"),
        ("basic_auth_users:\n  alice: x2y$10$j6uP/d71BGjBIZWvzq8t3.I7eJ8htIpdLVVsDfv0f2TpIig39t2Pe\n",
         "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with 'x'"),
        ("basic_auth_users:\n  alice: $2y$99$j6uP/d71BGjBIZWvzq8t3.I7eJ8htIpdLVVsDfv0f2TpIig39t2Pe\n",
         "crypto/bcrypt: cost 99 is outside allowed range (4,31)"),
        ("basic_auth_users: [alice]\n", "cannot unmarshal !!seq into map[string]string"),
        ("tls_server_config: [\n", "parsing web config"),
    ])
    func refuses(_ yaml: String, _ message: String) {
        #expect {
            _ = try WebConfig.parse(yaml, directory: ".")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func startFailsWithOneLineNamingTheFile() throws {
        let dir = try TempDir("web-config")
        defer { dir.remove() }
        #expect(throws: ConfigError.self) { try WebConfig.load(path: dir.file("missing.yml")) }
        do {
            _ = try WebConfig.load(path: dir.file("missing.yml"))
        } catch {
            #expect("\(error)".hasPrefix("--web.config.file \(dir.file("missing.yml")): cannot read it"))
        }
        try "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n".write(toFile: dir.file("web.yml"), atomically: true, encoding: .utf8)
        // The files are named relative to the web config's directory, and read at start.
        do {
            _ = try WebConfigSource(path: dir.file("web.yml"), openPaths: [], logger: .init(label: "test"))
            Issue.record("a web config whose certificate is missing loaded")
        } catch {
            #expect("\(error)" == "--web.config.file \(dir.file("web.yml")): failed to read cert_file (\(dir.file("server.crt"))): no such file or directory")
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test func aMismatchedKeyOrABadCertificateFailsTheStart() async throws {
        let dir = try TempDir("web-config")
        defer { dir.remove() }
        guard let pki = TestPKI.make(dir) else { return }
        try await pki.certificate("server", signedBy: nil)
        try await pki.certificate("other", signedBy: nil)
        try "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n".write(toFile: dir.file("web.yml"), atomically: true, encoding: .utf8)
        #expect {
            _ = try WebConfigSource(path: dir.file("web.yml"), openPaths: [], logger: .init(label: "test"))
        } throws: { "\($0)".contains("private key does not match public key") }
        try "not a certificate".write(toFile: dir.file("bad.crt"), atomically: true, encoding: .utf8)
        try "tls_server_config:\n  cert_file: bad.crt\n  key_file: server.key\n".write(toFile: dir.file("web.yml"), atomically: true, encoding: .utf8)
        #expect {
            _ = try WebConfigSource(path: dir.file("web.yml"), openPaths: [], logger: .init(label: "test"))
        } throws: { "\($0)".contains("failed to load X509KeyPair: certificate \(dir.file("bad.crt"))") }
        try "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n".write(toFile: dir.file("web.yml"), atomically: true, encoding: .utf8)
        let source = try WebConfigSource(path: dir.file("web.yml"), openPaths: [], logger: .init(label: "test"))
        #expect(source.current().tlsContext != nil)
    }

    /// A change is picked up; a change that does not load leaves the last good configuration.
    @Test func reloadsWhenTheFileChangesAndKeepsTheLastGoodOne() async throws {
        let dir = try TempDir("web-config")
        defer { dir.remove() }
        let path = dir.file("web.yml")
        try "basic_auth_users:\n  alice: \(Self.hash)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let source = try WebConfigSource(path: path, openPaths: ["/-/ready"], logger: .init(label: "test"))
        #expect(Set(source.current().access.users.keys) == ["alice"])
        #expect(source.current().access.openPaths == ["/-/ready"])
        try "basic_auth_users:\n  bob: \(Self.hash)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try await Task.sleep(for: WebConfigSource.checkInterval + .milliseconds(100))
        #expect(Set(source.current().access.users.keys) == ["bob"])
        try "basic_auth_users:\n  carol: plain-text\n".write(toFile: path, atomically: true, encoding: .utf8)
        try await Task.sleep(for: WebConfigSource.checkInterval + .milliseconds(100))
        #expect(Set(source.current().access.users.keys) == ["bob"])
    }
}
