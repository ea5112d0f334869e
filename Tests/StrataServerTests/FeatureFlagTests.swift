import StrataServer
import StrataTestSupport
import Testing

/// `--enable-feature` reaches the query API: experimental functions parse only when enabled,
/// and delayed name removal keeps `__name__` visible to label_replace after it was dropped.
@Suite struct FeatureFlagTests {
    static func get(_ port: Int, _ pathAndQuery: String) async throws -> (Int, String) { try await httpGet(port: port, pathAndQuery) }

    static let experimental = "/api/v1/query?query=mad_over_time(vector(1)%5B1m%3A%5D)&time=60"

    @Test func offByDefault() async throws {
        try await withStrata { port in
            let (status, body) = try await Self.get(port, Self.experimental)
            #expect(status == 400)
            #expect(body.contains(#"function \"mad_over_time\" is not enabled"#), "\(body)")
        }
    }

    @Test func experimentalFunctionsWhenEnabled() async throws {
        var config = ServerConfig()
        config.enabledFeatures = [.promqlExperimentalFunctions]
        try await withStrata(config) { port in
            let (status, body) = try await Self.get(port, Self.experimental)
            #expect(status == 200, "\(body)")
            #expect(body.contains(#""resultType":"vector""#))
        }
    }

    static let labelReplace = "/api/v1/query?query=label_replace(-m%2C%22n%22%2C%22%241%22%2C%22__name__%22%2C%22(.*)%22)&time=10"

    static func writeM(_ port: Int) async {
        var b = WriteRequestBuilder()
        b.add([("__name__", "m"), ("job", "a")], [(10_000, 1)])
        #expect(await postWrite(port: port, b.snappyBody()) == .noContent)
    }

    @Test func nameDroppedAtOnceByDefault() async throws {
        try await withStrata { port in
            await Self.writeM(port)
            let (status, body) = try await Self.get(port, Self.labelReplace)
            #expect(status == 200)
            #expect(body.contains(#""metric":{"job":"a","tenant_id":"default-tenant"}"#), "\(body)")
        }
    }

    @Test func delayedNameRemovalWhenEnabled() async throws {
        var config = ServerConfig()
        config.enabledFeatures = [.promqlDelayedNameRemoval]
        try await withStrata(config) { port in
            await Self.writeM(port)
            let (status, body) = try await Self.get(port, Self.labelReplace)
            #expect(status == 200)
            #expect(body.contains(#""metric":{"job":"a","n":"m","tenant_id":"default-tenant"}"#), "\(body)")
        }
    }
}
