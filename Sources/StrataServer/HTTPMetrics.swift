import Hummingbird
import Prometheus

/// Request and query histograms for `/metrics`, kept in a swift-prometheus registry (the one
/// `strata serve` also installs as the swift-metrics backend).
final class HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Prometheus' own request-duration buckets (`prometheus_http_request_duration_seconds`).
    static let buckets: [Duration] = [0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120].map { .milliseconds(Int64($0 * 1000)) }
    static let queryBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
        .map { .microseconds(Int64($0 * 1_000_000)) }

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// One request: its route (the registered path, so `/api/v1/label/{name}/values` is one
    /// series however many label names are asked for), method and status.
    func observeRequest(handler: String, method: String, code: Int, duration: Duration) {
        let labels = [("handler", handler), ("method", method), ("code", String(code))]
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "strata", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                             helpText: "HTTP request latency by route, method and status code."),
            labels: labels, buckets: Self.buckets
        ).record(duration)
    }

    func observeQuery(kind: String, duration: Duration, failed: Bool) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "strata", subsystem: "query", metricName: "duration", unitName: "seconds",
                                             helpText: "PromQL query latency including the wait for a free slot, by kind and outcome."),
            labels: [("kind", kind), ("outcome", failed ? "error" : "success")], buckets: Self.queryBuckets
        ).record(duration)
    }
}

/// Times every request and records it in `HTTPMetrics` (errors thrown by handlers count as 500).
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.observeRequest(handler: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                                   code: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let code = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.observeRequest(handler: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                                   code: code, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
