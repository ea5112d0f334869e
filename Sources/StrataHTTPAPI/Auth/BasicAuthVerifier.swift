import Crypto
import Foundation
import HummingbirdBcrypt
import StrataRuntime
import Synchronization

/// Checks `Authorization: Basic …` against bcrypt hashes (`basic_auth_users` of the web config).
///
/// A bcrypt check costs tens of milliseconds of CPU (about 50 ms at cost 10 here), and Prometheus
/// sends its credentials with every remote-write request, so each (user, hash, password) result is
/// remembered, as exporter-toolkit does; a changed hash in the file is a new key. Checks that are
/// not remembered run one at a time on a thread of their own, so a flood of wrong passwords costs
/// one core at most and never stalls the event loops.
public final class BasicAuthVerifier: Sendable {
    /// Remembered results, keyed by a SHA-256 of user, hash and password (no password is kept).
    private let cache = Mutex<[SHA256Digest: Bool]>([:])
    private let bcrypt = ConcurrencyGate(maxConcurrency: 1)
    /// Checked for an unknown user, so the answer takes as long as for a known one and timing
    /// does not tell which users exist. Made on first need, from a random password nobody knows.
    private let unknownUserHash = Mutex<String?>(nil)
    /// Most remembered results; past it the memory starts over (an attacker's guesses fill it).
    static let cacheCapacity = 4096
    /// Longest user:password considered; bcrypt reads 72 bytes of a password at most.
    static let maxCredentialBytes = 1024

    public init() {}

    /// True when `authorization` carries a user of `users` with the right password.
    public func verify(authorization: String?, users: [String: String]) async -> Bool {
        guard let authorization, let (user, password) = Self.parseBasic(authorization) else { return false }
        let hash = users[user]
        var hasher = SHA256()
        // Each part length-prefixed, so no two (user, hash, password) triples hash the same bytes.
        for part in [user, hash ?? "", password] {
            let bytes = Array(part.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        let key = hasher.finalize()
        if let known = cache.withLock({ $0[key] }) { return known }
        return await bcrypt.run { [self] in
            // Another request may have checked the same credentials while this one waited.
            if let known = self.cache.withLock({ $0[key] }) { return known }
            let checked = hash ?? self.unknownUserHash.withLock { h in
                if h == nil { h = Bcrypt.hash(UInt64.random(in: .min ... .max).description, cost: 10) }
                return h!
            }
            // htpasswd writes `$2y$`, the same algorithm as `$2b$`, which is all the C code reads.
            let normalized = checked.hasPrefix("$2y$") ? "$2b$" + checked.dropFirst(4) : checked
            let ok = Bcrypt.verify(password, hash: normalized) && hash != nil
            self.cache.withLock { c in
                if c.count >= Self.cacheCapacity { c.removeAll(keepingCapacity: true) }
                c[key] = ok
            }
            return ok
        }
    }

    /// `Basic base64(user:password)` as Go's `Request.BasicAuth` reads it (scheme case-insensitive,
    /// standard base64, split at the first colon). Nil for anything else, for credentials longer
    /// than `maxCredentialBytes`, and for passwords bcrypt's C code cannot take whole (not UTF-8,
    /// or with a NUL, which would end the C string early).
    static func parseBasic(_ header: String) -> (user: String, password: String)? {
        let scheme = "basic "
        guard header.utf8.count <= maxCredentialBytes * 2, header.count > scheme.count,
              header.prefix(scheme.count).lowercased() == scheme,
              let data = Data(base64Encoded: String(header.dropFirst(scheme.count))), data.count <= maxCredentialBytes,
              let colon = data.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        guard let user = String(bytes: data[..<colon], encoding: .utf8),
              let password = String(bytes: data[(colon + 1)...], encoding: .utf8),
              !password.utf8.contains(0) else { return nil }
        return (user, password)
    }
}
