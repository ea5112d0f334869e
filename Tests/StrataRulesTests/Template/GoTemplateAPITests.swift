@testable import StrataRules
import Testing

/// Behaviour of the general GoTemplate type; expectations from Go's text/template and fmt documentation.
@Suite struct GoTemplateAPITests {
    @Test func defaultMissingKeyPrintsNoValue() throws {
        let template = try GoTemplate(name: "t", text: "{{ .a }}|{{ .b }}")
        #expect(try template.execute(data: .stringMap(["a": "x"])) == "x|<no value>")
    }

    @Test func missingKeyErrorMode() throws {
        let template = try GoTemplate(name: "t", text: "{{ .b }}", missingKey: .error)
        #expect(throws: TemplateError("template: t:1:3: executing \"t\" at <.b>: map has no entry for key \"b\"")) {
            try template.execute(data: .stringMap([:]))
        }
    }

    @Test func customFunctionErrorIsWrapped() throws {
        let fail = GoFunction(parameters: [.string]) { _ throws(FunctionError) in throw FunctionError("boom") }
        let template = try GoTemplate(name: "t", text: "a\n {{ fail \"x\" }}", functionNames: ["fail"])
        #expect(throws: TemplateError("template: t:2:4: executing \"t\" at <fail \"x\">: error calling fail: boom")) {
            try template.execute(data: .invalid, functions: ["fail": fail])
        }
    }

    @Test func unknownFunctionIsParseError() {
        #expect(throws: TemplateError("template: t:1: function \"nope\" not defined")) {
            try GoTemplate(name: "t", text: "{{ nope }}")
        }
    }

    @Test func rangeOverListWithElse() throws {
        let template = try GoTemplate(name: "t", text: "{{ range . }}<{{ . }}>{{ else }}empty{{ end }}")
        #expect(try template.execute(data: .list([.int(1), .string("a")])) == "<1><a>")
        #expect(try template.execute(data: .list([])) == "empty")
    }

    @Test func definedTemplateErrorNamesInnerTemplate() throws {
        let template = try GoTemplate(name: "outer", text: "{{ define \"inner\" }}{{ .x.y }}{{ end }}{{ template \"inner\" 1 }}")
        #expect(throws: TemplateError("template: outer:1:25: executing \"inner\" at <.x.y>: can't evaluate field x in type int")) {
            try template.execute(data: .invalid)
        }
    }

    @Test func trimMarkersEatNewlines() throws {
        let template = try GoTemplate(name: "t", text: "a\n\t{{- 1 -}}\n b")
        #expect(try template.execute(data: .invalid) == "a1b")
    }

    @Test func pathPrefixAndExternalURL() {
        // promtool's unit tests pass Prometheus a nil URL, so this case is checked against template.go instead.
        let expander = AlertTemplateExpander(alertName: "A", labels: [:], externalLabels: [:],
                                             externalURL: "http://example.com/prom", value: 0, timestamp: 0, query: nil)
        #expect(expander.expand("{{ pathPrefix }} {{ externalURL }}").text == "/prom http://example.com/prom")
    }

    @Test func queryWithoutEngineFailsLikeNilFunction() {
        let expander = AlertTemplateExpander(alertName: "B", labels: [:], externalLabels: [:],
                                             externalURL: "", value: 0, timestamp: 0, query: nil)
        #expect(expander.expand("{{ query \"up\" }}").text == "<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing \"__alert_B\" at <query \"up\">: error calling query: runtime error: invalid memory address or nil pointer dereference>")
    }

    @Test func queryCallbackReceivesTimestamp() {
        let expander = AlertTemplateExpander(alertName: "C", labels: [:], externalLabels: [:], externalURL: "",
                                             value: 0, timestamp: 42_000) { expression, timestamp in
            [TemplateSample(labels: ["q": expression], value: Double(timestamp))]
        }
        #expect(expander.expand("{{ with query \"x\" | first }}{{ .Labels.q }}@{{ .Value }}{{ end }}").text == "x@42000")
    }
}

/// Go fmt behaviour (from the fmt package documentation) reached through printf.
@Suite struct GoFmtDocumentationTests {
    static let cases: [(String, String)] = [
        ("{{ printf \"%6.2f\" 3.14159 }}", "  3.14"),
        ("{{ printf \"%-6d|\" 7 }}", "7     |"),
        ("{{ printf \"%+.3e\" 12345.678 }}", "+1.235e+04"),
        ("{{ printf \"%x\" -255 }}", "-ff"),
        ("{{ printf \"%08.3f\" -1.5 }}", "-001.500"),
        ("{{ printf \"%.0f %.0f %.0f\" 0.5 1.5 2.5 }}", "0 2 2"),
        ("{{ printf \"%g\" 1e-5 }}", "1e-05"),
        ("{{ printf \"%!\" }}", "%!!(MISSING)"),
    ]

    @Test(arguments: cases)
    func printfMatchesGo(_ testCase: (String, String)) throws {
        let template = try GoTemplate(name: "t", text: testCase.0)
        #expect(try template.execute(data: .invalid) == testCase.1)
    }
}
