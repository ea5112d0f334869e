import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import StrataModel
import Synchronization

/// An alert as Alertmanager's v2 API takes it. Times are milliseconds since the epoch.
public struct NotifierAlert: Sendable {
    public var labels: Labels
    public var annotations: Labels
    public var startsAt: Int64
    public var endsAt: Int64
    public var generatorURL: String
}

/// Sends alerts to Alertmanagers as Prometheus' notifier does: a queue with a capacity (the
/// oldest alerts dropped when it overflows, and counted), batches of at most 64 sent to every
/// Alertmanager at once, external labels added where an alert lacks them.
public final class Notifier: Sendable {
    public struct Options: Sendable {
        /// `--alertmanager.notification-queue-capacity` (10,000).
        public var queueCapacity = 10_000
        public var batchSize = 64
        /// Added to every alert that has no label of the same name.
        public var externalLabels: [String: String] = [:]
        public init() {}
    }

    /// Per Alertmanager, for `/metrics`.
    public struct EndpointStats: Sendable {
        public var sent = 0
        public var errors = 0
        public var latencySum = 0.0
        public var latencyCount = 0
    }

    struct State {
        var queue: [NotifierAlert] = []
        var dropped = 0
        var stats: [String: EndpointStats] = [:]
        var waiter: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    public let options: Options
    public let endpoints: [AlertmanagerEndpoint]
    /// Each Alertmanager's TLS settings, read when the notifier is made (bad files fail the start).
    private let tls: [TLSConfiguration?]
    private let state = Mutex(State())
    private let logger: Logger

    public init(endpoints: [AlertmanagerEndpoint], options: Options = Options(), logger: Logger) throws {
        self.endpoints = endpoints
        self.options = options
        self.logger = logger
        tls = try endpoints.map(Self.tlsConfiguration)
        state.withLock { s in for e in endpoints { s.stats[e.url] = EndpointStats() } }
    }

    private static func tlsConfiguration(_ e: AlertmanagerEndpoint) throws -> TLSConfiguration? {
        guard e.url.hasPrefix("https://") else { return nil }
        func load<T>(_ what: String, _ file: String, _ read: () throws -> T) throws -> T {
            do { return try read() } catch { throw AlertmanagerConfigError("\(e.url): tls_config.\(what) \(file): \(error)") }
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if !e.tls.caFile.isEmpty {
            tls.trustRoots = .certificates(try load("ca_file", e.tls.caFile) { try NIOSSLCertificate.fromPEMFile(e.tls.caFile) })
        }
        if !e.tls.certFile.isEmpty {
            tls.certificateChain = try load("cert_file", e.tls.certFile) { try NIOSSLCertificate.fromPEMFile(e.tls.certFile) }.map { .certificate($0) }
            tls.privateKey = .privateKey(try load("key_file", e.tls.keyFile) { try NIOSSLPrivateKey(file: e.tls.keyFile, format: .pem) })
        }
        if e.tls.insecureSkipVerify { tls.certificateVerification = .none }
        return tls
    }

    /// A client per Alertmanager (its TLS settings are its own), made by `run` and shut down
    /// when it returns: AsyncHTTPClient insists on an explicit shutdown.
    private func makeClients() -> [HTTPClient] {
        tls.map { tls in
            var config = HTTPClient.Configuration()
            config.timeout.connect = .seconds(5)
            config.tlsConfiguration = tls
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        }
    }

    /// Queues alerts for sending; beyond the capacity the oldest are dropped.
    public func send(_ alerts: [NotifierAlert]) {
        guard !alerts.isEmpty else { return }
        let withLabels = alerts.map(addingExternalLabels)
        let (waiter, dropped) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Int) in
            s.queue += withLabels
            let over = s.queue.count - options.queueCapacity
            if over > 0 {
                s.queue.removeFirst(over)
                s.dropped += over
            }
            defer { s.waiter = nil }
            return (s.waiter, max(over, 0))
        }
        if dropped > 0 { logger.warning("Alert notification queue full, dropping alerts", metadata: ["num_dropped": "\(dropped)"]) }
        waiter?.resume()
    }

    private func addingExternalLabels(_ a: NotifierAlert) -> NotifierAlert {
        guard !options.externalLabels.isEmpty else { return a }
        var b = LabelsBuilder(a.labels)
        for (k, v) in options.externalLabels where a.labels.get(k) == nil { b.set(k, v) }
        var out = a
        out.labels = b.labels()
        return out
    }

    /// Sends batches until cancelled; what is queued then is sent once more before returning.
    public func run() async {
        let clients = makeClients()
        await sendUntilCancelled(clients)
        for c in clients { try? await c.shutdown() }
    }

    private func sendUntilCancelled(_ clients: [HTTPClient]) async {
        while !Task.isCancelled {
            let batch = nextBatch()
            if batch.isEmpty {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLock { s -> Bool in
                            if !s.queue.isEmpty || s.stopped { return true }
                            s.waiter = c
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    let w = state.withLock { s in s.stopped = true; defer { s.waiter = nil }; return s.waiter }
                    w?.resume()
                }
                continue
            }
            await sendAll(batch, clients)
        }
        // Alerts raised while stopping (resolutions among them) still go out.
        let rest = nextBatch()
        if !rest.isEmpty { await sendAll(rest, clients) }
    }

    private func nextBatch() -> [NotifierAlert] {
        state.withLock { s in
            let n = min(options.batchSize, s.queue.count)
            defer { s.queue.removeFirst(n) }
            return Array(s.queue.prefix(n))
        }
    }

    /// One batch to every Alertmanager concurrently; a failure is logged and counted.
    func sendAll(_ alerts: [NotifierAlert], _ clients: [HTTPClient]) async {
        let body = Self.json(alerts)
        await withTaskGroup(of: Void.self) { group in
            for (i, e) in endpoints.enumerated() {
                group.addTask { [self] in
                    let started = ContinuousClock.now
                    let error = await post(body, to: e, client: clients[i])
                    let took = ContinuousClock.now - started
                    state.withLock { s in
                        var st = s.stats[e.url] ?? EndpointStats()
                        if error == nil { st.sent += alerts.count } else { st.errors += alerts.count }
                        st.latencySum += Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
                        st.latencyCount += 1
                        s.stats[e.url] = st
                    }
                    if let error {
                        logger.error("Error sending alert", metadata: ["alertmanager": "\(e.url)", "count": "\(alerts.count)", "err": "\(error)"])
                    }
                }
            }
        }
    }

    private func post(_ body: [UInt8], to e: AlertmanagerEndpoint, client: HTTPClient) async -> String? {
        var req = HTTPClientRequest(url: e.url)
        req.method = .POST
        req.headers.add(name: "Content-Type", value: "application/json")
        req.headers.add(name: "User-Agent", value: "Strata")
        if let b = e.basicAuth {
            req.headers.add(name: "Authorization", value: "Basic " + Data("\(b.username):\(b.password)".utf8).base64EncodedString())
        } else if let a = e.authorization {
            req.headers.add(name: "Authorization", value: "\(a.type) \(a.credentials)")
        }
        req.body = .bytes(ByteBuffer(bytes: body))
        do {
            let res = try await client.execute(req, timeout: .milliseconds(e.timeout))
            let text = try await res.body.collect(upTo: 1 << 20)
            guard (200 ..< 300).contains(res.status.code) else {
                return "bad response status \(res.status.code) \(res.status.reasonPhrase): \(String(buffer: text))"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The v2 API's body: `[{"labels":…,"annotations":…,"startsAt":…,"endsAt":…,"generatorURL":…}]`.
    static func json(_ alerts: [NotifierAlert]) -> [UInt8] {
        var out = "["
        for (i, a) in alerts.enumerated() {
            if i > 0 { out += "," }
            out += "{\"labels\":\(jsonObject(a.labels)),\"annotations\":\(jsonObject(a.annotations))"
            out += ",\"startsAt\":\(jsonString(rfc3339(a.startsAt))),\"endsAt\":\(jsonString(rfc3339(a.endsAt)))"
            out += ",\"generatorURL\":\(jsonString(a.generatorURL))}"
        }
        return Array((out + "]").utf8)
    }

    private static func jsonObject(_ l: Labels) -> String {
        "{" + l.pairs.map { jsonString($0.name) + ":" + jsonString($0.value) }.joined(separator: ",") + "}"
    }

    private static func jsonString(_ s: String) -> String { JSONQuote.quote(s) }

    /// RFC 3339 in UTC, as Go marshals a `time.Time`.
    static func rfc3339(_ ms: Int64) -> String { CivilDate.rfc3339(milliseconds: ms) }

    public var queueLength: Int { state.withLock { $0.queue.count } }
    /// What waits to be sent, oldest first.
    var queued: [NotifierAlert] { state.withLock { $0.queue } }
    public var dropped: Int { state.withLock { $0.dropped } }
    public var stats: [String: EndpointStats] { state.withLock { $0.stats } }

    /// Prometheus' notifier metrics (`prometheus_notifications_*`).
    public func metricsText() -> String {
        let (stats, queue, dropped) = state.withLock { ($0.stats, $0.queue.count, $0.dropped) }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ rows: [(String, Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in rows { out += name + labels + " " + GoFloat.format(v) + "\n" }
        }
        let urls = stats.keys.sorted()
        func per(_ v: (EndpointStats) -> Double) -> [(String, Double)] { urls.map { ("{alertmanager=\(goQuote($0))}", v(stats[$0]!)) } }
        metric("prometheus_notifications_sent_total", "counter", "Total number of alerts sent.", per { Double($0.sent) })
        metric("prometheus_notifications_errors_total", "counter", "Total number of errors sending alert notifications.", per { Double($0.errors) })
        out += "# HELP prometheus_notifications_latency_seconds Latency quantiles for sending alert notifications.\n# TYPE prometheus_notifications_latency_seconds summary\n"
        for u in urls {
            out += "prometheus_notifications_latency_seconds_sum{alertmanager=\(goQuote(u))} \(GoFloat.format(stats[u]!.latencySum))\n"
            out += "prometheus_notifications_latency_seconds_count{alertmanager=\(goQuote(u))} \(stats[u]!.latencyCount)\n"
        }
        metric("prometheus_notifications_dropped_total", "counter", "Total number of alerts dropped due to errors when sending to Alertmanager.", [("", Double(dropped))])
        metric("prometheus_notifications_queue_length", "gauge", "The number of alert notifications in the queue.", [("", Double(queue))])
        metric("prometheus_notifications_queue_capacity", "gauge", "The capacity of the alert notifications queue.", [("", Double(options.queueCapacity))])
        metric("prometheus_notifications_alertmanagers_discovered", "gauge", "The number of alertmanagers discovered and active.", [("", Double(endpoints.count))])
        return out
    }
}

extension Notifier {
    /// What a rule group hands over, as Prometheus' `SendAlerts` builds it: firing since
    /// `firedAt`, ending when resolved or when its validity runs out, linked to the expression.
    public static func alerts(_ alerts: [Alert], expr: String, externalURL: String) -> [NotifierAlert] {
        alerts.map { a in
            NotifierAlert(labels: a.labels, annotations: a.annotations, startsAt: a.firedAt ?? a.activeAt,
                          endsAt: a.resolvedAt ?? a.validUntil ?? a.activeAt,
                          generatorURL: externalURL + "/graph?g0.expr=" + Escaping.query(expr) + "&g0.tab=1")
        }
    }
}
