import Foundation
import StrataGoYAML
import StrataModel

/// One Alertmanager alerts are sent to: its v2 alerts URL and how to reach it.
public struct AlertmanagerEndpoint: Sendable, Equatable {
    /// `<scheme>://<host:port><path_prefix>/api/v2/alerts`: also its `alertmanager` metric label.
    public var url: String
    public var basicAuth: BasicAuth?
    /// `Authorization: <type> <credentials>` (`bearer_token` is type Bearer).
    public var authorization: (type: String, credentials: String)?
    public var tls = TLSOptions()
    /// Milliseconds a send may take (Prometheus' `timeout`, 10s).
    public var timeout: Int64 = 10_000

    public struct BasicAuth: Sendable, Equatable {
        public var username: String
        public var password: String
    }

    public struct TLSOptions: Sendable, Equatable {
        public var caFile = ""
        public var certFile = ""
        public var keyFile = ""
        public var insecureSkipVerify = false
    }

    public init(url: String) { self.url = url }

    public static func == (a: AlertmanagerEndpoint, b: AlertmanagerEndpoint) -> Bool {
        a.url == b.url && a.basicAuth == b.basicAuth && a.authorization?.type == b.authorization?.type
            && a.authorization?.credentials == b.authorization?.credentials && a.tls == b.tls && a.timeout == b.timeout
    }

    /// `--alertmanager.url`: `http(s)://[user:password@]host:port[/prefix]`, as Thanos Ruler's
    /// `--alertmanagers.url` (credentials in the URL are sent as basic auth, not in the URL).
    public static func parse(flag: String) throws -> AlertmanagerEndpoint {
        guard var c = URLComponents(string: flag), let scheme = c.scheme, scheme == "http" || scheme == "https",
              let host = c.host, !host.isEmpty else {
            throw AlertmanagerConfigError("--alertmanager.url \(goQuote(flag)): want http://host:port or https://host:port, optionally with a path prefix")
        }
        var endpoint = AlertmanagerEndpoint(url: "")
        if let user = c.user {
            endpoint.basicAuth = BasicAuth(username: user.removingPercentEncoding ?? user,
                                           password: (c.password ?? "").removingPercentEncoding ?? c.password ?? "")
        }
        c.user = nil
        c.password = nil
        var base = c.string ?? flag
        while base.hasSuffix("/") { base.removeLast() }
        endpoint.url = base + "/api/v2/alerts"
        return endpoint
    }

    // MARK: - Prometheus' `alerting.alertmanagers`

    static let tlsSchema = GoYAMLSchema(goType: "config.TLSConfig", fields: [
        "ca_file": .string(), "cert_file": .string(), "key_file": .string(), "server_name": .string(),
        "insecure_skip_verify": .bool, "min_version": .string(),
    ])
    static let amSchema = GoYAMLSchema(goType: "config.AlertmanagerConfig", fields: [
        "scheme": .string(), "path_prefix": .string(), "timeout": .duration, "api_version": .string(),
        "static_configs": .objectList(GoYAMLSchema(goType: "targetgroup.Group", fields: ["targets": .stringList(), "labels": .stringMap])),
        "basic_auth": .object(GoYAMLSchema(goType: "config.BasicAuth", fields: [
            "username": .string(), "password": .string(), "password_file": .string(),
        ])),
        "authorization": .object(GoYAMLSchema(goType: "config.Authorization", fields: [
            "type": .string(), "credentials": .string(), "credentials_file": .string(),
        ])),
        "bearer_token": .string(), "bearer_token_file": .string(),
        "tls_config": .object(tlsSchema), "follow_redirects": .bool, "enable_http2": .bool,
    ])
    /// A Prometheus configuration file: only `alerting` is read (so a prometheus.yml can be
    /// given as it is); within it, everything is checked strictly.
    static let fileSchema = GoYAMLSchema(goType: "config.Config", fields: [
        "alerting": .object(GoYAMLSchema(goType: "config.AlertingConfig", fields: [
            "alertmanagers": .objectList(amSchema),
            "alert_relabel_configs": .any,
        ])),
    ], strict: false)

    /// The Alertmanagers of a Prometheus configuration file's `alerting.alertmanagers` (static
    /// targets only; `alert_relabel_configs` are refused rather than ignored).
    public static func load(configFile path: String) throws -> [AlertmanagerEndpoint] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AlertmanagerConfigError("--alertmanager.config-file: open \(path): no such file or directory")
        }
        let root = try decodeGoYAML(String(decoding: data, as: UTF8.self), as: fileSchema, what: path)
        let alerting = root.object("alerting")
        if alerting.nodes["alert_relabel_configs"] != nil {
            throw AlertmanagerConfigError("\(path): alert_relabel_configs is not supported")
        }
        // Relative paths are the configuration file's, as in Prometheus.
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String { file.isEmpty || file.hasPrefix("/") || base.isEmpty ? file : base + "/" + file }
        func read(_ file: String) throws -> String {
            let p = resolve(file)
            guard let d = FileManager.default.contents(atPath: p) else { throw AlertmanagerConfigError("\(path): unable to read \(p)") }
            return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var out: [AlertmanagerEndpoint] = []
        for am in alerting.objectList("alertmanagers") {
            let version = am.string("api_version")
            guard version.isEmpty || version == "v2" else {
                throw AlertmanagerConfigError("\(path): api_version \(goQuote(version)): only v2 is supported (Alertmanager removed v1)")
            }
            let scheme = am.string("scheme").isEmpty ? "http" : am.string("scheme")
            guard scheme == "http" || scheme == "https" else { throw AlertmanagerConfigError("\(path): unknown scheme \(goQuote(scheme))") }
            var prefix = am.string("path_prefix")
            while prefix.hasSuffix("/") { prefix.removeLast() }
            if !prefix.isEmpty && !prefix.hasPrefix("/") { prefix = "/" + prefix }
            var template = AlertmanagerEndpoint(url: "")
            if am.nodes["timeout"] != nil { template.timeout = try parsePrometheusDuration(am.string("timeout")) }
            let basic = am.object("basic_auth")
            if am.nodes["basic_auth"] != nil {
                let password = basic.string("password_file").isEmpty ? basic.string("password") : try read(basic.string("password_file"))
                template.basicAuth = BasicAuth(username: basic.string("username"), password: password)
            }
            let auth = am.object("authorization")
            if am.nodes["authorization"] != nil {
                let credentials = auth.string("credentials_file").isEmpty ? auth.string("credentials") : try read(auth.string("credentials_file"))
                template.authorization = (auth.string("type").isEmpty ? "Bearer" : auth.string("type"), credentials)
            } else if !am.string("bearer_token").isEmpty {
                template.authorization = ("Bearer", am.string("bearer_token"))
            } else if !am.string("bearer_token_file").isEmpty {
                template.authorization = ("Bearer", try read(am.string("bearer_token_file")))
            }
            if template.basicAuth != nil && template.authorization != nil {
                throw AlertmanagerConfigError("\(path): at most one of basic_auth, authorization and bearer_token may be configured")
            }
            let tls = am.object("tls_config")
            template.tls = TLSOptions(caFile: resolve(tls.string("ca_file")), certFile: resolve(tls.string("cert_file")),
                                      keyFile: resolve(tls.string("key_file")), insecureSkipVerify: tls.bool("insecure_skip_verify"))
            if template.tls.certFile.isEmpty != template.tls.keyFile.isEmpty {
                throw AlertmanagerConfigError("\(path): tls_config needs both cert_file and key_file")
            }
            for group in am.objectList("static_configs") {
                for target in group.stringList("targets") {
                    var e = template
                    e.url = "\(scheme)://\(target)\(prefix)/api/v2/alerts"
                    out.append(e)
                }
            }
        }
        return out
    }
}

public struct AlertmanagerConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
