import StrataBlock
import StrataEncoding
import StrataModel
import StrataTestSupport
import Testing
@testable import StrataTSDB

/// The postings' pair table against a Dictionary, and the postings index against lists computed
/// from the series' labels: ids found by bytes, pairs removed from the middle of probe runs,
/// hashes that collide, ids reused and the byte arena compacted under churn.
@Suite struct LabelPairTableTests {
    private static func pairBytes(_ name: String, _ value: String) -> [UInt8] {
        Labels([(name, value)]).bytes
    }

    @Test func agreesWithADictionaryUnderRandomInsertsAndRemovals() {
        var rng = SplitMix(seed: 7)
        // "colliding": every key's hash is one of four values, so lookups must compare bytes.
        for hashing in ["xxh64", "colliding"] {
            var table = LabelPairTable()
            var reference: [[UInt8]: Int32] = [:]
            func hash(_ key: [UInt8]) -> UInt64 {
                let h = key.withUnsafeBytes { XXH64.hash($0) }
                return hashing == "xxh64" ? h : h & 3
            }
            for step in 0 ..< 30_000 {
                // Long values so the removed pairs' bytes pass the arena's compaction threshold.
                let n = Int.random(in: 0 ..< 2_000, using: &rng)
                let key = Self.pairBytes("name\(n % 7)", String(repeating: "v", count: n % 300) + String(n))
                let found = key.withUnsafeBytes { table.find($0, hash: hash(key)) }
                #expect(found == reference[key], "\(hashing) step \(step)")
                if let id = found, Int.random(in: 0 ..< 3, using: &rng) == 0 {
                    table.remove(id)
                    reference[key] = nil
                } else if found == nil {
                    let id = key.withUnsafeBytes { table.insert($0, hash: hash(key)) }
                    #expect(!reference.values.contains(id), "\(hashing): id \(id) handed out twice")
                    reference[key] = id
                }
                if step % 2_000 == 0 || step == 29_999 {
                    #expect(table.count == reference.count)
                    for (k, id) in reference {
                        #expect(k.withUnsafeBytes { table.find($0, hash: hash(k)) } == id, "\(hashing) step \(step)")
                        #expect(table.withBytes(of: id) { Array($0) } == k)
                    }
                    // Ids are reused: the arrays they index grow with the most pairs held, not all ever made.
                    #expect(table.idLimit <= 2_000)
                }
            }
        }
    }

    /// From ref 1, and from just below 2^32 so the lists cross from 32-bit refs to full ones
    /// halfway (a head that has created 4 billion series, or replays a WAL that had).
    @Test(arguments: [SeriesRef(1), SeriesRef(UInt32.max) - 3_999])
    func postingsEqualListsComputedFromTheSeriesLabels(firstRef: SeriesRef) throws {
        var rng = SplitMix(seed: 11)
        let postings = MemPostings()
        var live: [SeriesRef: Labels] = [:]
        var nextRef = firstRef
        func series() -> Labels {
            // Values of every length around the 15-byte small-string boundary, and a unique one.
            Labels([("__name__", "m\(Int.random(in: 0 ..< 5, using: &rng))"),
                    ("instance", String(repeating: "i", count: Int.random(in: 0 ..< 20, using: &rng))),
                    ("id", String(nextRef))])
        }
        for round in 0 ..< 40 {
            // Refs out of order too, as a WAL replay may add them.
            var batch: [(SeriesRef, Labels)] = []
            for _ in 0 ..< 200 {
                batch.append((nextRef, series()))
                nextRef += 1
            }
            if round % 2 == 1 { batch.shuffle(using: &rng) }
            for (ref, l) in batch {
                l.bytes.withUnsafeBytes { postings.add(ref, $0) }
                live[ref] = l
            }
            // Churn: a third of the series go, as truncation removes them.
            let gone = live.filter { _ in Int.random(in: 0 ..< 3, using: &rng) == 0 }
            postings.delete(gone.map { ($0.key, $0.value) })
            for ref in gone.keys { live[ref] = nil }

            var expected: [String: [String: [SeriesRef]]] = [:]
            for (ref, l) in live { l.forEach { expected[$0, default: [:]][$1, default: []].append(ref) } }
            #expect(postings.allPostings() == live.keys.sorted(), "round \(round)")
            #expect(Set(postings.labelNames()) == Set(expected.keys))
            for (name, values) in expected {
                #expect(Set(postings.labelValues(name)) == Set(values.keys), "round \(round) \(name)")
                for (value, refs) in values { #expect(postings.postings(name, value) == refs.sorted()) }
                #expect(try postings.postings(name, where: { $0.count % 2 == 0 }) ==
                        values.filter { $0.key.count % 2 == 0 }.flatMap(\.value).sorted())
            }
            #expect(postings.postings("id", "0").isEmpty && postings.postings("nope", "x").isEmpty)
            #expect(postings.stats().numPairs == expected.values.reduce(0) { $0 + $1.count })
        }
    }
}
