import Foundation
import StrataTestSupport
import Testing

/// Certificate authorities and certificates for TLS tests, made by the openssl command line (a
/// real, independent implementation) in a temporary directory. Tools run with `runAsync`: a
/// synchronous wait would hold one of the few threads the in-process servers answer on.
struct TestPKI {
    let openssl: String
    let dir: TempDir

    /// Nil (and, under CI, a recorded failure) when openssl is missing.
    static func make(_ dir: TempDir) -> TestPKI? {
        requiredTool("openssl").map { TestPKI(openssl: $0, dir: dir) }
    }

    /// Keys are P-256 (fast to make) unless `rsa`.
    private func newkey(_ rsa: Bool) -> [String] { rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] }

    /// A self-signed CA: `<name>.crt`, `<name>.key`.
    func ca(_ name: String, rsa: Bool = false) async throws {
        try await run(["req", "-x509"] + newkey(rsa) + ["-nodes", "-keyout", dir.file("\(name).key"),
                 "-out", dir.file("\(name).crt"), "-days", "2", "-subj", "/CN=\(name)"])
    }

    /// A certificate for localhost and 127.0.0.1 (usable by a server or a client), signed by the
    /// CA `ca`, or self-signed when `ca` is nil: `<name>.crt`, `<name>.key`. `subject` as
    /// openssl takes it (`/O=team-a/CN=client`).
    func certificate(_ name: String, signedBy ca: String?, rsa: Bool = false, subject: String = "/CN=localhost") async throws {
        let ext = dir.file("\(name).ext")
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: ext, atomically: true, encoding: .utf8)
        guard let ca else {
            return try await run(["req", "-x509"] + newkey(rsa) + ["-nodes", "-keyout", dir.file("\(name).key"),
                            "-out", dir.file("\(name).crt"), "-days", "2", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        }
        try await run(["req"] + newkey(rsa) + ["-nodes", "-keyout", dir.file("\(name).key"), "-out", dir.file("\(name).csr"),
                 "-subj", subject])
        try await run(["x509", "-req", "-in", dir.file("\(name).csr"), "-CA", dir.file("\(ca).crt"), "-CAkey", dir.file("\(ca).key"),
                 "-CAcreateserial", "-out", dir.file("\(name).crt"), "-days", "2", "-extfile", ext])
    }

    private func run(_ args: [String]) async throws {
        let r = try await Tools.runAsync(openssl, args)
        guard r.status == 0 else { throw StrataTestError("openssl \(args.joined(separator: " ")): \(r.stderr)") }
    }
}

/// An htpasswd-style bcrypt hash of `password` made by Apache's `htpasswd -B` (`$2y$`), or nil
/// (a recorded failure under CI) when htpasswd is missing.
func htpasswdHash(_ password: String) async throws -> String? {
    guard let htpasswd = requiredTool("htpasswd") else { return nil }
    let r = try await Tools.runAsync(htpasswd, ["-nbBC", "10", "user", password])
    guard r.status == 0, let colon = r.stdout.firstIndex(of: ":") else { throw StrataTestError("htpasswd: \(r.stderr)") }
    return String(r.stdout[r.stdout.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
}

/// A bcrypt hash of `password` made by Python's `bcrypt` package (`$2b$`).
func pythonBcryptHash(_ password: String) async throws -> String? {
    guard let python = requiredTool("python3") else { return nil }
    let r = try await Tools.runAsync(python, ["-c", "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10)).decode())", password])
    guard r.status == 0 else {
        if Tools.isCI { Issue.record("python3 bcrypt: \(r.stderr) (scripts/bootstrap.sh installs it)") }
        return nil
    }
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}
