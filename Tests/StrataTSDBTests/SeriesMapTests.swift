import StrataModel
import StrataTestSupport
import Testing
@testable import StrataTSDB

/// The head's series map against Swift's Dictionary: the same answers after every kind of
/// operation, including removals in the middle of probe runs and keys that share their low bits
/// (a stripe's keys do).
@Suite struct SeriesMapTests {
    @Test func agreesWithADictionaryUnderRandomInsertsAndRemovals() {
        var rng = SplitMix(seed: 42)
        let series = (0 ..< 64).map { MemSeries(ref: SeriesRef($0), hash: 0, labels: Labels([("i", String($0))])) }
        for keySpace in ["stripe refs", "random hashes", "few keys"] {
            var map = SeriesMap()
            var reference: [UInt64: MemSeries] = [:]
            func key() -> UInt64 {
                switch keySpace {
                case "stripe refs": return UInt64.random(in: 0 ..< 4096, using: &rng) * 16 + 5   // low bits shared
                case "random hashes": return UInt64.random(in: 0 ..< 3000, using: &rng) &* 0xD6E8_FEB8_6659_FD93
                default: return UInt64.random(in: 0 ..< 40, using: &rng)
                }
            }
            for step in 0 ..< 20_000 {
                let k = key()
                switch UInt64.random(in: 0 ..< 10, using: &rng) {
                case 0 ..< 5:
                    let s = series[Int(k % 64)]
                    map[k] = s
                    reference[k] = s
                case 5 ..< 8:
                    #expect(map.removeValue(forKey: k) === reference.removeValue(forKey: k), "\(keySpace) step \(step)")
                default:
                    map[k] = nil
                    reference[k] = nil
                }
                #expect(map[k] === reference[k])
                if step % 1000 == 0 || step == 19_999 {
                    #expect(map.count == reference.count, "\(keySpace) step \(step)")
                    for (rk, rv) in reference { #expect(map[rk] === rv, "\(keySpace) step \(step) key \(rk)") }
                    #expect(map.values.count == reference.count)
                }
            }
        }
        var empty = SeriesMap()
        #expect(empty[7] == nil && empty.removeValue(forKey: 7) == nil && empty.values.isEmpty)
    }
}
