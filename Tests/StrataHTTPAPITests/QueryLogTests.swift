import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
@testable import StrataHTTPAPI
import StrataModel
import StrataTestSupport
import Testing

/// Failed queries at debug and slow ones (`--query.log-slow`) at info, each with its expression.
@Suite struct QueryLogTests {
    static func app(slow: Duration?, level: Logger.Level) -> (LogLines, some ApplicationProtocol) {
        let lines = LogLines()
        var logger = Logger(label: "test") { _ in lines }
        logger.logLevel = level
        let storage = MemoryStorage()
        storage.add(Labels([("__name__", "up"), ("job", "a")]), [Sample(t: 1000, v: 1)])
        var options = APIOptions()
        options.logger = logger
        options.slowQueryLog = slow
        let router = Router()
        PrometheusAPI<BasicRequestContext>(storage: storage, options: options).register(on: router)
        return (lines, Application(router: router))
    }

    @Test func slowAndFailedQueriesAreLoggedWithTheirExpression() async throws {
        let (lines, app) = Self.app(slow: .zero, level: .debug)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/query?query=up&time=1", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/query_range?query=sum(&start=1&end=2&step=1", method: .get) { #expect($0.status == .badRequest) }
        }
        let logged = lines.all
        #expect(logged.count == 2, "\(logged)")
        let slow = try #require(logged.first { $0.contains("msg=slow query") })
        #expect(slow.hasPrefix("level=info") && slow.contains("query=up") && slow.contains("kind=instant") && slow.contains("time=1"), "\(slow)")
        let failed = try #require(logged.first { $0.contains("msg=query failed") })
        #expect(failed.hasPrefix("level=debug") && failed.contains("query=sum(") && failed.contains("kind=range")
            && failed.contains("error_type=bad_data") && failed.contains("step=1"), "\(failed)")
    }

    @Test func nothingIsLoggedByDefault() async throws {
        let (lines, app) = Self.app(slow: nil, level: .info)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/query?query=up&time=1", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/query?query=sum(&time=1", method: .get) { #expect($0.status == .badRequest) }
        }
        #expect(lines.all.isEmpty, "\(lines.all)")
        // A threshold the query does not reach logs nothing either.
        let (quiet, app2) = Self.app(slow: .seconds(60), level: .info)
        try await app2.test(.router) { client in
            try await client.execute(uri: "/api/v1/query?query=up&time=1", method: .get) { #expect($0.status == .ok) }
        }
        #expect(quiet.all.isEmpty)
    }
}
