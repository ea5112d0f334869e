/// Chooses which blocks to merge next, as Prometheus' `LeveledCompactor.plan` does:
/// overlapping blocks first (vertical compaction), then blocks that together fill one of the
/// larger aligned ranges (2h → 6h → 18h → …), never the newest block.
public enum CompactionPlanner {
    /// Prometheus' ranges: the block range times 3^i (10 steps), none longer than a tenth of the
    /// retention or 31 days.
    public static func ranges(blockRange: Int64, retention: Int64) -> [Int64] {
        var maxRange: Int64 = 31 * 24 * 3600 * 1000
        if retention > 0 { maxRange = min(maxRange, retention / 10) }
        var out: [Int64] = []
        var r = blockRange
        for _ in 0 ..< 10 {
            if !out.isEmpty && r > maxRange { break }
            out.append(r)
            let (next, overflow) = r.multipliedReportingOverflow(by: 3)
            if overflow { break }
            r = next
        }
        return out
    }

    /// The blocks to compact into one, or nothing.
    public static func plan(_ metas: [BlockMeta], ranges: [Int64]) -> [BlockMeta] {
        guard !metas.isEmpty else { return [] }
        let sorted = metas.sorted { $0.minTime < $1.minTime }
        let overlapping = selectOverlapping(sorted)
        // A merge that failed once is not retried (it would block every other merge).
        if !overlapping.isEmpty && !overlapping.contains(where: { $0.compaction.failed == true }) { return overlapping }
        // The newest block was just cut from the head; it waits for the next round.
        return selectRange(Array(sorted.dropLast()), ranges: ranges)
    }

    static func selectOverlapping(_ ds: [BlockMeta]) -> [BlockMeta] {
        guard ds.count >= 2 else { return [] }
        var out: [BlockMeta] = []
        var globalMaxt = ds[0].maxTime
        for i in 1 ..< ds.count {
            let d = ds[i]
            if d.minTime < globalMaxt {
                if out.isEmpty { out.append(ds[i - 1]) }
                out.append(d)
            } else if !out.isEmpty {
                break
            }
            globalMaxt = max(globalMaxt, d.maxTime)
        }
        return out
    }

    static func selectRange(_ ds: [BlockMeta], ranges: [Int64]) -> [BlockMeta] {
        guard ranges.count >= 2, let newest = ds.last else { return [] }
        let highTime = newest.minTime
        for iv in ranges.dropFirst() {
            for group in splitByRange(ds, iv) where !group.contains(where: { $0.compaction.failed == true }) {
                let mint = group[0].minTime, maxt = group[group.count - 1].maxTime
                // A full range, or one older than the newest block (nothing more will land in it).
                if (maxt - mint == iv || maxt <= highTime) && group.count > 1 { return group }
            }
        }
        return []
    }

    /// Groups of consecutive blocks that lie wholly inside one aligned window of width `tr`.
    static func splitByRange(_ ds: [BlockMeta], _ tr: Int64) -> [[BlockMeta]] {
        var out: [[BlockMeta]] = []
        var i = 0
        while i < ds.count {
            let m = ds[i]
            let t0 = m.minTime >= 0 ? tr * (m.minTime / tr) : tr * ((m.minTime - tr + 1) / tr)
            if m.maxTime > t0 + tr { i += 1; continue }
            var group: [BlockMeta] = []
            while i < ds.count && ds[i].maxTime <= t0 + tr { group.append(ds[i]); i += 1 }
            if !group.isEmpty { out.append(group) }
        }
        return out
    }
}
