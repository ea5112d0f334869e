import Crypto
import Foundation

/// Azure Storage's Shared Key authorization (`Authorization: SharedKey account:signature`), as
/// Microsoft's "Authorize with Shared Key" specifies it for the Blob service: a base64
/// HMAC-SHA256, keyed with the base64-decoded account key, over the verb, the standard headers,
/// the canonicalized `x-ms-*` headers and the canonicalized resource.
struct SharedKey: Sendable {
    let account: String
    private let key: SymmetricKey

    init(account: String, base64Key: String) throws {
        guard let bytes = Data(base64Encoded: base64Key), !bytes.isEmpty else {
            throw ObjectStoreError(.invalid, "azure: the storage account key is not base64")
        }
        self.account = account
        key = SymmetricKey(data: bytes)
    }

    /// The standard headers whose values are signed, in order (an absent one signs as empty).
    /// Strata sends `x-ms-range` rather than `Range`, so the SDKs' differing takes on `Range`
    /// never matter.
    static let standardHeaders = [
        "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
        "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
    ]

    /// `path` is the URL path exactly as sent (percent-encoded, the container's path included);
    /// `query` is unencoded; `headers` are every header that goes out (names in any case).
    func stringToSign(method: String, path: String, query: [(String, String)], headers: [(String, String)]) -> String {
        let lowered = headers.map { (name: $0.0.lowercased(), value: $0.1) }
        var out = method + "\n"
        for name in Self.standardHeaders {
            let value = lowered.last { $0.name == name }?.value ?? ""
            // Since version 2015-02-21 a zero Content-Length signs as empty.
            out += (name == "content-length" && value == "0" ? "" : value) + "\n"
        }
        for h in lowered.filter({ $0.name.hasPrefix("x-ms-") }).sorted(by: { $0.name < $1.name }) {
            out += h.name + ":" + h.value + "\n"
        }
        out += "/" + account + path
        for q in query.map({ (name: $0.0.lowercased(), value: $0.1) }).sorted(by: { $0.name < $1.name }) {
            out += "\n" + q.name + ":" + q.value
        }
        return out
    }

    /// The `Authorization` header value for the request.
    func authorization(method: String, path: String, query: [(String, String)], headers: [(String, String)]) -> String {
        let text = stringToSign(method: method, path: path, query: query, headers: headers)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)
        return "SharedKey \(account):" + Data(mac).base64EncodedString()
    }

    /// RFC 1123 in GMT, as `x-ms-date` wants it.
    static func httpDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: text)
    }
}
