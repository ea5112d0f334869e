import StrataModel

/// Block names: ULIDs (48-bit millisecond time + 80 random bits, Crockford base32, 26 characters),
/// as Prometheus and Thanos name blocks. Lexical order of the strings is creation-time order.
public enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID for the current time.
    public static func make(milliseconds: UInt64 = nowMillis()) -> String {
        var rng = SystemRandomNumberGenerator()
        return encode(time: milliseconds, randomHigh: UInt16.random(in: .min ... .max, using: &rng),
                      randomLow: UInt64.random(in: .min ... .max, using: &rng))
    }

    static func encode(time: UInt64, randomHigh: UInt16, randomLow: UInt64) -> String {
        // 128 bits: time (48) | random (80); the 26 characters carry 130 bits, the first two zero.
        let hi = (time << 16) | UInt64(randomHigh) // top 64 bits
        let lo = randomLow
        var out = [UInt8](repeating: 0, count: 26)
        for i in 0 ..< 26 {
            // Character i holds the five bits starting at `shift` (from the least significant end).
            let shift = 5 * (25 - i)
            let v: UInt64
            if shift >= 64 { v = hi >> UInt64(shift - 64) }
            else if shift == 0 { v = lo }
            else { v = (lo >> UInt64(shift)) | (hi << UInt64(64 - shift)) }
            out[i] = alphabet[Int(v & 31)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True for a 26-character Crockford base32 string whose first character is at most 7.
    public static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 26, let first = u.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "7") else { return false }
        return u.allSatisfy { decodeChar($0) != nil }
    }

    /// The millisecond timestamp a ULID carries.
    public static func time(_ s: String) -> UInt64? {
        guard isValid(s) else { return nil }
        var v: UInt64 = 0
        for c in s.utf8.prefix(10) { v = v << 5 | UInt64(decodeChar(c)!) }
        return v
    }

    static func decodeChar(_ c: UInt8) -> UInt8? {
        var c = c
        if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { c -= 32 }
        return alphabet.firstIndex(of: c).map { UInt8($0) }
    }

    public static func nowMillis() -> UInt64 { UInt64(WallClock.nowMillis()) }
}
