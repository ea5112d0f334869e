import StrataModel
import Hummingbird
import Prometheus
import NIOCore
import StrataBlockStore
import StrataHTTPAPI
import StrataObjectStore
import StrataRules
import StrataTSDB
import Synchronization

/// `/metrics`: Strata's own metrics in the Prometheus text format, read from the counters the
/// libraries keep, at scrape time (no registry to keep in step).
final class MetricsEndpoint: Sendable {
    let tenants: MultiTSDB
    let api: APIStats
    let writes: TenantWriteStats
    let queryLoad: @Sendable () -> (running: Int, waiting: Int)
    let bucket: InstrumentedBucket?
    let store: BucketStore?
    let compactor: CompactorStats?
    let resultsCache: ResultsCache?
    let rules: RuleManager?
    let notifier: Notifier?
    let registry: PrometheusCollectorRegistry
    let replay = Mutex<WALReplayStats?>(nil)

    init(tenants: MultiTSDB, api: APIStats, writes: TenantWriteStats, queryLoad: @escaping @Sendable () -> (running: Int, waiting: Int),
         bucket: InstrumentedBucket? = nil, store: BucketStore? = nil, compactor: CompactorStats? = nil,
         resultsCache: ResultsCache? = nil, rules: RuleManager? = nil, notifier: Notifier? = nil, registry: PrometheusCollectorRegistry) {
        self.tenants = tenants; self.api = api; self.writes = writes; self.queryLoad = queryLoad; self.bucket = bucket
        self.store = store
        self.compactor = compactor
        self.resultsCache = resultsCache
        self.rules = rules
        self.notifier = notifier
        self.registry = registry
    }

    /// Thanos' objstore metrics, so dashboards made for Thanos components work.
    static func bucketMetrics(_ bucket: InstrumentedBucket) -> String {
        let counts = bucket.snapshot()
        let b = "bucket=\"\(bucket.kind)\""
        var out = "# HELP objstore_bucket_operations_total Total number of all attempted operations against a bucket.\n"
        out += "# TYPE objstore_bucket_operations_total counter\n"
        for op in InstrumentedBucket.operations { out += "objstore_bucket_operations_total{\(b),operation=\"\(op)\"} \(counts[op]?.total ?? 0)\n" }
        out += "# HELP objstore_bucket_operation_failures_total Total number of operations against a bucket that failed, but were not expected to fail in certain way from caller perspective.\n"
        out += "# TYPE objstore_bucket_operation_failures_total counter\n"
        for op in InstrumentedBucket.operations { out += "objstore_bucket_operation_failures_total{\(b),operation=\"\(op)\"} \(counts[op]?.failures ?? 0)\n" }
        out += "# HELP objstore_bucket_operation_duration_seconds Duration of successful operations against the bucket per operation.\n"
        out += "# TYPE objstore_bucket_operation_duration_seconds histogram\n"
        for op in InstrumentedBucket.operations {
            let c = counts[op] ?? InstrumentedBucket.Counts()
            let l = "\(b),operation=\"\(op)\""
            for (i, bound) in InstrumentedBucket.durationBuckets.enumerated() {
                out += "objstore_bucket_operation_duration_seconds_bucket{\(l),le=\"\(GoFloat.format(bound))\"} \(c.buckets[i])\n"
            }
            out += "objstore_bucket_operation_duration_seconds_bucket{\(l),le=\"+Inf\"} \(c.total)\n"
            out += "objstore_bucket_operation_duration_seconds_sum{\(l)} \(GoFloat.format(c.seconds))\n"
            out += "objstore_bucket_operation_duration_seconds_count{\(l)} \(c.total)\n"
        }
        out += "# HELP objstore_bucket_last_successful_upload_time Second timestamp of the last successful upload to the bucket.\n"
        out += "# TYPE objstore_bucket_last_successful_upload_time gauge\n"
        out += "objstore_bucket_last_successful_upload_time{\(b)} \(bucket.lastSuccessfulUploadTime)\n"
        return out
    }

    /// Thanos compactor's metrics, under its names.
    static func compactorMetrics(_ stats: CompactorStats) -> String {
        var out = ""
        for (counter, series) in stats.snapshot() {
            out += "# HELP \(counter.rawValue) \(counter.help)\n# TYPE \(counter.rawValue) counter\n"
            for (labels, value) in series { out += counter.rawValue + (labels.isEmpty ? "" : "{\(labels)}") + " \(value)\n" }
        }
        out += "# HELP thanos_compact_halted Set to 1 if the compactor halted due to an unexpected error.\n# TYPE thanos_compact_halted gauge\n"
        // Strata's compactor merges overlaps instead of halting, and retries failed iterations.
        out += "thanos_compact_halted 0\n"
        out += "# HELP strata_compact_last_success_timestamp_seconds When the last compactor iteration finished without an error (0: none yet).\n"
        out += "# TYPE strata_compact_last_success_timestamp_seconds gauge\n"
        out += "strata_compact_last_success_timestamp_seconds \(GoFloat.format(Double(stats.lastSuccessMillis.load(ordering: .relaxed)) / 1000))\n"
        return out
    }

    func render() -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in samples { out += "\(name)\(labels) \(GoFloat.format(v))\n" }
        }
        metric("strata_build_info", "gauge", "Strata version.", [("{version=\"\(StrataVersion.current)\"}", 1)])
        for p in ProcessMetrics.read() { metric(p.name, p.type, p.help, [("", p.value)]) }
        metric("strata_remote_write_requests_total", "counter", "Remote-write requests by response status.",
               APIStats.writeCodes.map { ("{code=\"\($0)\"}", Double(api.writeRequests(code: $0))) })
        metric("strata_remote_write_samples_total", "counter", "Samples received by remote write, by outcome.", [
            ("{outcome=\"accepted\"}", Double(api.samplesAccepted.load(ordering: .relaxed))),
            ("{outcome=\"rejected\"}", Double(api.samplesRejected.load(ordering: .relaxed))),
        ])
        let byTenant = writes.snapshot.sorted { $0.key < $1.key }
        metric("strata_receive_tenant_requests_total", "counter", "Remote-write requests by tenant and response status.",
               byTenant.flatMap { t, c in c.requests.sorted { $0.key < $1.key }.map { ("{tenant=\"\(t)\",code=\"\($0.key)\"}", Double($0.value)) } })
        metric("strata_receive_tenant_samples_total", "counter", "Samples accepted by remote write, by tenant.",
               byTenant.map { t, c in ("{tenant=\"\(t)\"}", Double(c.samplesAccepted)) })
        metric("strata_receive_limit_refusals_total", "counter",
               "Remote writes refused by a limit of --receive.limits-config-file, by tenant and limit (size_bytes_limit, series_limit, samples_limit, head_series_limit, ingestion_rate).",
               byTenant.flatMap { t, c in c.limitRefusals.sorted { $0.key < $1.key }.map { ("{tenant=\"\(t)\",limit=\"\($0.key)\"}", Double($0.value)) } })
        metric("strata_remote_write_throttled_total", "counter",
               "Remote writes answered 503 because no slot (--receive.max-concurrent-writes) freed within --receive.write-queue-timeout.",
               [("", Double(api.writesThrottled.load(ordering: .relaxed)))])
        metric("strata_queries_total", "counter", "Queries by kind.", [
            ("{kind=\"instant\"}", Double(api.instantQueries.load(ordering: .relaxed))),
            ("{kind=\"range\"}", Double(api.rangeQueries.load(ordering: .relaxed))),
        ])
        metric("strata_query_errors_total", "counter", "Queries answered with an error.", [("", Double(api.queryErrors.load(ordering: .relaxed)))])
        metric("strata_queries_canceled_total", "counter", "Queries and index, federation or remote-read requests dropped from the queue, or queries stopped, because their client went away.",
               [("", Double(api.queriesCanceled.load(ordering: .relaxed)))])
        let load = queryLoad()
        metric("strata_queries_running", "gauge", "Queries being evaluated now (at most --query.max-concurrency).", [("", Double(load.running))])
        metric("strata_queries_waiting", "gauge", "Queries waiting for a slot.", [("", Double(load.waiting))])
        // The TSDB's own metrics, one series per tenant.
        let all = tenants.all
        func perTenant(_ value: (TenantTSDB) -> Double) -> [(String, Double)] { all.map { ("{tenant=\"\($0.name)\"}", value($0)) } }
        metric("strata_tenants", "gauge", "Tenants by state: open (head and WAL), or closed for being idle (blocks only).", [
            ("{state=\"open\"}", Double(all.filter { !$0.isClosed }.count)), ("{state=\"closed\"}", Double(all.filter(\.isClosed).count)),
        ])
        metric("strata_head_series", "gauge", "Series in the head.", perTenant { Double($0.head.numSeries) })
        metric("strata_head_samples_appended_total", "counter", "Samples appended to the head (including WAL replay).",
               perTenant { Double($0.head.numSamplesAppended) })
        // Counting chunks takes each series' lock; during WAL replay the head is filled without
        // locks, so only once replay is done.
        metric("strata_head_chunks", "gauge", "Chunks in the head.",
               all.filter { $0.replayed.load(ordering: .acquiring) }.map { ("{tenant=\"\($0.name)\"}", Double($0.head.numChunks)) })
        metric("strata_head_min_time_seconds", "gauge", "Oldest time the head covers.", perTenant { $0.head.numSeries == 0 ? 0 : Double($0.head.mint) / 1000 })
        metric("strata_head_max_time_seconds", "gauge", "Newest sample in the head.", perTenant { $0.head.numSeries == 0 ? 0 : Double($0.head.maxt) / 1000 })
        metric("strata_blocks_loaded", "gauge", "Blocks open for queries.", perTenant { Double($0.db.blocks.count) })
        metric("strata_blocks_skipped", "gauge", "Block directories left out because their meta.json cannot be read.", perTenant { Double($0.db.skippedBlocks.count) })
        metric("strata_blocks_bytes", "gauge", "Bytes of the open blocks on disk.", perTenant { Double($0.db.blocksBytes) })
        func dbStat(_ value: (DBStats) -> Int) -> [(String, Double)] { perTenant { Double(value($0.db.stats)) } }
        metric("strata_compactions_total", "counter", "Blocks written by compaction (cut from the head or merged from blocks).", dbStat { $0.compactions.load(ordering: .relaxed) })
        metric("strata_compactions_failed_total", "counter", "Head compactions that failed.", dbStat { $0.compactionsFailed.load(ordering: .relaxed) })
        metric("strata_compaction_last_duration_seconds", "gauge", "How long writing the last block took.",
               perTenant { Double($0.db.stats.lastCompactionNanos.load(ordering: .relaxed)) / 1e9 })
        metric("strata_retention_blocks_deleted_total", "counter", "Blocks deleted by time or size retention.", dbStat { $0.blocksDeleted.load(ordering: .relaxed) })
        metric("strata_head_truncations_with_open_queries_total", "counter",
               "Head ranges dropped while a query older than their block was still open (it waited past --query.timeout + 30s).",
               dbStat { $0.readerWaitTimeouts.load(ordering: .relaxed) })
        metric("strata_retention_blocks_waiting_for_upload", "gauge", "Blocks past retention kept because they are not in the bucket yet.",
               dbStat { $0.retentionWaitingForUpload.load(ordering: .relaxed) })
        let shipped = all.filter { $0.shipper != nil }
        if !shipped.isEmpty || tenants.bucket != nil {
            func shipperStat(_ value: (ShipperStats) -> Double) -> [(String, Double)] {
                shipped.map { ("{tenant=\"\($0.name)\"}", value($0.shipper!.stats)) }
            }
            metric("strata_shipper_uploads_total", "counter", "Blocks uploaded to the bucket.", shipperStat { Double($0.uploads.load(ordering: .relaxed)) })
            metric("strata_shipper_upload_failures_total", "counter", "Block uploads that failed (retried at the next pass).",
                   shipperStat { Double($0.failures.load(ordering: .relaxed)) })
            metric("strata_shipper_last_upload_timestamp_seconds", "gauge", "When the last block was uploaded (0: none since start).",
                   shipperStat { Double($0.lastUploadMillis.load(ordering: .relaxed)) / 1000 })
            out += "# HELP strata_shipper_upload_duration_seconds Time to upload a block.\n# TYPE strata_shipper_upload_duration_seconds summary\n"
            for t in shipped {
                let st = t.shipper!.stats
                out += "strata_shipper_upload_duration_seconds_sum{tenant=\"\(t.name)\"} \(GoFloat.format(Double(st.uploadNanosTotal.load(ordering: .relaxed)) / 1e9))\n"
                out += "strata_shipper_upload_duration_seconds_count{tenant=\"\(t.name)\"} \(st.uploads.load(ordering: .relaxed))\n"
            }
            metric("strata_shipper_corrupt_blocks_total", "counter", "Blocks that failed the check before upload; kept locally, not shipped.",
                   shipperStat { Double($0.corrupted.load(ordering: .relaxed)) })
            metric("strata_shipper_catalog_errors_total", "counter", "Block catalog writes that failed (shipping goes on).",
                   shipperStat { Double($0.catalogErrors.load(ordering: .relaxed)) })
        }
        if let bucket { out += Self.bucketMetrics(bucket) }
        if let compactor { out += Self.compactorMetrics(compactor) }
        if let c = resultsCache {
            let (bytes, entries) = c.usage
            metric("strata_query_range_results_cache_requests_total", "counter",
                   "Pieces of range queries looked up in the results cache, by result (a miss is evaluated, all or the part the entry lacks).", [
                ("{result=\"hit\"}", Double(c.hits.load(ordering: .relaxed))), ("{result=\"miss\"}", Double(c.misses.load(ordering: .relaxed))),
            ])
            metric("strata_query_range_results_cache_evictions_total", "counter", "Cached pieces dropped to make room.",
                   [("", Double(c.evictions.load(ordering: .relaxed)))])
            metric("strata_query_range_results_cache_invalidations_total", "counter",
                   "Cached pieces dropped because data under them changed (an older write, a bucket block appearing or leaving, retention).",
                   [("", Double(c.invalidations.load(ordering: .relaxed)))])
            metric("strata_query_range_results_cache_bytes", "gauge", "Memory the cached pieces take (estimated).", [("", Double(bytes))])
            metric("strata_query_range_results_cache_entries", "gauge", "Cached pieces.", [("", Double(entries))])
        }
        if let store {
            let c = store.cache.stats
            metric("strata_bucket_store_blocks_visible", "gauge", "Bucket blocks queries read (complete, not superseded, not marked for deletion past the delay).",
                   [("", Double(store.stats.visibleBlocks.load(ordering: .relaxed)))])
            metric("strata_bucket_store_blocks_opened_total", "counter", "Bucket blocks opened for queries (index header read).",
                   [("", Double(store.stats.blocksOpened.load(ordering: .relaxed)))])
            metric("strata_bucket_store_sync_failures_total", "counter", "Listings of the bucket that failed.",
                   [("", Double(store.stats.syncFailures.load(ordering: .relaxed)))])
            metric("strata_bucket_store_sync_duration_seconds", "gauge", "How long the last listing of the bucket took.",
                   [("", Double(store.stats.lastSyncNanos.load(ordering: .relaxed)) / 1e9)])
            metric("strata_bucket_cache_requests_total", "counter", "Bucket page cache lookups, by result.", [
                ("{result=\"hit\"}", Double(c.hits.load(ordering: .relaxed))), ("{result=\"miss\"}", Double(c.misses.load(ordering: .relaxed))),
            ])
            metric("strata_bucket_cache_fetched_bytes_total", "counter", "Bytes fetched from the bucket into the page cache.",
                   [("", Double(c.fetchedBytes.load(ordering: .relaxed)))])
            metric("strata_bucket_cache_evictions_total", "counter", "Pages evicted from the bucket page cache.",
                   [("", Double(c.evictions.load(ordering: .relaxed)))])
            metric("strata_bucket_cache_corrupt_pages_total", "counter", "Cached pages found damaged and fetched again.",
                   [("", Double(c.corruptPages.load(ordering: .relaxed)))])
            metric("strata_bucket_cache_size_bytes", "gauge", "Bytes the cached pages take on disk.", [("", Double(store.cache.sizeBytes))])
        }
        let withWAL = all.filter { !$0.isClosed }
        func walStat(_ value: (WALStats) -> Double) -> [(String, Double)] { withWAL.map { ("{tenant=\"\($0.name)\"}", value($0.wal!.stats)) } }
        metric("strata_wal_written_bytes_total", "counter", "Bytes written to WAL segments.", walStat { Double($0.bytesWritten.load(ordering: .relaxed)) })
        metric("strata_wal_write_failures_total", "counter", "WAL writes that failed (disk full, I/O error) and were cut back out of the log; their requests got a 5xx.",
               walStat { Double($0.writeFailures.load(ordering: .relaxed)) })
        metric("strata_wal_fsyncs_total", "counter", "WAL fsync calls.", walStat { Double($0.fsyncs.load(ordering: .relaxed)) })
        metric("strata_wal_fsync_seconds_total", "counter", "Time spent in WAL fsync.", walStat { Double($0.fsyncNanos.load(ordering: .relaxed)) / 1e9 })
        metric("strata_wal_segment_current", "gauge", "Index of the WAL segment being written.",
               withWAL.map { ("{tenant=\"\($0.name)\"}", Double($0.wal!.segmentIndex)) })
        if let r = replay.withLock({ $0 }) {
            metric("strata_wal_replay_duration_seconds", "gauge", "How long the last start took to rebuild the head.", [("", r.seconds)])
            metric("strata_wal_replay_samples", "gauge", "Samples replayed from the WAL at the last start.", [("", Double(r.samples))])
            metric("strata_wal_replay_skipped_samples", "gauge", "Samples skipped at replay (unknown series or out of order).", [("", Double(r.samplesSkipped))])
            metric("strata_wal_replay_snapshot_series", "gauge", "Series loaded from the head snapshot at the last start.", [("", Double(r.snapshotSeries))])
            metric("strata_wal_corruptions_repaired", "gauge", "1 if the last start found and repaired a corrupt WAL tail.", [("", r.corruption == nil ? 0 : 1)])
            metric("strata_wal_corruption_dropped_bytes", "gauge", "Bytes dropped repairing the WAL at the last start.", [("", Double(r.bytesDropped))])
        }
        if let rules { out += rules.metricsText() }
        if let notifier { out += notifier.metricsText() }
        // Histograms and anything reported through swift-metrics.
        out += registry.emitToString()
        return out
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: self.render())))
        }
    }
}
