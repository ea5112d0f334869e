import Foundation
import _CryptoExtras

/// Access tokens for a service account: a signed JWT exchanged at the key's `token_uri`
/// (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`), cached until a few minutes
/// before it expires. Concurrent callers share one exchange.
actor GCSTokenSource {
    struct Token: Sendable, Equatable {
        let value: String
        /// When to fetch a new one (before the token's real expiry).
        let refreshAt: Date
    }

    let key: GCSServiceAccountKey
    private let signingKey: _RSA.Signing.PrivateKey
    private let transport: GCSTransport
    private var cached: Token?
    private var inFlight: Task<Token, any Error>?

    init(key: GCSServiceAccountKey, transport: GCSTransport) throws {
        do { signingKey = try _RSA.Signing.PrivateKey(pemRepresentation: key.privateKeyPEM) } catch {
            throw ObjectStoreError(.invalid, "gcs: the private_key of \(key.clientEmail) is not an RSA key in PEM (\(error))")
        }
        self.key = key
        self.transport = transport
    }

    func token() async throws -> String {
        if let cached, Date() < cached.refreshAt { return cached.value }
        if let inFlight { return try await inFlight.value.value }
        let task = Task { try await fetch() }
        inFlight = task
        defer { inFlight = nil }
        let token = try await task.value
        cached = token
        return token.value
    }

    private func fetch() async throws -> Token {
        let now = Date()
        let assertion = try GCSJWT.assertion(for: key, signingKey: signingKey, now: now)
        let r = try await transport.send(.POST, key.tokenURI, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                         body: Self.requestBody(assertion: assertion), what: "gcs token for \(key.clientEmail)")
        return try Self.token(from: r, now: now, who: key.clientEmail)
    }

    /// The form body of the exchange. A JWT is base64url and dots, so needs no escaping.
    static func requestBody(assertion: String) -> [UInt8] {
        Array(("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion).utf8)
    }

    private struct Answer: Decodable {
        var access_token: String?
        var expires_in: Int?
        var error: String?
        var error_description: String?
    }

    /// The token of a 200 answer; a refused key (`invalid_grant`, 401, 403) is `denied`.
    static func token(from r: GCSTransport.Reply, now: Date, who: String) throws -> Token {
        let answer = try? JSONDecoder().decode(Answer.self, from: Data(r.body))
        guard r.status == 200, let value = answer?.access_token, !value.isEmpty else {
            let reason = [answer?.error, answer?.error_description].compactMap { $0 }.joined(separator: ": ")
            let refused = r.status == 401 || r.status == 403 || answer?.error == "invalid_grant"
            throw ObjectStoreError(refused ? .denied : .failed, "gcs token for \(who): HTTP \(r.status)\(reason.isEmpty ? "" : ": " + reason)")
        }
        let lifetime = answer?.expires_in ?? GCSJWT.lifetime
        // Five minutes early, or half-way for short-lived tokens.
        let margin = lifetime > 600 ? 300 : lifetime / 2
        return Token(value: value, refreshAt: now.addingTimeInterval(Double(lifetime - margin)))
    }
}
