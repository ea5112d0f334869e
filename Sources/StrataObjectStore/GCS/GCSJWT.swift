import Crypto
import Foundation
import _CryptoExtras

/// The signed JWT a service account trades for an access token (Google's "OAuth 2.0 for
/// server to server applications"): RS256, i.e. RSASSA-PKCS1-v1_5 over SHA-256.
enum GCSJWT {
    static let header = #"{"alg":"RS256","typ":"JWT"}"#
    /// Read and write objects; the bucket itself is not managed.
    static let scope = "https://www.googleapis.com/auth/devstorage.read_write"
    static let lifetime = 3600

    struct Claims: Codable, Equatable {
        var iss: String
        var scope: String
        var aud: String
        var iat: Int
        var exp: Int
    }

    static func claims(for key: GCSServiceAccountKey, now: Date) -> Claims {
        let iat = Int(now.timeIntervalSince1970)
        return Claims(iss: key.clientEmail, scope: scope, aud: key.tokenURI, iat: iat, exp: iat + lifetime)
    }

    /// `header.claims.signature`, each part base64url without padding.
    static func assertion(for key: GCSServiceAccountKey, signingKey: _RSA.Signing.PrivateKey, now: Date) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let claims = try encoder.encode(claims(for: key, now: now))
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(claims)
        let signature = try signingKey.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }

    static func base64URL(_ bytes: some DataProtocol) -> String {
        var s = Data(bytes).base64EncodedString()
        s = s.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    /// The inverse of `base64URL`; nil for text that is not base64url.
    static func decodeBase64URL(_ s: some StringProtocol) -> [UInt8]? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b).map { [UInt8]($0) }
    }
}
