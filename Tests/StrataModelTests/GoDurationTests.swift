import StrataModel
import Testing

/// Go's `time.ParseDuration` (the loadgen's --duration and friends): values and messages as Go 1.19 gives them.
@Suite struct GoDurationTests {
    @Test func acceptsGoSyntax() throws {
        let cases: [(String, Int64)] = [
            ("0", 0), ("15s", 15_000_000_000), ("1.5h", 5_400_000_000_000), ("2h45m", 9_900_000_000_000),
            ("300ms", 300_000_000), ("-1.5m", -90_000_000_000), ("+5s", 5_000_000_000), ("1us", 1_000), ("1µs", 1_000),
            ("7ns", 7), (".5s", 500_000_000), ("1.s", 1_000_000_000), ("1h1m1s1ms", 3_661_001_000_000),
        ]
        for (s, want) in cases { #expect(try parseGoDuration(s) == want, "\(s)") }
    }

    @Test func rejectsWithGoMessages() {
        func message(_ s: String) -> String {
            do { _ = try parseGoDuration(s); return "" } catch { return error.description }
        }
        #expect(message("") == #"time: invalid duration """#)
        #expect(message("15") == #"time: missing unit in duration "15""#)
        #expect(message("1d") == #"time: unknown unit "d" in duration "1d""#)
        #expect(message("s") == #"time: invalid duration "s""#)
        #expect(message(".s") == #"time: invalid duration ".s""#)
        #expect(message("-") == #"time: invalid duration "-""#)
        #expect(message("3000000h") == #"time: invalid duration "3000000h""#)
    }
}
