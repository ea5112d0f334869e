import StrataModel
import StrataPromQLParser

/// One element of an instant vector.
public struct VectorElement: Sendable {
    public var labels: Labels
    public var t: Int64
    public var v: Double
    public init(labels: Labels, t: Int64, v: Double) { self.labels = labels; self.t = t; self.v = v }
}

/// One series of a range result.
public struct SeriesPoints: Sendable {
    public var labels: Labels
    public var points: [Sample]
    public init(labels: Labels, points: [Sample]) { self.labels = labels; self.points = points }
}

/// What a query returns, in the shapes of the HTTP API's `resultType`.
public enum QueryValue: Sendable {
    case scalar(t: Int64, v: Double)
    case string(t: Int64, s: String)
    case vector([VectorElement])
    case matrix([SeriesPoints])
}

/// A warning or info attached to a result (Prometheus' annotations).
public struct Annotation: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case warning, info }
    public var kind: Kind
    public var message: String
    /// The offending sub-expression, when there is one.
    public var position: PositionRange?

    public init(_ kind: Kind, _ message: String, position: PositionRange? = nil) {
        self.kind = kind; self.message = message; self.position = position
    }

    /// The text the HTTP API returns: `PromQL warning: <message> (line:column)`.
    public func rendered(query: String) -> String {
        var s = (kind == .warning ? "PromQL warning: " : "PromQL info: ") + message
        if let p = position {
            let lc = p.lineColumn(in: query)
            s += " (\(lc.line):\(lc.column))"
        }
        return s
    }
}

public struct QueryResult: Sendable {
    public var value: QueryValue
    public var annotations: [Annotation]
    public var warnings: [Annotation] { annotations.filter { $0.kind == .warning } }
    public var infos: [Annotation] { annotations.filter { $0.kind == .info } }
    public init(value: QueryValue, annotations: [Annotation]) { self.value = value; self.annotations = annotations }
}

/// Why a query failed; the HTTP layer maps `kind` to `errorType` and status.
public struct QueryError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case badData       // 400: the query cannot be run as written
        case execution     // 422: it failed while running
        case timeout       // 503
        case canceled      // 499: the client went away
        case tooManySamples // 422, Prometheus' "query processing would load too many samples into memory"
        case storage       // 500
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
}
