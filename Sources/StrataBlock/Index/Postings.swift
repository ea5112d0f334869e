import StrataModel

/// Set operations on sorted postings lists.
public enum Postings {
    public static func intersect(_ a: [SeriesRef], _ b: [SeriesRef]) -> [SeriesRef] {
        var out: [SeriesRef] = []
        out.reserveCapacity(min(a.count, b.count))
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { out.append(a[i]); i += 1; j += 1 }
            else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return out
    }

    public static func subtract(_ a: [SeriesRef], _ b: [SeriesRef]) -> [SeriesRef] {
        if b.isEmpty { return a }
        var out: [SeriesRef] = []
        out.reserveCapacity(a.count)
        var j = 0
        for x in a {
            while j < b.count && b[j] < x { j += 1 }
            if j < b.count && b[j] == x { continue }
            out.append(x)
        }
        return out
    }

    public static func union(_ lists: [[SeriesRef]]) -> [SeriesRef] {
        switch lists.count {
        case 0: return []
        case 1: return lists[0]
        default:
            var out = lists.flatMap { $0 }
            sortUnique(&out)
            return out
        }
    }

    /// Sorts the refs and drops repeats.
    public static func sortUnique(_ refs: inout [SeriesRef]) {
        refs.sort()
        var w = 0
        for r in 0 ..< refs.count where r == 0 || refs[r] != refs[r - 1] { refs[w] = refs[r]; w += 1 }
        refs.removeLast(refs.count - w)
    }
}
