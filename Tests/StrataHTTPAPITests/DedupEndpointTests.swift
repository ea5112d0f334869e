import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import StrataHTTPAPI
import StrataModel
import StrataStorage
import StrataTSDB
import Testing

/// `--query.replica-label` through the query API: HA replicas read as one series unless a
/// request says `dedup=false`, and the parameters' bad values answered as Thanos' querier does.
@Suite struct DedupEndpointTests {
    /// Two replicas of one series (same samples, values 1 and 2) and a series without replicas.
    static func seeded() throws -> Head {
        let head = Head()
        let app = head.appender()
        for (replica, v) in [("a", 1.0), ("b", 2.0)] {
            _ = app.append(Labels([("__name__", "up"), ("job", "node"), ("replica", replica)]),
                           stride(from: Int64(0), through: 60_000, by: 15_000).map { Sample(t: $0, v: v) })
        }
        _ = app.append(Labels([("__name__", "up"), ("job", "solo")]), [Sample(t: 60_000, v: 7)])
        try app.commit()
        return head
    }

    func get(_ uri: String, status: HTTPResponse.Status = .ok) async throws -> String {
        var options = APIOptions()
        options.replicaLabels = ["replica", "rule_replica"]
        let router = Router()
        let head = try Self.seeded()
        PrometheusAPI<BasicRequestContext>(storage: head, metadata: head, cardinality: head, options: options).register(on: router)
        return try await Application(router: router).test(.router) { client in
            try await client.execute(uri: uri, method: .get) { res in
                #expect(res.status == status, "\(uri): \(String(buffer: res.body))")
                return String(buffer: res.body)
            }
        }
    }

    @Test func replicasAreReadAsOneSeriesUnlessDedupIsOff() async throws {
        #expect(try await get("/api/v1/query?query=up&time=60") == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"node"},"value":[60,"1"]},{"metric":{"__name__":"up","job":"solo"},"value":[60,"7"]}]}}"#)
        #expect(try await get("/api/v1/query?query=count_over_time(up%5B2m%5D)&time=60") == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"node"},"value":[60,"5"]},{"metric":{"job":"solo"},"value":[60,"1"]}]}}"#)
        #expect(try await get("/api/v1/query?query=up&time=60&dedup=false") == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"node","replica":"a"},"value":[60,"1"]},{"metric":{"__name__":"up","job":"node","replica":"b"},"value":[60,"2"]},{"metric":{"__name__":"up","job":"solo"},"value":[60,"7"]}]}}"#)
        // A matcher on the replica label picks that replica, then the label goes.
        #expect(try await get("/api/v1/query?query=up%7Breplica%3D%22b%22%7D&time=60") == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"node"},"value":[60,"2"]}]}}"#)
        #expect(try await get("/api/v1/query_range?query=sum(up)&start=0&end=60&step=30") == #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[30,"1"],[60,"8"]]}]}}"#)
    }

    @Test func seriesAndLabelsLeaveTheReplicaLabelsOut() async throws {
        #expect(try await get("/api/v1/series?match[]=up&start=0&end=60") == #"{"status":"success","data":[{"__name__":"up","job":"node"},{"__name__":"up","job":"solo"}]}"#)
        #expect(try await get("/api/v1/labels") == #"{"status":"success","data":["__name__","job"]}"#)
        #expect(try await get("/api/v1/labels?dedup=false") == #"{"status":"success","data":["__name__","job","replica"]}"#)
        #expect(try await get("/api/v1/label/replica/values") == #"{"status":"success","data":[]}"#)
        #expect(try await get("/api/v1/label/replica/values?dedup=0") == #"{"status":"success","data":["a","b"]}"#)
    }

    @Test func badParametersAreBadData() async throws {
        #expect(try await get("/api/v1/query?query=up&dedup=maybe", status: .badRequest).contains(#"'dedup' parameter: strconv.ParseBool: parsing \"maybe\": invalid syntax"#))
        #expect(try await get("/api/v1/query?query=up&max_source_resolution=-300", status: .badRequest).contains("negative 'max_source_resolution' is not accepted"))
        #expect(try await get("/api/v1/query?query=up&max_source_resolution=soon", status: .badRequest).contains("max_source_resolution"))
        #expect(try await get("/api/v1/query?query=up&time=60&max_source_resolution=5m").contains(#""value":[60,"1"]"#), "raw data stays the fallback")
        #expect(try await get("/api/v1/query_range?query=up&start=0&end=60&step=30&max_source_resolution=auto").contains(#""job":"node""#))
    }

    @Test func theLookbackRisesWithTheResolutionAsThanosDynamicLookbackDelta() {
        let m: Int64 = 60_000
        let cases: [(lookback: Int64, resolution: Int64, want: Int64)] = [
            (5 * m, 0, 5 * m), (5 * m, 5 * m, 5 * m), (5 * m, 12 * m, 60 * m), (5 * m, 60 * m, 60 * m),
            (1 * m, 2 * m, 5 * m), (10 * m, 5 * m, 10 * m), (90 * m, 120 * m, 90 * m),
        ]
        for c in cases {
            #expect(PrometheusAPI<BasicRequestContext>.dynamicLookbackDelta(c.lookback, maxSourceResolution: c.resolution) == c.want, "\(c)")
        }
    }

    @Test func serverDefaultsApplyWhenARequestSaysNothing() throws {
        let head = try Self.seeded()
        var options = APIOptions()
        options.autoDownsampling = true
        options.partialResponse = true
        let api = PrometheusAPI<BasicRequestContext>(storage: head, options: options)
        let silent = try api.readStorage(Params(query: ""), step: 3_600_000)
        #expect(silent.maxSourceResolution == 720_000 && silent.warnings != nil, "--query.auto-downsampling and --query.partial-response")
        let explicit = try api.readStorage(Params(query: "max_source_resolution=0s&partial_response=false"), step: 3_600_000)
        #expect(explicit.maxSourceResolution == 0 && explicit.warnings == nil, "the request's parameters win")
        let plain = try PrometheusAPI<BasicRequestContext>(storage: head, options: APIOptions()).readStorage(Params(query: ""), step: 3_600_000)
        #expect(plain.maxSourceResolution == 0 && plain.warnings == nil)
    }
}
