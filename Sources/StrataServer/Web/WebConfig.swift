import Foundation
import NIOSSL
import StrataGoYAML
import StrataModel

/// `--web.config.file`: Prometheus' web configuration (prometheus/exporter-toolkit), read as its
/// `getConfig` reads it (yaml.v2 strict, relative file names taken from the file's directory) and
/// checked as its `Validate` checks it, with the same messages. TLS, basic auth with bcrypt hashes,
/// and extra response headers; `rate_limit`, newer than Prometheus 2.x, is not a key here.
public struct WebConfig: Sendable {
    public var tls: TLS?
    /// `http_server_config.http2`: accepted, but Strata serves HTTP/1.1 only (clients fall back).
    public var http2 = true
    /// `http_server_config.headers`: set on every response.
    public var headers: [(name: String, value: String)] = []
    /// `basic_auth_users`: user → bcrypt hash. Empty: no basic auth.
    public var users: [String: String] = [:]

    public struct TLS: Sendable {
        public var certFile = "", keyFile = "", clientCAFile = ""
        /// Inline PEM, instead of the files.
        public var cert = "", key = "", clientCA = ""
        public var clientAuth = ClientAuth.none
        public var minVersion = TLSVersion.tlsv12, maxVersion = TLSVersion.tlsv13
        public var cipherSuites: [NIOTLSCipher] = []
        public var curves: [NIOTLSCurve] = []

        /// Go's `tls.ClientAuthType`, by exporter-toolkit's names.
        public enum ClientAuth: String, Sendable {
            case none = "NoClientCert"
            case request = "RequestClientCert"
            case requireAny = "RequireAnyClientCert"
            case verifyIfGiven = "VerifyClientCertIfGiven"
            case requireAndVerify = "RequireAndVerifyClientCert"
        }

        /// The files this configuration reads, so a change to any of them is noticed.
        public var files: [String] { [certFile, keyFile, clientCAFile].filter { !$0.isEmpty } }
    }

    public init() {}

    /// Reads and checks `path` (not the TLS files it names: `TLS.makeContext` reads those); every
    /// error names the file.
    public static func load(path: String) throws -> WebConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError("--web.config.file \(path): cannot read it: \(error.localizedDescription)")
        }
        do {
            let directory = (path as NSString).deletingLastPathComponent
            return try parse(text, directory: directory.isEmpty ? "." : directory)
        } catch let e as ConfigError {
            throw ConfigError("--web.config.file \(path): \(e.description)")
        } catch {
            throw ConfigError("--web.config.file \(path): \(error)")
        }
    }

    /// Parses the YAML; relative `*_file` paths are joined to `directory`. Files are not read.
    public static func parse(_ text: String, directory: String) throws -> WebConfig {
        let top: DecodedFields
        do { top = try decodeGoYAML(text, as: .webConfig, what: "parsing web config") } catch {
            // yaml.v2 puts each problem on a line of its own; a start-up error is one line.
            throw ConfigError("\(error)".replacingOccurrences(of: "\n  ", with: " "))
        }
        var config = WebConfig()

        let http = top.object("http_server_config")
        if http.scalars["http2"] != nil { config.http2 = http.bool("http2") }
        for (name, value) in http.stringMap("headers") {
            guard let allowed = allowedHeaders[name] else { throw ConfigError("HTTP header \(goQuote(name)) can not be configured") }
            if !allowed.isEmpty && !allowed.contains(value) {
                throw ConfigError("invalid value for \(name). Expected one of: [\(allowed.map(goQuote).joined(separator: " "))], but got: \(goQuote(value))")
            }
            if !value.isEmpty { config.headers.append((name, value)) }
        }

        for (user, hash) in top.stringMap("basic_auth_users") {
            if let problem = bcryptHashProblem(hash) { throw ConfigError("basic_auth_users: user \(goQuote(user)): \(problem)") }
            config.users[user] = hash
        }

        let t = top.object("tls_server_config")
        func path(_ key: String) -> String {
            let p = t.string(key)
            return p.isEmpty || p.hasPrefix("/") ? p : directory + "/" + p
        }
        var tls = TLS()
        tls.certFile = path("cert_file"); tls.keyFile = path("key_file"); tls.clientCAFile = path("client_ca_file")
        tls.cert = t.string("cert"); tls.key = t.string("key"); tls.clientCA = t.string("client_ca")
        let clientAuth = t.string("client_auth_type")
        let enabled = !(tls.certFile + tls.keyFile + tls.clientCAFile + tls.cert + tls.key + tls.clientCA + clientAuth).isEmpty
        guard enabled else { return config }
        if tls.certFile.isEmpty && tls.cert.isEmpty { throw ConfigError("missing one of cert or cert_file") }
        if tls.keyFile.isEmpty && tls.key.isEmpty { throw ConfigError("missing one of key or key_file") }
        switch clientAuth {
        case "", "NoClientCert": tls.clientAuth = .none
        case "RequireClientCert": tls.clientAuth = .requireAny // exporter-toolkit keeps the old name
        default:
            guard let a = TLS.ClientAuth(rawValue: clientAuth) else { throw ConfigError("invalid ClientAuth: " + clientAuth) }
            tls.clientAuth = a
        }
        if !(tls.clientCAFile + tls.clientCA).isEmpty && tls.clientAuth == .none {
            throw ConfigError("client CA's have been configured without a Client Auth Policy")
        }
        if !t.stringList("client_allowed_sans").isEmpty {
            // Checking SANs needs the peer's chain verified first and then read; NIOSSL offers one
            // or the other. Refused rather than ignored: a client the rule should stop would pass.
            throw ConfigError("client_allowed_sans is not supported by Strata: give these clients their own CA in client_ca_file")
        }
        if let v = t.scalars["min_version"] { tls.minVersion = tlsVersions[v]! }
        if let v = t.scalars["max_version"] { tls.maxVersion = tlsVersions[v]! }
        tls.cipherSuites = t.stringList("cipher_suites").map { NIOTLSCipher(rawValue: cipherSuites[$0]!) }
        tls.curves = t.stringList("curve_preferences").map { curves[$0]! }
        config.tls = tls
        return config
    }

    /// Headers exporter-toolkit lets a file set, with the values it allows (empty: any).
    static let allowedHeaders: [String: [String]] = [
        "Strict-Transport-Security": [], "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"], "X-XSS-Protection": [], "Content-Security-Policy": [],
    ]
    static let tlsVersions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]
    static let curves: [String: NIOTLSCurve] = ["CurveP256": .secp256r1, "CurveP384": .secp384r1, "CurveP521": .secp521r1, "X25519": .x25519]
    /// Go's `tls.CipherSuites()` by name (TLS 1.3's are listed there too, though Go ignores them
    /// in the configuration; so does this).
    static let cipherSuites: [String: UInt16] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": 0x002F, "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C, "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
        "TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302, "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
    ]

    /// Why `hash` is not one Go's `bcrypt.Cost` accepts, in its words; nil when it is.
    static func bcryptHashProblem(_ hash: String) -> String? {
        let b = Array(hash.utf8)
        guard b.count >= 59 else { return "crypto/bcrypt: hashedSecret too short to be a bcrypted password" }
        guard b[0] == UInt8(ascii: "$") else { return "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '\(Character(UnicodeScalar(b[0])))'" }
        guard b[1] <= UInt8(ascii: "2") else {
            return "crypto/bcrypt: bcrypt algorithm version '\(Character(UnicodeScalar(b[1])))' requested is newer than current version '2'"
        }
        let costAt = b[2] == UInt8(ascii: "$") ? 3 : 4
        guard let cost = Int(String(decoding: b[costAt ..< costAt + 2], as: UTF8.self)) else {
            return "crypto/bcrypt: invalid cost in hash"
        }
        guard (4 ... 31).contains(cost) else { return "crypto/bcrypt: cost \(cost) is outside allowed range (4,31)" }
        return nil
    }
}

extension GoYAMLSchema {
    /// exporter-toolkit `web/tls_config.go` `Config`, `TLSConfig`, `HTTPConfig`.
    static let webConfig = GoYAMLSchema(goType: "web.Config", fields: [
        "tls_server_config": .object(GoYAMLSchema(goType: "web.TLSConfig", fields: [
            "cert": .string(), "key": .string(goType: "config.Secret"), "client_ca": .string(),
            "cert_file": .string(), "key_file": .string(), "client_auth_type": .string(), "client_ca_file": .string(),
            "cipher_suites": .stringList(goType: "[]web.Cipher", allowed: Array(WebConfig.cipherSuites.keys), message: "unknown cipher: "),
            "curve_preferences": .stringList(goType: "[]web.Curve", allowed: Array(WebConfig.curves.keys), message: "unknown curve: "),
            "min_version": .oneOf(goType: "web.TLSVersion", allowed: Array(WebConfig.tlsVersions.keys), message: "unknown TLS version: "),
            "max_version": .oneOf(goType: "web.TLSVersion", allowed: Array(WebConfig.tlsVersions.keys), message: "unknown TLS version: "),
            "prefer_server_cipher_suites": .bool,
            "client_allowed_sans": .stringList(),
        ])),
        "http_server_config": .object(GoYAMLSchema(goType: "web.HTTPConfig", fields: [
            "http2": .bool, "headers": .stringMap,
        ])),
        "basic_auth_users": .stringMap,
    ])
}
