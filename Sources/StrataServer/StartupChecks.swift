#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import StrataHTTPAPI

/// Checks `strata serve` makes before it opens anything, so a taken port or a bad path is one
/// clear line at once, not an error after a full WAL replay.
public enum StartupChecks {
    /// Binds `host:port` (with SO_REUSEADDR, as the server will) and lets go: fails as the server
    /// would. Port 0 always works.
    public static func checkListenAddress(host: String, port: Int) throws {
        guard port != 0 else { return }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw ConfigError("cannot listen on \(host):\(port) (--http-address): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return } // the server will say why
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 || listen(fd, 1) != 0 {
            let e = errno
            let advice = e == EADDRINUSE ? "another process listens there (a Prometheus, a Thanos component, another Strata?); stop it or choose another --http-address"
                : e == EACCES ? "ports below 1024 need privileges; choose a port above 1023" : "check --http-address"
            throw ConfigError("cannot listen on \(host):\(port) (--http-address): \(String(cString: strerror(e))); \(advice)")
        }
    }
}

extension StartupChecks {
    /// Creates the data directory (and its parents) if missing and checks it can be written,
    /// before the bucket check or anything else touches it.
    /// `--receive.tenant-certificate-field` reads a field of the client certificate: the web
    /// config must ask clients for one.
    public static func checkTenantCertificateField(_ field: TenantCertificateField?, webConfig: WebConfig?) throws {
        guard let field else { return }
        guard let tls = webConfig?.tls, tls.clientAuth != .none else {
            throw ConfigError("--receive.tenant-certificate-field \(field.rawValue) needs client certificates: a --web.config.file with tls_server_config and a client_auth_type that asks for them")
        }
    }

    public static func checkDataDirectory(_ path: String) throws {
        do { try DataDirectory.create(path) } catch {
            throw ConfigError("cannot use the data directory \(path) (--tsdb.path): \(error); check the path and its permissions")
        }
    }
}

enum DataDirectory {
    /// Creates `path` and its missing parents, as `mkdir -p`, and checks it can be written; an
    /// error names the part of the path that failed and the operating system's reason.
    static func create(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") where part != "." {
            current += "/" + part
            if mkdir(current, 0o755) == 0 { continue }
            let e = errno
            var st = stat()
            if e == EEXIST && stat(current, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { continue }
            throw ConfigError(e == EEXIST ? "\(current) exists and is not a directory" : "\(current): \(String(cString: strerror(e)))")
        }
        if access(path, W_OK | X_OK) != 0 { throw ConfigError("\(path): \(String(cString: strerror(errno)))") }
    }
}
