@testable import StrataRules
import Testing

/// One case captured from promtool 2.42 by scripts/capture_fixtures.py.
struct PromtoolFixture: CustomTestStringConvertible, Sendable {
    enum Kind: Sendable { case parse, render }
    let template: String
    let kind: Kind
    /// For .render: the annotation text Prometheus produced (including `<error expanding template: …>`).
    /// For .parse: the parse error `promtool check rules` reported.
    let expected: String

    init(_ template: String, _ kind: Kind, _ expected: String) {
        self.template = template
        self.kind = kind
        self.expected = expected
    }

    var testDescription: String { template }
}

/// The same alert promtool evaluated: `up{job="api"}` at t=0 with the series from the capture script.
enum PromtoolScenario {
    static let apiSample = TemplateSample(
        labels: ["__name__": "up", "job": "api", "instance": "host1.example.com:9090"], value: 1234.5)
    static let dbSample = TemplateSample(
        labels: ["__name__": "up", "job": "db", "instance": "10.0.0.2:9100"], value: 0)

    /// A fake query engine answering the queries the fixtures use, as Prometheus did.
    static let query: @Sendable (String, Int64) throws -> [TemplateSample] = { expression, _ in
        switch expression {
        case "up": return [apiSample, dbSample]
        case "sum(up)": return [TemplateSample(labels: [:], value: 1234.5)]
        case "up{job='db'}": return [dbSample]
        case "up{job='api'}": return [apiSample]
        case "up{job='none'}": return []
        default: throw TemplateError("1:6: parse error: unexpected identifier \"is\"")
        }
    }

    static let expander = AlertTemplateExpander(
        alertName: "A", labels: apiSample.labels, externalLabels: ["region": "eu"],
        externalURL: "http://example.com/prom", value: 1234.5, timestamp: 0, query: query)

    static func check(_ fixture: PromtoolFixture) {
        let result = expander.expand(fixture.template)
        switch fixture.kind {
        case .render:
            #expect(result.text == fixture.expected)
            #expect((result.error == nil) == !fixture.expected.hasPrefix("<error expanding template:"))
        case .parse:
            #expect(AlertTemplateExpander.parseTest(alertName: "A", fixture.template)?.description == fixture.expected)
            #expect(result.text == "<error expanding template: error parsing template __alert_A: \(fixture.expected)>")
        }
    }
}
