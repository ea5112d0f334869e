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
    /// The HTTP status: the kind's, unless a more precise one applies (413 for a body too large,
    /// which Prometheus reports as `bad_data`).
    public let status: Int

    public init(_ kind: Kind, _ message: String, status: Int? = nil) {
        self.kind = kind; self.message = message; self.status = status ?? kind.status
    }

    public static func tooLarge(_ m: String) -> APIError { APIError(.badData, m, status: 413) }

    public static func badData(_ m: String) -> APIError { APIError(.badData, m) }
}
