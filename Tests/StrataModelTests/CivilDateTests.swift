import Foundation
import StrataModel
import Testing

/// Calendar dates and RFC 3339 times agree with Foundation's Gregorian calendar in UTC, before
/// and after 1970, across leap days and centuries.
@Suite struct CivilDateTests {
    @Test(arguments: [Int64(0), -1, 951_782_400_123, 951_868_799_999, -2_208_988_800_000, 4_102_444_800_000, 1_796_539_277_580, -86_400_001])
    func matchesFoundation(_ ms: Int64) {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var expected = f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        // Go trims the fraction's trailing zeros (and drops it when zero).
        expected = expected.replacingOccurrences(of: ".000Z", with: "Z")
        while expected.contains(".") && expected.hasSuffix("0Z") { expected = String(expected.dropLast(2)) + "Z" }
        #expect(CivilDate.rfc3339(milliseconds: ms) == expected)
    }

    @Test func leapDaysAndPadding() {
        #expect(CivilDate.date(fromDays: 11016) == (2000, 2, 29))
        #expect(CivilDate.date(fromDays: -1) == (1969, 12, 31))
        #expect(CivilDate.pad(7, 3) == "007" && CivilDate.pad(-7, 2) == "-07" && CivilDate.pad(12345, 2) == "12345")
    }
}
