import StrataBlock
import StrataModel
import StrataStorage

extension Block {
    /// Every series with its chunks as stored (encoding and bytes), for tests that check what a
    /// compaction or a downsampling wrote.
    public func encodedChunksBySeries() throws -> [Labels: [EncodedChunk]] {
        var out: [Labels: [EncodedChunk]] = [:]
        try forEachSeries { labels, metas in
            out[labels] = try metas.map { m in
                let (enc, bytes) = try chunkBytes(m.ref)
                return EncodedChunk(encoding: enc, minTime: m.mint, maxTime: m.maxt, bytes: bytes)
            }
        }
        return out
    }
}
