import StrataBlock
import StrataModel
import StrataStorage
import Synchronization

public struct DBOptions: Sendable {
    /// Blocks whose end is this much older than the newest block's end are deleted (ms; 0 = keep all).
    public var retentionTime: Int64 = 15 * 24 * 3600 * 1000
    /// Oldest blocks are deleted while blocks + WAL exceed this many bytes (0 = no limit).
    public var retentionSize: Int = 0
    /// Ranges for leveled compaction; nil = Prometheus' (block range × 3^i, at most a tenth of
    /// the retention or 31 days). An empty list turns block compaction off.
    public var blockRanges: [Int64]?
    /// How long one head compaction waits for queriers that started before the blocks it wrote
    /// (set above the query timeout: a querier held past it could find a gap).
    public var readerWaitTimeout: Duration = .seconds(150)
    /// When blocks are shipped to a bucket: whether a block is done with (in the bucket, or one
    /// the shipper never ships). Retention deletes no other block (invariant 3) and counts those
    /// it keeps; blocks are then not merged locally either (a merged block is not shipped).
    public var isShipped: (@Sendable (BlockMeta) -> Bool)?
    public init() {}
}

/// A change to the set of blocks on disk, announced to `DB.onBlockEvent` subscribers (a shipper
/// uploads written blocks; a catalog forgets deleted ones).
public enum BlockEvent: Sendable {
    public enum Origin: String, Sendable {
        /// Cut from the head.
        case head
        /// Merged from other blocks.
        case compaction
    }
    public enum Reason: String, Sendable {
        /// Merged into a newer block (also one found merged by `reloadBlocks()` after a crash
        /// stopped its deletion).
        case compacted
        /// Past the time or size retention.
        case retention
    }
    /// The block is complete in `dir` (renamed into place, fsynced) and open for queries.
    case written(BlockMeta, dir: String, origin: Origin)
    /// The block's directory is gone and queries no longer see it.
    case deleted(ulid: String, reason: Reason)
}

/// The time-series database of one data directory: the head (with its WAL) and the immutable
/// blocks cut from it. Queries see both merged; `compactHead()` moves old head data into blocks.
public final class DB: Sendable {
    public let dir: String
    public let head: Head
    public let options: DBOptions
    /// Open blocks, sorted by minTime (then ULID).
    private let openBlocks = Mutex<[Block]>([])
    /// One compaction, retention run or snapshot at a time.
    let maintenance = Mutex<Void>(())
    /// Set by `retire()`: another DB over the same directory has taken over.
    private let retired = Atomic<Bool>(false)
    /// Blocks whose merge failed: not planned again until restart (Prometheus marks them failed).
    private let failedCompactions = Mutex<Set<String>>([])
    public let stats = DBStats()
    private let blockObservers = Mutex<[@Sendable (BlockEvent) -> Void]>([])

    /// Calls `observer` after every block written or deleted from now on, on the thread that
    /// did it, in order, while further compaction waits: keep it short (hand the work to a task).
    public func onBlockEvent(_ observer: @escaping @Sendable (BlockEvent) -> Void) {
        blockObservers.withLock { $0.append(observer) }
    }

    /// Stops this DB's compaction and retention for good (waiting for one in progress), when
    /// another DB over the same directory takes over (an idle tenant closed or opened again):
    /// two DBs must never delete or merge each other's blocks.
    public func retire() { maintenance.withLock { _ in retired.store(true, ordering: .relaxed) } }

    var isRetired: Bool { retired.load(ordering: .relaxed) }

    private func announce(_ event: BlockEvent) {
        for observer in blockObservers.withLock({ $0 }) { observer(event) }
    }

    /// Opens the blocks in `dir` (removing half-written and half-deleted leftovers of a crash)
    /// and tells the head not to accept samples older than the newest block's end.
    /// `readOnly` (for `strata tsdb` on a directory a server may be using): leftovers are skipped,
    /// not removed, and nothing is created.
    public init(dir: String, head: Head, options: DBOptions = DBOptions(), readOnly: Bool = false) throws {
        self.dir = dir
        self.head = head
        self.options = options
        self.readOnly = readOnly
        if !readOnly { try FileSystem.mkdirAll(dir) }
        try reloadBlocks()
    }

    let readOnly: Bool

    public var blocks: [Block] { openBlocks.withLock { $0 } }

    /// Block directories left out because their `meta.json` is missing or unreadable, with why
    /// (as Prometheus skips them; the server logs them and counts them on `/metrics`).
    public var skippedBlocks: [(ulid: String, reason: String)] { skipped.withLock { $0 } }
    private let skipped = Mutex<[(ulid: String, reason: String)]>([])

    /// Removes leftovers of interrupted writes and deletions, then opens every block directory.
    /// A block whose `meta.json` cannot be read is skipped and reported (`skippedBlocks`), as
    /// Prometheus does; any other unreadable block makes this throw: it would be data silently
    /// missing.
    public func reloadBlocks() throws {
        var found: [Block] = []
        var skippedNow: [(ulid: String, reason: String)] = []
        let known = Dictionary(uniqueKeysWithValues: blocks.map { ($0.ulid, $0) })
        for name in try FileSystem.list(dir).sorted() {
            let path = dir + "/" + name
            if name.hasSuffix(BlockWriter.tmpForCreation) || name.hasSuffix(BlockWriter.tmpForDeletion) {
                if !readOnly { try FileSystem.removeAll(path) }
                continue
            }
            guard ULID.isValid(name), FileSystem.isDirectory(path) else { continue }
            if let b = known[name] { found.append(b); continue }
            do { _ = try BlockMeta.read(dir: path) } catch {
                if readOnly && !FileSystem.exists(path) { continue }
                skippedNow.append((name, "\(error)"))
                continue
            }
            do { found.append(try Block(dir: path)) } catch {
                // A reader beside a running server may see a block vanish (merged or expired)
                // between listing and opening it.
                if readOnly && !FileSystem.exists(path) { continue }
                throw StorageError.wrapping(error, "opening block \(name)")
            }
        }
        // A block that is the parent of another was compacted into it; a crash stopped its deletion.
        let parents = Set(found.flatMap { $0.meta.compaction.parents ?? [] }.map(\.ulid))
        let compacted = found.filter { parents.contains($0.ulid) }
        found.removeAll { parents.contains($0.ulid) }
        if !readOnly { try delete(compacted, reason: .compacted) }
        found.sort { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
        openBlocks.withLock { $0 = found }
        skipped.withLock { $0 = skippedNow }
        if let newest = found.map(\.maxTime).max() { head.setMinValidTime(newest) }
    }

    /// After WAL replay: drops from the head what blocks already hold (the WAL may still
    /// contain samples that were compacted before a crash or restart).
    @discardableResult
    public func truncateHeadToBlocks() -> Head.TruncateStats? {
        guard let newest = blocks.map(\.maxTime).max() else { return nil }
        return head.truncate(before: newest)
    }

    // MARK: compaction

    /// Head compaction, then block compaction (Prometheus' `DB.Compact`).
    public func compact() throws -> CompactionResult {
        var r = try compactHead()
        r.merged = try compactBlocks()
        return r
    }

    public struct CompactionResult: Sendable {
        public var blocks: [BlockMeta] = []
        /// Blocks written by merging blocks (leveled or vertical compaction).
        public var merged: [BlockMeta] = []
        public var truncate = Head.TruncateStats()
        public var checkpoint: Checkpoint.Stats?
    }

    /// While the head spans more than 1.5 block ranges, writes its oldest range `[mint, mint+range)`
    /// as a block, then drops that range from the head and checkpoints the WAL.
    /// `flushAll` (an idle tenant about to be closed): every range, the last one ending just
    /// after the newest sample, so the head is left empty and later samples are still accepted.
    public func compactHead(flushAll: Bool = false) throws -> CompactionResult {
        try maintenance.withLock { _ in
            var result = CompactionResult()
            if isRetired { return result }
            var lastMaxt: Int64?
            // One wait for old queriers per run, however many blocks it cuts.
            let readersDeadline = ContinuousClock.now + options.readerWaitTimeout
            while flushAll ? head.numSeries > 0 && head.maxt != .min && head.compactionStart <= head.maxt : head.compactable {
                let mint = head.compactionStart
                var maxt = MemSeries.rangeForTimestamp(mint, head.options.chunkRange)
                if flushAll && maxt > head.maxt { maxt = head.maxt + 1 }
                // From here on no writer may add samples below maxt: the block would miss them.
                // Samples staged below maxt become visible only when their appender commits. An
                // appender that stays open leaves this range for the next run.
                guard head.waitForPendingAppends(below: maxt, timeout: .seconds(1)) else { break }
                head.setMinValidTime(maxt)
                // One that announced itself just before the new minimum is committing now.
                guard head.waitForPendingAppends(below: maxt, timeout: .seconds(30)) else {
                    throw StorageError(.timeout, "head compaction of [\(mint), \(maxt)): appends below \(maxt) did not commit in 30s")
                }
                let started = ContinuousClock.now
                let written: BlockMeta?
                do { written = try head.writeBlock(parentDir: dir, mint: mint, maxt: maxt) } catch {
                    stats.compactionsFailed.add(1, ordering: .relaxed)
                    throw error
                }
                if let meta = written {
                    stats.compactions.add(1, ordering: .relaxed)
                    stats.lastCompactionNanos.store(Int((ContinuousClock.now - started).nanoseconds), ordering: .relaxed)
                    let block = try Block(dir: dir + "/" + meta.ulid)
                    openBlocks.withLock { all in
                        all.append(block)
                        all.sort { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
                    }
                    result.blocks.append(meta)
                    announce(.written(meta, dir: block.dir, origin: .head))
                }
                // Queriers created before the block was published do not see it: they read
                // this range from the head until they are done.
                if !head.readers.waitForReaders(registeredBefore: head.readers.generation, below: maxt, until: readersDeadline) {
                    stats.readerWaitTimeouts.add(1, ordering: .relaxed)
                }
                let t = head.truncate(before: maxt)
                result.truncate.chunksRemoved += t.chunksRemoved
                result.truncate.seriesRemoved += t.seriesRemoved
                lastMaxt = maxt
            }
            // One checkpoint for the whole run, not one per block (as Prometheus).
            if let lastMaxt, let cp = try truncateWAL(mint: lastMaxt) { result.checkpoint = cp }
            return result
        }
    }

    /// Merges blocks while the planner finds some to merge; the merged blocks are then deleted.
    public func compactBlocks() throws -> [BlockMeta] {
        // Shipped blocks are merged by the bucket's compactor, as in Thanos Receive.
        if options.isShipped != nil { return [] }
        return try maintenance.withLock { _ in
            if isRetired { return [] }
            let ranges = options.blockRanges ?? CompactionPlanner.ranges(blockRange: head.options.chunkRange, retention: options.retentionTime)
            var written: [BlockMeta] = []
            while true {
                let current = blocks
                let failed = failedCompactions.withLock { $0 }
                let metas = current.map { b -> BlockMeta in
                    var m = b.meta
                    if failed.contains(m.ulid) { m.compaction.failed = true }
                    return m
                }
                // (Blocks opened with `failed` in their meta.json carry it already.)
                let plan = CompactionPlanner.plan(metas, ranges: ranges)
                if plan.isEmpty { break }
                let ids = Set(plan.map(\.ulid))
                let inputs = current.filter { ids.contains($0.ulid) }
                let started = ContinuousClock.now
                let meta: BlockMeta
                do { meta = try BlockCompactor.compact(inputs, into: dir) } catch {
                    stats.compactionsFailed.add(1, ordering: .relaxed)
                    // Not retried every interval in front of every other merge, nor after a
                    // restart: marked in the inputs' meta.json, as Prometheus' setCompactionFailed.
                    failedCompactions.withLock { $0.formUnion(ids) }
                    for b in inputs {
                        var m = b.meta
                        m.compaction.failed = true
                        try? m.write(dir: b.dir)
                    }
                    throw error
                }
                stats.compactions.add(1, ordering: .relaxed)
                stats.lastCompactionNanos.store(Int((ContinuousClock.now - started).nanoseconds), ordering: .relaxed)
                let block = try Block(dir: dir + "/" + meta.ulid)
                openBlocks.withLock { all in
                    all.removeAll { ids.contains($0.ulid) }
                    all.append(block)
                    all.sort { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
                }
                announce(.written(meta, dir: block.dir, origin: .compaction))
                try delete(inputs, reason: .compacted)
                written.append(meta)
            }
            return written
        }
    }

    /// Deletes block directories: renamed first, so a crash midway leaves a leftover the next
    /// start removes, never a half-deleted block that still looks like one.
    func delete(_ doomed: [Block], reason: BlockEvent.Reason) throws {
        if doomed.isEmpty { return }
        for b in doomed {
            let tmp = b.dir + BlockWriter.tmpForDeletion
            try FileSystem.rename(b.dir, tmp)
            // Announced once its name is gone: a later failure must not hide this one.
            announce(.deleted(ulid: b.ulid, reason: reason))
            try FileSystem.removeAll(tmp)
        }
        try FileSystem.syncDir(dir)
    }

    /// Folds the older two thirds of the WAL segments into a checkpoint that keeps only live
    /// series and samples at or after `mint`, then deletes them (Prometheus' `truncateWAL`).
    func truncateWAL(mint: Int64) throws -> Checkpoint.Stats? {
        guard let wal = head.wal else { return nil }
        guard let first = try WALSegments.list(wal.dir).first?.index else { return nil }
        let current = wal.segmentIndex
        // A new segment, so a slowly written WAL does not keep old samples for long.
        _ = try head.withCommitsPaused { try wal.rotate() }
        // The segment being written is never folded; of the rest, the older two thirds are
        // mostly samples now in blocks. Fewer than two segments are not worth a checkpoint.
        let last = first + (current - 1 - first) * 2 / 3
        guard current - 1 >= 0, last > first else { return nil }
        let stats = try Checkpoint.create(walDir: wal.dir, from: first, to: last, mint: mint) { [head] in head.isLiveInWAL($0) }
        try Checkpoint.deleteSegments(walDir: wal.dir, through: last)
        return stats
    }

    // MARK: retention

    /// Deletes blocks beyond the time and size retention; returns their ULIDs.
    @discardableResult
    public func applyRetention() throws -> [String] {
        try maintenance.withLock { _ in
            if isRetired { return [] }
            let all = blocks.sorted { $0.maxTime > $1.maxTime } // newest first
            guard let newest = all.first else { return [] }
            var doomed: [Block] = []
            if options.retentionTime > 0 {
                doomed += all.filter { newest.maxTime - $0.maxTime >= options.retentionTime }
            }
            if options.retentionSize > 0 {
                var total = walBytes()
                for b in all {
                    total += b.sizeBytes
                    if total > options.retentionSize && !doomed.contains(where: { $0 === b }) { doomed.append(b) }
                }
            }
            if let isShipped = options.isShipped {
                let waiting = doomed.filter { !isShipped($0.meta) }
                stats.retentionWaitingForUpload.store(waiting.count, ordering: .relaxed)
                doomed.removeAll { !isShipped($0.meta) }
            }
            if doomed.isEmpty { return [] }
            let ids = Set(doomed.map(\.ulid))
            openBlocks.withLock { $0.removeAll { ids.contains($0.ulid) } }
            stats.blocksDeleted.add(doomed.count, ordering: .relaxed)
            try delete(doomed, reason: .retention)
            return doomed.map(\.ulid)
        }
    }

    /// Bytes of WAL segments and checkpoints.
    func walBytes() -> Int {
        guard let wal = head.wal else { return 0 }
        var total = 0
        func add(_ d: String) {
            for name in (try? FileSystem.list(d)) ?? [] {
                let p = d + "/" + name
                if FileSystem.isDirectory(p) { add(p) } else { total += (try? FileSystem.size(p)) ?? 0 }
            }
        }
        add(wal.dir)
        return total
    }

    /// Bytes of all open blocks.
    public var blocksBytes: Int { blocks.reduce(0) { $0 + $1.sizeBytes } }
}

extension DB: Queryable {
    /// Head and the blocks overlapping `[mint, maxt]`, merged. The querier pins the block list
    /// as it is now, so every selector of one query sees the same blocks however compaction
    /// moves on; in exchange the head keeps what this list lacks until the querier is gone
    /// (compaction waits for it before truncating, see `compactHead`).
    public func querier(mint: Int64, maxt: Int64) throws -> any Querier { try localQuerier(mint: mint, maxt: maxt).querier }

    /// The same querier, and the ULIDs of every block the DB held when it was made: a caller that
    /// also reads the bucket (for several DBs at once) leaves those out there.
    public func localQuerier(mint: Int64, maxt: Int64) throws -> (querier: any Querier, blocks: Set<String>) {
        // Registered before the block list is read: a block published after this point is
        // either in the list, or compaction waits for this reader before dropping its range.
        let pin = head.readers.pin(mint: mint)
        let all = self.blocks
        let local = try all.filter { $0.overlaps(mint: mint, maxt: maxt) }.map { try $0.querier(mint: mint, maxt: maxt) }
        let sources = local + [try head.querier(mint: mint, maxt: maxt)]
        return (PinnedQuerier(MergeQuerier(sources, encodeChunks: { XORChunk.encodeChunks($0) }), pin: pin), Set(all.map(\.ulid)))
    }
}

/// A querier that keeps a head reader registered for as long as it lives.
struct PinnedQuerier: Querier {
    let base: MergeQuerier
    let pin: HeadReaders.Pin

    init(_ base: MergeQuerier, pin: HeadReaders.Pin) { self.base = base; self.pin = pin }

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] { try base.select(matchers, hints: hints) }
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try base.labelNames(matchers) }
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try base.labelValues(name, matchers) }
    func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] { try base.labelNames(matchers, hints: hints) }
    func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try base.labelValues(name, matchers, hints: hints)
    }
}

extension DB: Appendable {
    public func appender() -> any Appender { head.appender() }
}

extension DB: MetadataSource {
    public var metricMetadata: [MetricMetadata] { head.metricMetadata }
}

extension DB: CardinalitySource {
    public func cardinalityStats(limit: Int) -> CardinalityStats { head.cardinalityStats(limit: limit) }
}

/// Counters for `/metrics`.
public final class DBStats: Sendable {
    public let compactions = Atomic<Int>(0)
    public let compactionsFailed = Atomic<Int>(0)
    public let lastCompactionNanos = Atomic<Int>(0)
    public let blocksDeleted = Atomic<Int>(0)
    /// Blocks past retention kept because they are not in the bucket yet (last retention run).
    public let retentionWaitingForUpload = Atomic<Int>(0)
    /// Head truncations that went ahead while a querier older than the new block was still open.
    public let readerWaitTimeouts = Atomic<Int>(0)
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
