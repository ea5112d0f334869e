import HTTPTypes
import Logging
import NIOSSL
import StrataHTTPAPI
import Synchronization

/// The web configuration as its files say now. exporter-toolkit re-reads the file on every
/// request and handshake; this re-reads it, and the TLS files it names, when one of them changed
/// (`WatchedConfig`), so a renewed certificate or a new password is used without a restart. A
/// change that does not load keeps the last good configuration and logs why (exporter-toolkit
/// would answer 500 until the file is fixed). Turning TLS on or off needs a restart.
final class WebConfigSource: Sendable {
    struct Loaded: Sendable {
        let config: WebConfig
        let tlsContext: NIOSSLContext?
        let access: WebAccessPolicy
    }

    private let watched: WatchedConfig<Loaded>
    var path: String { watched.path }
    static var checkInterval: Duration { WatchedConfig<Loaded>.checkInterval }

    /// Loads `path` now; a bad file fails the start with one line naming it.
    init(path: String, openPaths: Set<String>, logger: Logger) throws {
        let initialTLS = Mutex<Bool?>(nil)
        watched = try WatchedConfig(path: path, what: "web config", logger: logger) { path in
            let loaded = try Self.load(path, openPaths: openPaths)
            let tls = loaded.tlsContext != nil
            try initialTLS.withLock { first in
                if let first, first != tls { throw ConfigError("turning TLS on or off needs a restart") }
                first = tls
            }
            return (loaded, loaded.config.tls?.files ?? [])
        }
    }

    /// The configuration to apply to the next request or connection.
    func current() -> Loaded { watched.current() }

    private static func load(_ path: String, openPaths: Set<String>) throws -> Loaded {
        let config = try WebConfig.load(path: path)
        var access = WebAccessPolicy()
        access.users = config.users
        access.headers = config.headers.map { (HTTPField.Name($0.name)!, $0.value) }
        access.openPaths = openPaths
        // The TLS files are read now, so a bad certificate fails the start, not each handshake.
        let context: NIOSSLContext?
        do { context = try config.tls?.makeContext() } catch { throw ConfigError("--web.config.file \(path): \(error)") }
        return Loaded(config: config, tlsContext: context, access: access)
    }
}

extension WebConfig {
    /// Loads `path` and the TLS files it names as the server will, for the start-up check that
    /// runs before the data directory or the bucket is touched.
    public static func check(path: String) throws {
        _ = try WebConfigSource(path: path, openPaths: [], logger: Logger(label: "strata"))
    }
}
