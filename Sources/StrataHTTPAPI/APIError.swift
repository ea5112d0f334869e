/// Prometheus API errors: `errorType` and its HTTP status (docs/querying/api.md).
public struct APIError: Error, Sendable {
    public enum Kind: String, Sendable {
        case badData = "bad_data", execution, canceled, timeout, `internal`, notFound = "not_found"
        case notAcceptable = "not_acceptable", unavailable

        public var status: Int {
            switch self {
            case .badData: return 400
            case .execution: return 422
            case .canceled: return 499
            case .timeout: return 503
            case .internal: return 500
            case .notFound: return 404
            case .notAcceptable: return 406
            case .unavailable: return 503
            }
        }
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }

    public static func badData(_ m: String) -> APIError { APIError(.badData, m) }
}
