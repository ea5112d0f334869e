import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock

/// The index and chunk readers work over any `ByteSource` (a bucket's ranged reads tomorrow), and
/// a damaged file read through one is a `corrupt` error, never a crash.
@Suite struct ByteSourceTests {
    /// A block of `n` series with two chunks each, and its directory.
    static func writeBlock(_ dir: TempDir, series n: Int = 50) throws -> BlockMeta {
        let input = (0 ..< n).map { i in
            let samples = (0 ..< 150).map { Sample(t: Int64($0) * 15_000, v: Double(i * 1000 + $0)) }
            return BlockSeriesInput(labels: Labels(["__name__": "m", "i": String(i), "odd": String(i % 2)]),
                                    chunks: XORChunk.encodeChunks(samples))
        }
        return try BlockWriter.write(parentDir: dir.path, mint: 0, maxt: 150 * 15_000, series: input)
    }

    /// Everything a query reads from an index: every series with its chunk metas, postings for
    /// each kind of lookup, names and values.
    static func readAll<S: ByteSource>(_ index: IndexReader<S>) throws -> String {
        var out = ""
        var metas: [ChunkMeta] = []
        for ref in try index.allPostings() {
            let labels = try index.series(ref, chunks: &metas)
            out += "\(labels) \(metas.map { "\($0.mint)-\($0.maxt)@\($0.ref)" })\n"
        }
        out += "odd=1: \(try index.postings("odd", "1").count)\n"
        out += "i=~1.: \(try index.postings("i", where: { $0.hasPrefix("1") && $0.count == 2 }, interrupt: nil).count)\n"
        out += "\(index.labelNames().sorted()) \(try index.labelValues("odd").sorted())\n"
        return out
    }

    @Test func anIndexReadsTheSameFromMemoryAsFromItsMap() throws {
        let dir = try TempDir("bytesource"); defer { dir.remove() }
        let meta = try Self.writeBlock(dir)
        let path = dir.file(meta.ulid + "/index")
        let mapped = try IndexReader(path: path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let inMemory = try IndexReader(InMemoryBytes(bytes, name: path))
        let viaMap = try Self.readAll(mapped)
        #expect(viaMap.contains("odd=1: 25") && viaMap.contains("i=~1.: 10"))
        #expect(try Self.readAll(inMemory) == viaMap)

        // Chunks, likewise: the same bytes through both sources.
        let chunkPath = dir.file(meta.ulid + "/chunks/000001")
        let fromMap = try ChunkSegmentReader(dir: dir.file(meta.ulid + "/chunks"))
        let fromMemory = try ChunkSegmentReader(segments: [InMemoryBytes(try [UInt8](Data(contentsOf: URL(fileURLWithPath: chunkPath))))])
        var metas: [ChunkMeta] = []
        _ = try mapped.series(try mapped.allPostings()[3], chunks: &metas)
        for m in metas {
            let a = try fromMap.withChunk(m.ref) { [$0] + Array($1) }
            let b = try fromMemory.withChunk(m.ref) { [$0] + Array($1) }
            #expect(a == b && a.count > 10)
        }
    }

    /// Every single-byte change and every truncation of an index either reads (a changed byte
    /// the format does not checksum, such as padding) or fails as `corrupt`/`unsupported`.
    @Test func aDamagedIndexIsAnErrorNotACrash() throws {
        let dir = try TempDir("bytesource"); defer { dir.remove() }
        let meta = try Self.writeBlock(dir, series: 8)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file(meta.ulid + "/index"))))
        var failures: [StorageError.Kind: Int] = [:]
        func attempt(_ bytes: [UInt8]) {
            do { _ = try Self.readAll(try IndexReader(InMemoryBytes(bytes))) } catch let e as StorageError {
                failures[e.kind, default: 0] += 1
            } catch {
                Issue.record("not a storage error: \(error)")
            }
        }
        var rng = SplitMix(seed: 7)
        for i in 0 ..< good.count {
            var bad = good
            bad[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            attempt(bad)
        }
        for n in stride(from: 0, to: good.count, by: 7) { attempt(Array(good[0 ..< n])) }
        #expect(Set(failures.keys).isSubset(of: [.corrupt, .unsupported]))
        #expect(failures[.corrupt, default: 0] > good.count / 2, "\(failures)")
    }
}
