import StrataModel

/// Query-string and `application/x-www-form-urlencoded` parameters, with repeated keys kept
/// (`match[]`). Form values take precedence the way Go's `r.FormValue` merges them: body first.
public struct Params: Sendable {
    private var values: [(String, String)] = []
    /// The tenant whose series alone a read may see (`--query.enforce-tenancy`), taken from the
    /// request's tenant header; nil when tenancy is not enforced.
    var tenant: String?

    public init() {}

    public init(query: String) { values = Self.parse(query) }

    public mutating func add(encoded: String) { values += Self.parse(encoded) }

    /// The first value for `key`, or nil.
    public subscript(key: String) -> String? { values.first { $0.0 == key }?.1 }

    public func all(_ key: String) -> [String] { values.filter { $0.0 == key }.map(\.1) }

    static func parse(_ s: String) -> [(String, String)] {
        var out: [(String, String)] = []
        for part in s.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = unescape(kv[0])
            let v = kv.count > 1 ? unescape(kv[1]) : ""
            out.append((k, v))
        }
        return out
    }

    static func unescape(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "+") { bytes.append(UInt8(ascii: " ")) }
            else if c == UInt8(ascii: "%") {
                if let h = it.next(), let l = it.next(), let hv = hexDigitValue(h), let lv = hexDigitValue(l) { bytes.append(hv << 4 | lv) }
                else { bytes.append(c) }
            } else { bytes.append(c) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Prometheus' `parseTime` and `parseDuration` for API parameters.
public enum APITime {
    /// Unix seconds (with optional fraction) or RFC 3339 → milliseconds.
    public static func parseTime(_ s: String) throws(APIError) -> Int64 {
        // Prometheus' clients (promtool, client_golang) send its MinTime/MaxTime for "no bound".
        if s == "-292273086-05-16T16:47:06Z" { return minTime }
        if s == "292277025-08-18T07:12:54.999999999Z" { return maxTime }
        if let f = Double(s), f.isFinite {
            // Beyond ±9.2e15 s the value is such a "no bound" marker (-9223309901257974 is
            // MinTime in seconds): clamp instead of overflowing.
            if f <= -9.2e15 { return minTime }
            if f >= 9.2e15 { return maxTime }
            let sec = f.rounded(.towardZero)
            let frac = ((f - sec) * 1000).rounded() / 1000
            return Int64(sec) * 1000 + Int64((frac * 1000).rounded())
        }
        if let t = parseRFC3339(s) { return t }
        throw .badData("cannot parse \(goQuote(s)) to a valid timestamp")
    }

    /// The open ends of a time range, in ms (Prometheus' MinTime/MaxTime, rounded).
    public static let minTime: Int64 = -9_223_309_901_257_974_000
    public static let maxTime: Int64 = 9_223_309_901_257_974_000

    /// Float seconds or a Prometheus duration (`1h30m`, `15s`, `100ms`) → milliseconds.
    public static func parseDuration(_ s: String) throws(APIError) -> Int64 {
        if let f = Double(s), f.isFinite {
            let ms = f * 1000
            guard Swift.abs(ms) < 9.2e18 else { throw .badData("cannot parse \(goQuote(s)) to a valid duration. It overflows int64") }
            return Int64(ms.rounded())
        }
        if let d = try? parsePrometheusDuration(s) { return d }
        throw .badData("cannot parse \(goQuote(s)) to a valid duration")
    }

    /// RFC 3339 (`2006-01-02T15:04:05.999999999Z07:00`) → ms since the epoch.
    public static func parseRFC3339(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for k in from ..< from + len {
                guard b[k] >= 48 && b[k] <= 57 else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
              b[10] == 84 || b[10] == 116, let h = num(11, 2), b[13] == 58, let mi = num(14, 2), b[16] == 58,
              let sec = num(17, 2), (1 ... 12).contains(mo), (1 ... 31).contains(d), h < 24, mi < 60, sec < 61
        else { return nil }
        var i = 19
        var ms = 0
        if i < b.count && b[i] == 46 {
            i += 1
            var digits = 0, frac = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 3 { frac = frac * 10 + Int(b[i] - 48) }
                digits += 1; i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits ..< 3 where digits < 3 { frac *= 10 }
            ms = frac
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 { i += 1 }
        else if b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = num(i + 4, 2) {
            offset = (oh * 60 + om) * 60 * (b[i] == 43 ? 1 : -1)
            i += 6
        } else { return nil }
        guard i == b.count else { return nil }
        // days from civil (Howard Hinnant's algorithm)
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let secs = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + sec) - Int64(offset)
        return secs * 1000 + Int64(ms)
    }
}

/// Go's `strconv.ParseBool`: nil for anything else.
func goParseBool(_ s: String) -> Bool? {
    switch s {
    case "1", "t", "T", "TRUE", "true", "True": return true
    case "0", "f", "F", "FALSE", "false", "False": return false
    default: return nil
    }
}
