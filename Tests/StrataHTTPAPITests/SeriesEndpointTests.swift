import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StrataEncoding
import StrataHTTPAPI
import StrataModel
import StrataTSDB
import Testing

/// The endpoints behind Grafana's metric browser and query editor, with Prometheus' shapes.
@Suite struct SeriesEndpointTests {
    static func seeded() -> Head {
        let head = Head()
        let app = head.appender()
        for labels in [
            Labels([("__name__", "up"), ("job", "node"), ("instance", "a:9100")]),
            Labels([("__name__", "up"), ("job", "node"), ("instance", "b:9100")]),
            Labels([("__name__", "up"), ("job", "prom"), ("instance", "c:9090")]),
            Labels([("__name__", "http_requests_total"), ("job", "prom"), ("code", "200"), ("host.name", "é")]),
        ] {
            let s = Sample(t: 10_000, v: 1)
            _ = app.append(labels, [s])
        }
        app.appendMetadata(MetricMetadata(metricFamilyName: "up", type: .gauge, help: "Target is up.", unit: ""))
        app.appendMetadata(MetricMetadata(metricFamilyName: "http_requests_total", type: .counter, help: "Requests.", unit: "requests"))
        try? app.commit()
        return head
    }

    func get(_ uri: String, status: HTTPResponse.Status = .ok, method: HTTPRequest.Method = .get, body: String? = nil) async throws -> String {
        try await makeApp(Self.seeded()).test(.router) { client in
            let headers: HTTPFields = body == nil ? [:] : [.contentType: "application/x-www-form-urlencoded"]
            return try await client.execute(uri: uri, method: method, headers: headers,
                                            body: body.map { ByteBuffer(string: $0) }) { res in
                #expect(res.status == status, "\(uri)")
                return String(buffer: res.body)
            }
        }
    }

    @Test func labelNames() async throws {
        #expect(try await get("/api/v1/labels") ==
            #"{"status":"success","data":["__name__","code","host.name","instance","job"]}"#)
        #expect(try await get("/api/v1/labels?match[]=up&start=0&end=100") ==
            #"{"status":"success","data":["__name__","instance","job"]}"#)
        // Grafana posts the same as a form.
        #expect(try await get("/api/v1/labels", method: .post, body: "match%5B%5D=http_requests_total") ==
            #"{"status":"success","data":["__name__","code","host.name","job"]}"#)
        // promtool and client_golang send Prometheus' MinTime/MaxTime for an open range.
        #expect(try await get("/api/v1/labels?match[]=up&start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z") ==
            #"{"status":"success","data":["__name__","instance","job"]}"#)
        #expect(try await get("/api/v1/labels?match[]=up&start=-9223309901257974&end=9223309901257974") ==
            #"{"status":"success","data":["__name__","instance","job"]}"#)
        #expect(try await get("/api/v1/labels?limit=2") ==
            #"{"status":"success","data":["__name__","code"],"warnings":["results truncated due to limit"]}"#)
    }

    @Test func labelValues() async throws {
        #expect(try await get("/api/v1/label/job/values") == #"{"status":"success","data":["node","prom"]}"#)
        #expect(try await get("/api/v1/label/__name__/values") == #"{"status":"success","data":["http_requests_total","up"]}"#)
        #expect(try await get("/api/v1/label/instance/values?match[]=up%7Bjob%3D%22node%22%7D") ==
            #"{"status":"success","data":["a:9100","b:9100"]}"#)
        // UTF-8 label names arrive escaped as U__ + hex code points.
        #expect(try await get("/api/v1/label/U__host_2e_name/values") == #"{"status":"success","data":["é"]}"#)
        #expect(try await get("/api/v1/label/job/values?limit=1") ==
            #"{"status":"success","data":["node"],"warnings":["results truncated due to limit"]}"#)
    }

    @Test func series() async throws {
        #expect(try await get("/api/v1/series?match[]=up%7Bjob%3D%22prom%22%7D") ==
            #"{"status":"success","data":[{"__name__":"up","instance":"c:9090","job":"prom"}]}"#)
        // Several match[] are a union, without duplicates, sorted.
        let both = try await get("/api/v1/series?match[]=up&match[]=%7Bjob%3D%22prom%22%7D")
        #expect(both == #"{"status":"success","data":[{"__name__":"http_requests_total","code":"200","host.name":"é","job":"prom"},{"__name__":"up","instance":"a:9100","job":"node"},{"__name__":"up","instance":"b:9100","job":"node"},{"__name__":"up","instance":"c:9090","job":"prom"}]}"#)
        #expect(try await get("/api/v1/series?match[]=up&limit=1") ==
            #"{"status":"success","data":[{"__name__":"up","instance":"a:9100","job":"node"}],"warnings":["results truncated due to limit"]}"#)
    }

    @Test func metadata() async throws {
        #expect(try await get("/api/v1/metadata") ==
            #"{"status":"success","data":{"http_requests_total":[{"type":"counter","help":"Requests.","unit":"requests"}],"up":[{"type":"gauge","help":"Target is up.","unit":""}]}}"#)
        #expect(try await get("/api/v1/metadata?metric=up") ==
            #"{"status":"success","data":{"up":[{"type":"gauge","help":"Target is up.","unit":""}]}}"#)
        #expect(try await get("/api/v1/metadata?limit=0") == #"{"status":"success","data":{}}"#)
        #expect(try await get("/api/v1/metadata?limit=1") ==
            #"{"status":"success","data":{"http_requests_total":[{"type":"counter","help":"Requests.","unit":"requests"}]}}"#)
    }

    @Test func grafanaProbesAndHelpers() async throws {
        // Grafana's exemplar probe sends millisecond-looking times.
        #expect(try await get("/api/v1/query_exemplars?query=up&start=1700000000000&end=1700000600000") ==
            #"{"status":"success","data":[]}"#)
        #expect(try await get("/api/v1/format_query?query=sum%20by(job)(rate(x%5B5m%5D))") ==
            #"{"status":"success","data":"sum by (job) (rate(x[5m]))"}"#)
        #expect(try await get("/api/v1/rules") == #"{"status":"success","data":{"groups":[]}}"#)
        #expect(try await get("/api/v1/alerts") == #"{"status":"success","data":{"alerts":[]}}"#)
        #expect(try await get("/api/v1/targets") ==
            #"{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}"#)
        let info = try await get("/api/v1/status/runtimeinfo")
        #expect(info.hasPrefix(#"{"status":"success","data":{"startTime":"#) && info.contains(#""storageRetention":"15d""#))
        #expect(try await get("/api/v1/status/flags") == #"{"status":"success","data":{}}"#)
        #expect(try await get("/api/v1/status/config").hasPrefix(#"{"status":"success","data":{"yaml":"#))
    }

    @Test func parseQueryTree() async throws {
        let body = try await get("/api/v1/parse_query?query=sum%20by%20(job)%20(rate(up%7Bjob%3D%22a%22%7D%5B5m%5D%20offset%201m))%20%3E%201")
        #expect(body == #"{"status":"success","data":{"bool":false,"lhs":{"expr":{"args":[{"anchored":false,"matchers":[{"name":"job","type":"=","value":"a"},{"name":"__name__","type":"=","value":"up"}],"name":"up","offset":60000,"offsetExpr":null,"range":300000,"rangeExpr":null,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"matrixSelector"}],"func":{"argTypes":["matrix"],"name":"rate","returnType":"vector","variadic":0},"type":"call"},"grouping":["job"],"op":"sum","param":null,"type":"aggregation","without":false},"matching":null,"op":"\u003e","rhs":{"type":"numberLiteral","val":"1"},"type":"binaryExpr"}}"#, "\(body)")
        _ = try await get("/api/v1/parse_query?query=sum(", status: .badRequest)
    }

    @Test func tsdbStatus() async throws {
        let body = try await get("/api/v1/status/tsdb?limit=2")
        #expect(body.hasPrefix(#"{"status":"success","data":{"headStats":{"numSeries":4,"numLabelPairs":9,"chunkCount":4,"minTime":10000,"maxTime":10000}"#), "\(body)")
        #expect(body.contains(#""seriesCountByMetricName":[{"name":"up","value":3},{"name":"http_requests_total","value":1}]"#), "\(body)")
        #expect(body.contains(#""labelValueCountByLabelName":[{"name":"instance","value":3},{"name":"__name__","value":2}]"#), "\(body)")
        #expect(body.contains(#""seriesCountByLabelValuePair":[{"name":"__name__=up","value":3},{"name":"job=node","value":2}]"#), "\(body)")
        _ = try await get("/api/v1/status/tsdb?limit=0", status: .badRequest)
    }

    @Test func federateTextFormat() async throws {
        // The seeded samples are at t=10s, far outside the lookback from now: nothing to federate.
        #expect(try await get("/federate?match[]=up") == "")
        let head = Head()
        let app = head.appender()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (labels, v) in [(Labels([("__name__", "up"), ("job", "a\"b")]), 1.0), (Labels([("__name__", "up"), ("job", "c")]), 1e6),
                            (Labels([("__name__", "go_info"), ("version", "1")]), 1.0)] {
            let s = Sample(t: now - 1000, v: v)
            _ = app.append(labels, [s])
        }
        try app.commit()
        try await makeApp(head).test(.router) { client in
            try await client.execute(uri: "/federate?match[]=up&match[]=go_info", method: .get) { res in
                #expect(res.status == .ok)
                #expect(String(buffer: res.body) == """
                    # TYPE go_info untyped
                    go_info{version="1",instance=""} 1 \(now - 1000)
                    # TYPE up untyped
                    up{job="a\\"b",instance=""} 1 \(now - 1000)
                    up{job="c",instance=""} 1e+06 \(now - 1000)

                    """)
            }
        }
    }

    @Test func gzipWhenAskedFor() async throws {
        let uri = "/api/v1/series?match[]=up&match[]=http_requests_total"
        let plain = try await get(uri)
        try await makeApp(Self.seeded()).test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: [.acceptEncoding: "deflate, gzip;q=0.8"]) { res in
                #expect(res.headers[.contentEncoding] == "gzip")
                let unzipped = try Gzip.decompress(Array(res.body.readableBytesView))
                #expect(unzipped == Array(plain.utf8))
            }
            try await client.execute(uri: uri, method: .get, headers: [.acceptEncoding: "gzip;q=0"]) { res in
                #expect(res.headers[.contentEncoding] == nil)
                #expect(String(buffer: res.body) == plain)
            }
            // Small bodies stay uncompressed.
            try await client.execute(uri: "/api/v1/rules", method: .get, headers: [.acceptEncoding: "gzip"]) { res in
                #expect(res.headers[.contentEncoding] == nil)
            }
        }
        // A large body (compressed off the request executor) round-trips too.
        let head = Head()
        let app = head.appender()
        for i in 0 ..< 3000 {
            let l = Labels([("__name__", "big"), ("i", "value-\(i)-padding-padding")])
            let smp = Sample(t: 1000, v: Double(i))
            _ = app.append(l, [smp])
        }
        try app.commit()
        try await makeApp(head).test(.router) { client in
            let plainBig = try await client.execute(uri: "/api/v1/series?match[]=big", method: .get) { res in String(buffer: res.body) }
            #expect(plainBig.utf8.count > 1 << 16)
            try await client.execute(uri: "/api/v1/series?match[]=big", method: .get, headers: [.acceptEncoding: "gzip"]) { res in
                #expect(res.headers[.contentEncoding] == "gzip")
                let unzipped = try Gzip.decompress(Array(res.body.readableBytesView))
                #expect(unzipped == Array(plainBig.utf8))
            }
        }
    }

    @Test(arguments: [
        ("/api/v1/series", "no match[] parameter provided"),
        ("/api/v1/series?match[]=up%7B", "1:4: parse error"),
        ("/api/v1/series?match[]=%7B%7D", "match[] must contain at least one non-empty matcher"),
        ("/api/v1/labels?start=abc", "invalid parameter \\\"start\\\""),
        ("/api/v1/label/job/values?limit=-1", "invalid parameter \\\"limit\\\""),
        ("/api/v1/label/job/values?match[]=1%2B", "parse error"),
        ("/api/v1/format_query?query=sum(", "invalid parameter \\\"query\\\""),
        ("/api/v1/query_exemplars?query=up&start=x", "invalid parameter \\\"start\\\""),
        ("/api/v1/metadata?limit=abc", "limit must be a number"),
    ])
    func badParametersAre400(uri: String, message: String) async throws {
        let body = try await get(uri, status: .badRequest)
        #expect(body.hasPrefix(#"{"status":"error","errorType":"bad_data","error":""#), "\(body)")
        #expect(body.contains(message), "\(uri): \(body)")
    }
}
