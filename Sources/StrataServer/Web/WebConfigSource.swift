#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import Logging
import NIOSSL
import StrataHTTPAPI
import Synchronization

/// The web configuration as its files say now. exporter-toolkit re-reads the file on every
/// request and handshake; this looks at the file and the TLS files it names at most once a
/// second (a `stat` each) and re-reads them when one changed, so a renewed certificate or a new
/// password is used without a restart. A change that does not load keeps the last good
/// configuration and logs why (exporter-toolkit would answer 500 until the file is fixed).
final class WebConfigSource: Sendable {
    struct Loaded: Sendable {
        let config: WebConfig
        let tlsContext: NIOSSLContext?
        let access: WebAccessPolicy
    }

    private struct State {
        var loaded: Loaded
        var signatures: [FileSignature]
        var checked: ContinuousClock.Instant
    }

    let path: String
    let openPaths: Set<String>
    private let state: Mutex<State>
    private let logger: Logger
    static let checkInterval = Duration.seconds(1)

    /// Loads `path` now; a bad file fails the start with one line naming it.
    init(path: String, openPaths: Set<String>, logger: Logger) throws {
        self.path = path
        self.openPaths = openPaths
        self.logger = logger
        let (loaded, signatures) = try Self.load(path, openPaths: openPaths)
        state = Mutex(State(loaded: loaded, signatures: signatures, checked: .now))
    }

    /// The configuration to apply to the next request or connection.
    func current() -> Loaded {
        state.withLock { s in
            let now = ContinuousClock.now
            guard now - s.checked >= Self.checkInterval else { return s.loaded }
            s.checked = now
            let files = [path] + (s.loaded.config.tls?.files ?? [])
            guard files.map(FileSignature.init) != s.signatures else { return s.loaded }
            do {
                let (loaded, signatures) = try Self.load(path, openPaths: openPaths)
                if (loaded.tlsContext == nil) != (s.loaded.tlsContext == nil) {
                    throw ConfigError("turning TLS on or off needs a restart")
                }
                s.loaded = loaded
                s.signatures = signatures
                logger.info("web config reloaded", metadata: ["file": "\(path)"])
            } catch {
                // Not retried until a file changes again: one log line per bad edit.
                s.signatures = files.map(FileSignature.init)
                logger.error("web config not reloaded; the previous one stays in force", metadata: ["file": "\(path)", "err": "\(error)"])
            }
            return s.loaded
        }
    }

    private static func load(_ path: String, openPaths: Set<String>) throws -> (Loaded, [FileSignature]) {
        // Signatures first: a file replaced while it is read is read again at the next check.
        let before = FileSignature(path)
        let config = try WebConfig.load(path: path)
        let signatures = [before] + (config.tls?.files ?? []).map(FileSignature.init)
        var access = WebAccessPolicy()
        access.users = config.users
        access.headers = config.headers.map { (HTTPField.Name($0.name)!, $0.value) }
        access.openPaths = openPaths
        // The TLS files are read now, so a bad certificate fails the start, not each handshake.
        let context: NIOSSLContext?
        do { context = try config.tls?.makeContext() } catch { throw ConfigError("--web.config.file \(path): \(error)") }
        return (Loaded(config: config, tlsContext: context, access: access), signatures)
    }
}

extension WebConfig {
    /// Loads `path` and the TLS files it names as the server will, for the start-up check that
    /// runs before the data directory or the bucket is touched.
    public static func check(path: String) throws {
        _ = try WebConfigSource(path: path, openPaths: [], logger: Logger(label: "strata"))
    }
}

/// What tells a changed file from an unchanged one without reading it.
struct FileSignature: Equatable, Sendable {
    var device: UInt64 = 0, inode: UInt64 = 0, size: Int64 = -1, mtimeSec = 0, mtimeNsec = 0

    init(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        mtimeSec = Int(st.st_mtim.tv_sec); mtimeNsec = Int(st.st_mtim.tv_nsec)
    }
}
