import StrataModel
import Testing
@testable import StrataPromQLParser

@Suite struct GoStringTests {
    @Test func unquotesGoEscapes() throws {
        #expect(try unquoteGoString(#""a\tb\n\\\"""#) == "a\tb\n\\\"")
        #expect(try unquoteGoString(#"'it\'s'"#) == "it's")
        #expect(try unquoteGoString("`raw \\n \"x\"`") == "raw \\n \"x\"")
        #expect(try unquoteGoString(#""\a\b\f\v\r""#) == "\u{07}\u{08}\u{0C}\u{0B}\r")
        #expect(try unquoteGoString(#""\x41\101\u00e4\U0001F600""#) == "AAä😀")
        #expect(try unquoteGoString(#""\xc3\xa4""#) == "ä")
        #expect(try unquoteGoString(#""ü""#) == "ü")
        #expect(try unquoteGoString(#""""#) == "")
    }

    @Test func rejectsBadStrings() {
        for bad in [#""abc"#, #""\q""#, #"'\"'"#, #""\"#, "\"a\nb\"", "`a`b`", #""\400""#, #""\x4""#, "x", #""a"b""#] {
            #expect(throws: GoStringSyntaxError.self, "\(bad)") { try unquoteGoString(bad) }
        }
    }

    @Test func quotes() {
        #expect(goQuoteString("a\"b\\c\nd") == #""a\"b\\c\nd""#)
        #expect(goQuoteString("ä") == #""ä""#)
        // Replacement characters (bytes that were not UTF-8) stay escaped, so printed queries parse.
        #expect(goQuoteString("a\u{FFFD}z") == #""a\ufffdz""#)
    }

    @Test func quotesRunesLikeGo() {
        #expect(goQuoteRune("a") == "'a'")
        #expect(goQuoteRune("'") == #"'\''"#)
        #expect(goQuoteRune("\n") == #"'\n'"#)
        #expect(goQuoteRune("\u{0}") == #"'\x00'"#)
        #expect(goQuoteRune("\u{A0}") == #"'\u00a0'"#)
        #expect(goQuoteRune("ä") == "'ä'")
        #expect(goUnicodeName("c") == "U+0063 'c'")
        #expect(goUnicodeName("\n") == "U+000A")
    }
}

@Suite struct DurationTests {
    @Test func parsesPrometheusDurations() throws {
        #expect(try parsePrometheusDuration("0") == 0)
        #expect(try parsePrometheusDuration("1ms") == 1)
        #expect(try parsePrometheusDuration("5m") == 300_000)
        #expect(try parsePrometheusDuration("1h30m") == 5_400_000)
        #expect(try parsePrometheusDuration("10s53ms") == 10_053)
        #expect(try parsePrometheusDuration("1y2w3d4h5m6s7ms") == 31_536_000_000 + 1_209_600_000 + 259_200_000 + 14_400_000 + 300_000 + 6000 + 7)
        #expect(try parsePrometheusDuration("1111111s") == 1_111_111_000)
    }

    @Test func rejectsWithPrometheusMessages() {
        let cases = [
            ("", "empty duration string"),
            ("5", #"not a valid duration string: "5""#),
            ("-5m", #"not a valid duration string: "-5m""#),
            ("1.5h", #"unknown unit "." in duration "1.5h""#),
            ("5m1h", #"not a valid duration string: "5m1h""#),
            ("1m1m", #"not a valid duration string: "1m1m""#),
            ("5y1hs", #"unknown unit "hs" in duration "5y1hs""#),
            ("3x", #"unknown unit "x" in duration "3x""#),
            ("300y", "duration out of range"),
        ]
        for (input, message) in cases {
            do {
                _ = try parsePrometheusDuration(input)
                Issue.record("\(input) parsed")
            } catch {
                #expect("\(error)" == message, "\(input)")
            }
        }
    }

    @Test func formatsLikeModelDuration() {
        let cases: [(Int64, String)] = [
            (0, "0s"), (1, "1ms"), (1500, "1s500ms"), (300_000, "5m"), (5_400_000, "1h30m"), (86_400_000, "1d"),
            (604_800_000, "1w"), (7_776_000_000, "90d"), (31_536_000_000, "1y"), (31_536_000_000 + 86_400_000, "366d"),
            (-300_000, "-5m"),
        ]
        for (ms, text) in cases { #expect(formatPrometheusDuration(milliseconds: ms) == text) }
    }
}

@Suite struct GoNumberTests {
    @Test func formatsShortestFixed() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "-0"), (1, "1"), (0.1, "0.1"), (1e-7, "0.0000001"), (123456789, "123456789"),
            (1e21, "1000000000000000000000"), (1.5e-10, "0.00000000015"), (-2.5, "-2.5"), (1.0 / 3, "0.3333333333333333"),
            (5e-324, "0." + String(repeating: "0", count: 323) + "5"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
            (9007199254740993, "9007199254740992"),
        ]
        for (v, text) in cases { #expect(GoFloat.formatF(v) == text, "\(v)") }
    }

    @Test func parsesLikeParseIntThenParseFloat() {
        func value(_ s: String) -> Double? { try? parseGoNumber(s).get() }
        #expect(value("010") == 8)
        #expect(value("08") == 8)
        #expect(value("0x_1F") == 31)
        #expect(value("1_000") == 1000)
        #expect(value("1_000.5") == 1000.5)
        #expect(value("99999999999999999999") == 1e20)
        #expect(value(".5") == 0.5)
        #expect(value("5.") == 5)
        #expect(value("1__0") == nil)
        #expect(value("0xffffffffffffffffff") == nil)
        #expect(value("0x") == nil)
    }

    @Test func formatsHugeIntegralValuesExactly() {
        #expect(goFormatFixedSix(1e19) == "10000000000000000000.000000")
        #expect(goFormatFixedSix(-1e300) == "-1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000")
        #expect(goFormatFixedSix(.nan) == "NaN")
    }
}
