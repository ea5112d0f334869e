import StrataModel
import Testing
@testable import StrataHTTPAPI

@Suite struct FormattingTests {
    // Expected strings are what Go's strconv.FormatFloat prints with Prometheus' 'f'/'e' choice.
    @Test(arguments: [
        (1.0, "1"), (0.1, "0.1"), (-2.5, "-2.5"), (1e-6, "0.000001"), (1e-7, "1e-07"), (1.5e-7, "1.5e-07"),
        (123456789.0, "123456789"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.2345e22, "1.2345e+22"),
        (0.0, "0"), (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"),
        (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (0.30000000000000004, "0.30000000000000004"),
        (1234.5678, "1234.5678"), (100.0, "100"), (1e100, "1e+100"), (2.5e-10, "2.5e-10"),
        (-0.0, "-0"), (123456789012345.6, "123456789012345.6"), (1e15, "1000000000000000"), (0.0001, "0.0001"),
        (0.00012345, "0.00012345"), (-7.25, "-7.25"), (999999999999999.9, "999999999999999.9"),
    ])
    func valuesFormatLikeGo(v: Double, expected: String) {
        #expect(GoFloat.format(v) == expected)
        // The JSON writer's fast paths must agree with the general formatter.
        var w = JSONWriter()
        w.value(v)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "\"" + expected + "\"")
    }

    @Test func timestampsHaveThreeFractionDigitsWhenNeeded() {
        func ts(_ ms: Int64) -> String { var w = JSONWriter(); w.timestamp(ms); return String(decoding: w.bytes, as: UTF8.self) }
        #expect(ts(1_435_781_451_781) == "1435781451.781")
        #expect(ts(1500) == "1.500")
        #expect(ts(1005) == "1.005")
        #expect(ts(2000) == "2")
        #expect(ts(0) == "0")
        #expect(ts(-1500) == "-1.500")
    }

    @Test func stringsEscapeLikeGo() {
        var w = JSONWriter()
        w.string("a\"b\\c\n<&>\u{01}\u{2028}é")
        #expect(String(decoding: w.bytes, as: UTF8.self) == #""a\"b\\c\n\u003c\u0026\u003e\u0001\u2028é""#)
    }

    @Test func labelsAsObjectInOrder() {
        var w = JSONWriter()
        w.labels(Labels([("job", "x"), ("__name__", "up")]))
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"__name__":"up","job":"x"}"#)
    }
}

@Suite struct ParamParsingTests {
    @Test func formAndQueryEncoding() {
        let p = Params(query: "query=up%7Bjob%3D%22a%22%7D&match[]=a&match%5B%5D=b&x=1+2&empty=&flag")
        #expect(p["query"] == #"up{job="a"}"#)
        #expect(p.all("match[]") == ["a", "b"])
        #expect(p["x"] == "1 2")
        #expect(p["empty"] == "")
        #expect(p["flag"] == "")
        #expect(p["missing"] == nil)
    }

    @Test func timesParseLikePrometheus() throws {
        #expect(try APITime.parseTime("1435781451.781") == 1_435_781_451_781)
        #expect(try APITime.parseTime("1435781451") == 1_435_781_451_000)
        #expect(try APITime.parseTime("-1.5") == -1500)
        #expect(try APITime.parseTime("2015-07-01T20:10:51.781Z") == 1_435_781_451_781)
        #expect(try APITime.parseTime("2015-07-01T22:10:51+02:00") == 1_435_781_451_000)
        #expect(try APITime.parseTime("1970-01-01T00:00:00.5Z") == 500)
        #expect(throws: APIError.self) { try APITime.parseTime("yesterday") }
        #expect(throws: APIError.self) { try APITime.parseTime("2015-13-01T00:00:00Z") }
    }

    @Test func durationsParseLikePrometheus() throws {
        #expect(try APITime.parseDuration("15") == 15000)
        #expect(try APITime.parseDuration("0.5") == 500)
        #expect(try APITime.parseDuration("15s") == 15000)
        #expect(try APITime.parseDuration("1h30m") == 5_400_000)
        #expect(try APITime.parseDuration("100ms") == 100)
        #expect(try APITime.parseDuration("1d") == 86_400_000)
        #expect(throws: APIError.self) { try APITime.parseDuration("1m1h") }
        #expect(throws: APIError.self) { try APITime.parseDuration("abc") }
        #expect(throws: APIError.self) { try APITime.parseDuration("5x") }
    }
}
