import Crypto
import Foundation

/// AWS Signature Version 4 for S3 requests (the `Authorization` header form), as the AWS
/// documentation specifies it: a canonical request, a string to sign, an HMAC-SHA256 key chain.
struct SigV4: Sendable {
    let accessKey: String
    let secretKey: String
    let sessionToken: String?
    let region: String
    let service = "s3"

    /// SHA-256 of an empty body, which GET, HEAD and DELETE send.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func sha256Hex(_ bytes: some DataProtocol) -> String { hex(SHA256.hash(data: bytes)) }

    /// RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when
    /// `keepSlash`, for paths).
    static func uriEncode(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: "/") where keepSlash: out += "/"
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256`, the session
    /// token if any, and `Authorization`. `path` is already URI-encoded; `query` unencoded.
    func sign(method: String, host: String, path: String, query: [(String, String)], headers: [(String, String)],
              payloadHash: String, date: Date) -> [(String, String)] {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = f.string(from: date)
        let day = String(amzDate.prefix(8))
        var all = headers.map { ($0.0.lowercased(), $0.1.trimmingCharacters(in: .whitespaces)) }
        all.append(("host", host))
        all.append(("x-amz-content-sha256", payloadHash))
        all.append(("x-amz-date", amzDate))
        if let sessionToken { all.append(("x-amz-security-token", sessionToken)) }
        all.sort { $0.0 < $1.0 }
        var encoded: [(String, String)] = query.map { (q: (String, String)) -> (String, String) in
            (Self.uriEncode(q.0, keepSlash: false), Self.uriEncode(q.1, keepSlash: false))
        }
        encoded.sort { (a: (String, String), b: (String, String)) -> Bool in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        let canonicalQuery: String = encoded.map { (q: (String, String)) -> String in q.0 + "=" + q.1 }.joined(separator: "&")
        let signedHeaders = all.map(\.0).joined(separator: ";")
        let canonicalHeaders: String = all.map { (h: (String, String)) -> String in h.0 + ":" + h.1 + "\n" }.joined()
        let parts: [String] = [method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash]
        let canonicalRequest = parts.joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(Self.sha256Hex(Array(canonicalRequest.utf8)))"
        func hmac(_ key: SymmetricKey, _ s: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(s.utf8), using: key)))
        }
        let kSigning = hmac(hmac(hmac(hmac(SymmetricKey(data: Array(("AWS4" + secretKey).utf8)), day), region), service), "aws4_request")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: kSigning))
        var out = all.filter { $0.0 != "host" && !headers.map { $0.0.lowercased() }.contains($0.0) }
        out.append(("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return out
    }
}
