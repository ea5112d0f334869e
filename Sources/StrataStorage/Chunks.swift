import StrataModel

/// A chunk exactly as storage keeps it, in Prometheus' chunk encoding (for remote read's
/// STREAMED_XOR_CHUNKS, which streams stored chunks as they are).
public struct EncodedChunk: Sendable {
    /// Prometheus' `chunkenc.Encoding`: 1 = XOR.
    public var encoding: UInt8
    public var minTime: Int64
    public var maxTime: Int64
    public var bytes: [UInt8]

    public init(encoding: UInt8, minTime: Int64, maxTime: Int64, bytes: [UInt8]) {
        self.encoding = encoding; self.minTime = minTime; self.maxTime = maxTime; self.bytes = bytes
    }
}

/// A series whose storage can hand over its encoded chunks overlapping a time range (whole
/// chunks: they may hold samples outside it, as Prometheus streams them).
public protocol ChunkedStorageSeries: StorageSeries {
    func chunks(mint: Int64, maxt: Int64) throws -> [EncodedChunk]
}

extension ChunkedStorageSeries {
    /// Stays chunked, so remote read can still stream the stored chunks.
    public func relabeled(_ labels: Labels) -> any StorageSeries { RelabeledChunkedSeries(labels: labels, series: self) }
}
