import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StrataHTTPAPI
import StrataModel
import StrataTSDB
import Testing

/// The calls Grafana 10/11's Prometheus data source makes, in the forms it sends them (POST
/// forms, millisecond-looking exemplar times, aligned range queries), each answered `success`
/// with the shape Grafana parses.
@Suite struct GrafanaReplayTests {
    struct Call {
        let method: HTTPRequest.Method
        let path: String
        let form: String?
        let expectPrefix: String
    }

    static let calls: [Call] = [
        // "Save & test": buildinfo, then an instant query of 1+1.
        Call(method: .get, path: "/api/v1/status/buildinfo", form: nil, expectPrefix: #"{"status":"success","data":{"version":"#),
        Call(method: .post, path: "/api/v1/query", form: "query=1%2B1&time=1700000000",
             expectPrefix: #"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}"#),
        // Metric browser and query editor.
        Call(method: .post, path: "/api/v1/labels", form: "start=1699996400&end=1700000000",
             expectPrefix: #"{"status":"success","data":["__name__","code","host.name","instance","job"]"#),
        Call(method: .get, path: "/api/v1/label/__name__/values?start=1699996400&end=1700000000", form: nil,
             expectPrefix: #"{"status":"success","data":["http_requests_total","up"]"#),
        Call(method: .get, path: "/api/v1/label/instance/values?match%5B%5D=up%7Bjob%3D%22node%22%7D&start=1699996400&end=1700000000", form: nil,
             expectPrefix: #"{"status":"success","data":["a:9100","b:9100"]"#),
        Call(method: .post, path: "/api/v1/series", form: "match%5B%5D=up&start=1699996400&end=1700000000&limit=40000",
             expectPrefix: #"{"status":"success","data":[{"__name__":"up","#),
        Call(method: .get, path: "/api/v1/metadata?limit=1000", form: nil, expectPrefix: #"{"status":"success","data":{"http_requests_total":[{"type":"counter""#),
        // A panel: range query aligned to the step, and the exemplar probe with ms times.
        Call(method: .post, path: "/api/v1/query_range",
             form: "query=sum%20by%20(job)%20(rate(http_requests_total%5B5m%5D))&start=1699999200&end=1700000400&step=60",
             expectPrefix: #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"prom"},"values":[["#),
        Call(method: .get, path: "/api/v1/query_exemplars?query=up&start=1699996400000&end=1700000000000", form: nil,
             expectPrefix: #"{"status":"success","data":[]}"#),
        // Alerting and recording rules list.
        Call(method: .get, path: "/api/v1/rules", form: nil, expectPrefix: #"{"status":"success","data":{"groups":[]}}"#),
    ]

    static func seeded() -> Head {
        let head = Head()
        let app = head.appender()
        let series: [(Labels, Double)] = [
            (Labels([("__name__", "up"), ("job", "node"), ("instance", "a:9100")]), 0),
            (Labels([("__name__", "up"), ("job", "node"), ("instance", "b:9100")]), 0),
            (Labels([("__name__", "http_requests_total"), ("job", "prom"), ("code", "200"), ("host.name", "é")]), 10),
        ]
        for (labels, rate) in series {
            let samples = (0 ..< 80).map { i in Sample(t: 1_699_996_400_000 + Int64(i) * 60_000, v: rate == 0 ? 1 : rate * Double(i)) }
            _ = app.append(labels, samples)
        }
        app.appendMetadata(MetricMetadata(metricFamilyName: "http_requests_total", type: .counter, help: "Requests.", unit: ""))
        try? app.commit()
        return head
    }

    @Test func everyCallSucceedsWithGrafanasShape() async throws {
        try await makeApp(Self.seeded()).test(.router) { client in
            for call in Self.calls {
                let headers: HTTPFields = call.form == nil ? [:] : [.contentType: "application/x-www-form-urlencoded"]
                try await client.execute(uri: call.path, method: call.method, headers: headers,
                                         body: call.form.map { ByteBuffer(string: $0) }) { res in
                    let body = String(buffer: res.body)
                    #expect(res.status == .ok, "\(call.path): \(body)")
                    #expect(res.headers[.contentType] == "application/json", "\(call.path)")
                    #expect(body.hasPrefix(call.expectPrefix), "\(call.path): \(body)")
                }
            }
        }
    }

    @Test func buildInfoHasNoFeaturesField() async throws {
        // With a "features" field Grafana would take Strata for Mimir and call Mimir-only APIs.
        try await makeApp(Self.seeded()).test(.router) { client in
            try await client.execute(uri: "/api/v1/status/buildinfo", method: .get) { res in
                #expect(!String(buffer: res.body).contains("features"))
            }
        }
    }
}
