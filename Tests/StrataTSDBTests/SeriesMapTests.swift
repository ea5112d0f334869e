import StrataModel
import StrataTestSupport
import Testing
@testable import StrataTSDB

/// The head's series maps against Swift's Dictionary: the same answers after every kind of
/// operation, including removals in the middle of probe runs and keys that share their low bits
/// (a stripe's keys do). The map by hash keeps its keys; the map by ref reads them from the series.
@Suite struct SeriesMapTests {
    @Test func byHashAgreesWithADictionaryUnderRandomInsertsAndRemovals() {
        let pool = (0 ..< 64).map { MemSeries.make(ref: SeriesRef($0), hash: 0, labels: Labels([("i", String($0))])) }
        for keySpace in KeySpace.allCases {
            check(SeriesByHash(), keySpace, name: "by hash") { pool[Int($0 % 64)] }
        }
    }

    @Test func byRefAgreesWithADictionaryUnderRandomInsertsAndRemovals() {
        var made: [UInt64: MemSeries] = [:]
        for keySpace in KeySpace.allCases {
            check(SeriesByRef(), keySpace, name: "by ref") { ref in
                if let s = made[ref] { return s }
                let s = MemSeries.make(ref: ref, hash: 0, labels: Labels([("ref", String(ref))]))
                made[ref] = s
                return s
            }
        }
    }

    @Test func emptyMapsAnswerNothing() {
        var byHash = SeriesByHash(), byRef = SeriesByRef()
        #expect(byHash[7] == nil && byHash.removeValue(forKey: 7) == nil && byHash.values.isEmpty)
        #expect(byRef[7] == nil && byRef.removeValue(forKey: 7) == nil && byRef.values.isEmpty)
    }

    enum KeySpace: CaseIterable {
        case stripeRefs, randomHashes, fewKeys

        func key(_ rng: inout SplitMix) -> UInt64 {
            switch self {
            case .stripeRefs: return UInt64.random(in: 0 ..< 4096, using: &rng) * 16 + 5   // low bits shared
            case .randomHashes: return UInt64.random(in: 0 ..< 3000, using: &rng) &* 0xD6E8_FEB8_6659_FD93
            case .fewKeys: return UInt64.random(in: 0 ..< 40, using: &rng)
            }
        }
    }

    /// 20,000 random inserts, replacements and removals; `seriesFor(key)` is the series stored under a key.
    private func check<Slot>(_ map: SeriesMap<Slot>, _ keySpace: KeySpace, name: String, seriesFor: (UInt64) -> MemSeries) {
        var map = map
        var rng = SplitMix(seed: 42)
        var reference: [UInt64: MemSeries] = [:]
        for step in 0 ..< 20_000 {
            let k = keySpace.key(&rng)
            switch UInt64.random(in: 0 ..< 10, using: &rng) {
            case 0 ..< 5:
                let s = seriesFor(k)
                map[k] = s
                reference[k] = s
            case 5 ..< 8:
                #expect(map.removeValue(forKey: k) === reference.removeValue(forKey: k), "\(name) \(keySpace) step \(step)")
            default:
                map[k] = nil
                reference[k] = nil
            }
            #expect(map[k] === reference[k])
            if step % 1000 == 0 || step == 19_999 {
                #expect(map.count == reference.count, "\(name) \(keySpace) step \(step)")
                for (rk, rv) in reference { #expect(map[rk] === rv, "\(name) \(keySpace) step \(step) key \(rk)") }
                #expect(map.values.count == reference.count)
            }
        }
    }
}
