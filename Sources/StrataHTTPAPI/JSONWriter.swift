import StrataModel

/// Writes JSON bytes directly, with Prometheus' exact number and string formatting.
public struct JSONWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    @inline(__always) public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// A JSON string, escaped like Go's encoding/json (HTML characters and U+2028/9 too).
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { stringBytes(UnsafeRawBufferPointer($0)) }
    }

    public mutating func stringBytes(_ u: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var i = 0
        while i < u.count {
            let c = u[i]
            switch c {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(c)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(c)
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0 ..< 0x20, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"):
                raw("\\u00"); bytes.append(hex[Int(c >> 4)]); bytes.append(hex[Int(c & 15)])
            case 0xE2 where i + 2 < u.count && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9):
                raw("\\u202"); bytes.append(u[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                i += 2
            default: bytes.append(c)
            }
            i += 1
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        if m == 0 { bytes.append(UInt8(ascii: "0")); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            while m > 0 { t[n] = UInt8(ascii: "0") + UInt8(m % 10); m /= 10; n += 1 }
            while n > 0 { n -= 1; bytes.append(t[n]) }
        }
    }

    /// A timestamp in ms as Prometheus writes it: seconds, then `.` and three digits if ms ≠ 0.
    public mutating func timestamp(_ ms: Int64) {
        var t = ms
        if t < 0 { bytes.append(UInt8(ascii: "-")); t = -t }
        int(t / 1000)
        let f = t % 1000
        if f != 0 {
            bytes.append(UInt8(ascii: "."))
            if f < 100 { bytes.append(UInt8(ascii: "0")) }
            if f < 10 { bytes.append(UInt8(ascii: "0")) }
            int(f)
        }
    }

    /// A sample value as a quoted string (`"1"`, `"NaN"`, `"+Inf"`, `"1e-07"`).
    public mutating func value(_ v: Double) {
        bytes.append(UInt8(ascii: "\""))
        // Fast path: integral values (counters, gauges of counts) print as integers in Go's 'f' form.
        if v == v.rounded(.towardZero) && Swift.abs(v) < 1e15 && !(v == 0 && v.sign == .minus) {
            int(Int64(v))
        } else {
            GoFloat.append(v, to: &bytes)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A finite number as Go's encoding/json writes a float64 (`0.25`, `60`, `1e-07`); not
    /// for sample values, which Prometheus quotes (`value`).
    public mutating func number(_ v: Double) {
        GoFloat.append(v.isFinite ? v : 0, to: &bytes)
    }

    /// `{"name":"value",...}` in label order.
    public mutating func labels(_ l: Labels) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        l.forEachRaw { n, v in
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            stringBytes(n)
            bytes.append(UInt8(ascii: ":"))
            stringBytes(v)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func stringArray(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(v)
        }
        bytes.append(UInt8(ascii: "]"))
    }
}
