import StrataRuntime
/// Engine limits and defaults; the server maps its `--query.*` flags onto these.
public struct EngineOptions: Sendable {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`), ms.
    public var lookbackDelta: Int64 = 5 * 60_000
    /// Most samples one query may hold in memory at once (`--query.max-samples`).
    public var maxSamples: Int = 50_000_000
    /// Wall-clock limit per query (`--query.timeout`).
    public var timeout: Duration = .seconds(120)
    /// Step of a subquery written without one (`x[10m:]`), ms; Prometheus uses the global
    /// evaluation interval, 1m by default.
    public var defaultSubqueryStep: Int64 = 60_000
    /// Most points a range query may return per series.
    public var maxPointsPerSeries: Int = 11_000
    /// Prometheus' `promql-delayed-name-removal` feature: keep `__name__` until the result leaves
    /// the engine, so `label_replace` and `by (__name__)` still see it. Off by default, as in
    /// Prometheus; the conformance corpus runs with it on.
    public var delayedNameRemoval = false
    /// Stops the query with a `canceled` error when set (its client went away).
    public var cancellation: QueryCancellation?
    /// Threads a range function (`rate(x[5m])`, …) over a large selection may use to decode
    /// and evaluate its series (the server: the machine's cores). 1: one, the query's own.
    public var parallelism = 1
    /// Series a range selector must match before its range function is spread over
    /// `parallelism` threads (fewer are not worth the hand-off).
    public var parallelSeriesThreshold = 2048
    /// Most (group, step) states an aggregation keeps at once to sum series by series; above it
    /// (many groups over many steps) it walks step by step instead. 48 bytes each.
    public var aggregationTableStates = 1 << 20

    public init() {}
}
