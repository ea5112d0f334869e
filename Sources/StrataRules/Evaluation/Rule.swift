import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage
import Synchronization

/// How a rule's last evaluation went, in `/api/v1/rules`' words.
public enum RuleHealth: String, Sendable {
    case unknown, ok, err
}

/// What `/api/v1/rules` shows of a rule's last evaluation.
public struct RuleEvaluationStatus: Sendable {
    public var health: RuleHealth = .unknown
    public var lastError: String?
    /// Wall-clock milliseconds when the last evaluation started.
    public var lastEvaluation: Int64?
    public var evaluationSeconds: Double = 0
}

/// Why a rule's evaluation produced nothing, as Prometheus words it.
public struct RuleError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a rule needs to evaluate: the engine and storage its query runs on, and what its
/// templates may refer to.
public struct RuleEvaluationContext: Sendable {
    public var engine: Engine
    public var queryable: any Queryable
    public var templater: any AlertTemplater
    /// Series or alerts a rule may produce (the group's `limit`; 0: no limit).
    public var limit: Int

    public init(engine: Engine, queryable: any Queryable, templater: any AlertTemplater, limit: Int = 0) {
        self.engine = engine
        self.queryable = queryable
        self.templater = templater
        self.limit = limit
    }

    /// The rule's expression evaluated at `t`, as Prometheus' `EngineQueryFunc` returns it: a
    /// scalar becomes a one-element vector without labels; strings and matrices are refused.
    func query(_ expr: Expr, at t: Int64) throws(RuleError) -> [VectorElement] {
        let result: QueryResult
        do { result = try engine.instantQuery(queryable, expr, at: t) } catch { throw RuleError(error.message) }
        switch result.value {
        case .vector(let v): return v
        case .scalar(_, let v): return [VectorElement(labels: .empty, t: t, v: v)]
        default: throw RuleError("rule result is not a vector or scalar")
        }
    }
}

/// A recording or an alerting rule: evaluated by its group, in order, one evaluation at a time.
public protocol Rule: AnyObject, Sendable {
    var spec: RuleSpec { get }
    /// The samples to store for an evaluation at `t` (their timestamps `t - queryOffset`).
    func evaluate(at t: Int64, queryOffset: Int64, _ context: RuleEvaluationContext) throws(RuleError) -> [VectorElement]
    var status: RuleEvaluationStatus { get }
    func setStatus(_ update: (inout RuleEvaluationStatus) -> Void)
}

/// `record:` — the expression's result stored under a new metric name.
public final class RecordingRule: Rule {
    public let spec: RuleSpec
    private let labels: [(String, String)]
    private let state = Mutex(RuleEvaluationStatus())

    public init(spec: RuleSpec, groupLabels: [String: String] = [:]) {
        self.spec = spec
        labels = groupLabels.merging(spec.labels) { _, rule in rule }.sorted { $0.key < $1.key }
    }

    public var status: RuleEvaluationStatus { state.withLock { $0 } }
    public func setStatus(_ update: (inout RuleEvaluationStatus) -> Void) { state.withLock { update(&$0) } }

    public func evaluate(at t: Int64, queryOffset: Int64, _ context: RuleEvaluationContext) throws(RuleError) -> [VectorElement] {
        let queryTime = t - queryOffset
        var out = try context.query(spec.parsed, at: queryTime)
        var seen = Set<Labels>()
        seen.reserveCapacity(out.count)
        for i in out.indices {
            var b = LabelsBuilder(out[i].labels)
            b.set("__name__", spec.name)
            for (k, v) in labels { b.set(k, v) }
            out[i].labels = b.labels()
            out[i].t = queryTime
            guard seen.insert(out[i].labels).inserted else {
                throw RuleError("vector contains metrics with the same labelset after applying rule labels")
            }
        }
        if context.limit > 0 && out.count > context.limit {
            throw RuleError("exceeded limit of \(context.limit) with \(out.count) series")
        }
        return out
    }
}
