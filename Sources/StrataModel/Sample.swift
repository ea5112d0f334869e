/// One float sample: milliseconds since the epoch and a value.
public struct Sample: Sendable, Equatable {
    public var t: Int64
    public var v: Double

    @inlinable
    public init(t: Int64, v: Double) { self.t = t; self.v = v }

    /// Bit-exact equality (NaN payloads, ±0) — what storage means by "the same value".
    @inlinable
    public func isIdentical(to other: Sample) -> Bool { t == other.t && v.bitPattern == other.v.bitPattern }
}

/// Stable identifier of a series inside one head (monotonic, never reused while the process lives).
public typealias SeriesRef = UInt64

public enum StaleNaN {
    /// Prometheus' staleness marker (`value.StaleNaN`). Compare bits, never with `==`.
    public static let bits: UInt64 = 0x7ff0_0000_0000_0002
    public static let value = Double(bitPattern: bits)

    @inlinable @inline(__always)
    public static func isStale(_ v: Double) -> Bool { v.bitPattern == bits }
}

/// Prometheus' NaN for real NaN values (`value.NormalNaN`).
public let normalNaN = Double(bitPattern: 0x7ff8_0000_0000_0001)
