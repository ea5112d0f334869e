import Synchronization

/// The compactor's counters for `/metrics`, rendered under Thanos' `thanos_compact_*` names so
/// dashboards and alerts made for Thanos' compactor work unchanged.
public final class CompactorStats: Sendable {
    public enum Counter: String, Sendable, CaseIterable {
        case iterations = "thanos_compact_iterations_total"
        case groupCompactions = "thanos_compact_group_compactions_total"
        case groupCompactionFailures = "thanos_compact_group_compactions_failures_total"
        case verticalCompactions = "thanos_compact_group_vertical_compactions_total"
        case downsamples = "thanos_compact_downsample_total"
        case downsampleFailures = "thanos_compact_downsample_failures_total"
        case blocksMarked = "thanos_compact_blocks_marked_total"
        case garbageCollected = "thanos_compact_garbage_collected_blocks_total"
        case blocksCleaned = "thanos_compact_blocks_cleaned_total"
        case cleanupFailures = "thanos_compact_block_cleanup_failures_total"
        case partialUploadDeletes = "thanos_compact_aborted_partial_uploads_deletion_attempts_total"
        case groupsSkipped = "strata_compact_groups_skipped_total"

        public var help: String {
            switch self {
            case .iterations: "Total number of iterations that were executed successfully."
            case .groupCompactions: "Total number of group compaction attempts that resulted in a new block."
            case .groupCompactionFailures: "Total number of failed group compactions."
            case .verticalCompactions: "Total number of group compaction attempts that resulted in a new block based on overlapping blocks."
            case .downsamples: "Total number of downsampling attempts."
            case .downsampleFailures: "Total number of failed downsampling attempts."
            case .blocksMarked: "Total number of blocks marked in compactor."
            case .garbageCollected: "Total number of blocks marked for deletion by compactor."
            case .blocksCleaned: "Total number of blocks deleted in compactor."
            case .cleanupFailures: "Failures encountered while deleting blocks in compactor."
            case .partialUploadDeletes: "Total number of started deletions of blocks that are assumed aborted and only partially uploaded."
            case .groupsSkipped: "Compaction groups left for a later pass, by reason (an upload into the group in progress, fresh blocks)."
            }
        }
    }

    /// Counter → label string (`resolution="0"`, `marker="…",reason="…"`, or "") → value.
    private let counts = Mutex<[Counter: [String: Int]]>([:])
    /// When the last iteration finished without an error (Unix ms; 0: none yet).
    public let lastSuccessMillis = Atomic<Int64>(0)

    public init() {}

    public func add(_ c: Counter, _ labels: String = "", _ n: Int = 1) {
        counts.withLock { $0[c, default: [:]][labels, default: 0] += n }
    }

    public func add(_ c: Counter, resolution: Int64, _ n: Int = 1) { add(c, "resolution=\"\(resolution)\"", n) }

    public func value(_ c: Counter, _ labels: String = "") -> Int { counts.withLock { $0[c]?[labels] ?? 0 } }

    /// Every counter with its label sets, series sorted; resolution counters always show the
    /// three resolutions, so a rate() over them starts at 0 rather than at the first event.
    public func snapshot() -> [(Counter, [(String, Int)])] {
        let all = counts.withLock { $0 }
        return Counter.allCases.map { c in
            var series = all[c] ?? [:]
            switch c {
            case .groupCompactions, .groupCompactionFailures, .verticalCompactions, .downsamples, .downsampleFailures:
                for r in [0, 300_000, 3_600_000] { series["resolution=\"\(r)\"", default: 0] += 0 }
            case .blocksMarked: series["marker=\"deletion-mark.json\",reason=\"\"", default: 0] += 0
            case .groupsSkipped: break
            default: series["", default: 0] += 0
            }
            return (c, series.sorted { $0.key < $1.key })
        }
    }
}
