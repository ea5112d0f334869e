import Foundation
import Hummingbird
import StrataBlock
import StrataBlockStore
import StrataModel
import StrataHTTPAPI
import StrataObjectStore
import StrataTools

/// The blocks the web UI's block viewer (`/blocks`) draws, local and in the bucket.
///
/// `GET /api/v1/blocks` answers as Thanos' bucket web does (`{"blocks": [meta.json…], "label",
/// "refreshedAt", "err"}`), so its block viewer could read it too; each meta carries a `strata`
/// object with where the block is (`local`, `bucket`), its tenant, size, shipping state and marks.
/// `GET /api/v1/blocks/inspect` is `strata bucket inspect`'s report of the bucket as text
/// (`selector=name="value"` repeated, `output=table|csv|tsv`).
struct BlocksEndpoint: Sendable {
    let tenants: MultiTSDB
    let bucket: (any Bucket)?
    let catalog: BlockCatalog?

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/api/v1/blocks") { _, _ in
            do { return APIResponses.json(.ok, try self.blocksJSON()) } catch {
                return APIResponses.error(APIError(.internal, "reading the block catalog: \(error)"))
            }
        }
        router.get("/api/v1/blocks/inspect") { req, _ in
            guard let bucket = self.bucket else {
                return APIResponses.text(.notFound, "no bucket is configured (--no-shipper)\n")
            }
            // `name="value"` as `strata bucket inspect --selector` takes it.
            let selector: [String: String]
            do {
                selector = try ServerConfig.parseLabels(req.uri.queryParameters.filter { $0.key == "selector" }.map { String($0.value) })
            } catch {
                return APIResponses.text(.badRequest, "selector: \(error)\n")
            }
            let outputName = req.uri.queryParameters["output"].map(String.init) ?? "table"
            guard let output = BucketInspection.InspectOutput(rawValue: outputName) else {
                return APIResponses.text(.badRequest, "output \(outputName): want table, csv or tsv\n")
            }
            do {
                return APIResponses.text(.ok, try await BucketInspection.inspect(bucket, selector: selector, output: output))
            } catch {
                return APIResponses.text(.serviceUnavailable, "reading the bucket: \(error)\n")
            }
        }
    }

    /// One entry per ULID: the bucket's `meta.json` when the block is there (it carries the
    /// external labels and resolution), else the local one; oldest first.
    func blocksJSON() throws -> [UInt8] {
        struct Row {
            var meta: String
            var minTime: Int64
            var tenant: String?
            var local = false
            var bucket = false
            var sizeBytes: Int?
            var state: String?
            var uploadedAt: Double?
            var deletionMarkedAt: Double?
            var noCompactMarkedAt: Double?
        }
        var rows: [String: Row] = [:]
        for t in tenants.all {
            for b in t.db.blocks {
                rows[b.ulid] = Row(meta: b.meta.json(), minTime: b.meta.minTime, tenant: t.name, local: true, sizeBytes: b.sizeBytes)
            }
        }
        var refreshedAt: Double?
        if let catalog {
            for c in try catalog.blocks() where c.inBucket || rows[c.ulid] != nil {
                var row = rows[c.ulid] ?? Row(meta: "", minTime: c.minTime)
                if c.inBucket, let meta = c.bucketMetaJSON { row.meta = meta }
                guard !row.meta.isEmpty else { continue }
                row.bucket = c.inBucket
                row.state = c.state.rawValue
                row.sizeBytes = row.sizeBytes ?? (c.sizeBytes > 0 ? c.sizeBytes : nil)
                row.uploadedAt = c.uploadedAt
                row.deletionMarkedAt = c.deletionMarkedAt
                row.noCompactMarkedAt = c.noCompactMarkedAt
                rows[c.ulid] = row
            }
            refreshedAt = try catalog.state("bucket_scanned_at").flatMap(Double.init)
        }
        var w = JSONWriter(capacity: 1024 + rows.count * 1024)
        w.raw("{\"status\":\"success\",\"data\":{\"label\":\"\",\"err\":null,\"refreshedAt\":")
        if let refreshedAt { w.string(Self.rfc3339(refreshedAt)) } else { w.raw("null") }
        w.raw(",\"blocks\":[")
        let sorted = rows.sorted { $0.value.minTime != $1.value.minTime ? $0.value.minTime < $1.value.minTime : $0.key < $1.key }
        for (i, (_, row)) in sorted.enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            // The meta's own closing brace gives way to the `strata` object.
            var meta = Array(row.meta.utf8)
            while let last = meta.last, last != UInt8(ascii: "}") { meta.removeLast() }
            meta.removeLast()
            w.bytes += meta
            w.raw(",\"strata\":{\"local\":"); w.raw(row.local ? "true" : "false")
            w.raw(",\"bucket\":"); w.raw(row.bucket ? "true" : "false")
            if let tenant = row.tenant { w.raw(",\"tenant\":"); w.string(tenant) }
            if let size = row.sizeBytes { w.raw(",\"sizeBytes\":"); w.int(Int64(size)) }
            if let state = row.state { w.raw(",\"state\":"); w.string(state) }
            if let at = row.uploadedAt { w.raw(",\"uploadedAt\":"); w.string(Self.rfc3339(at)) }
            if let at = row.deletionMarkedAt { w.raw(",\"deletionMarkedAt\":"); w.string(Self.rfc3339(at)) }
            if let at = row.noCompactMarkedAt { w.raw(",\"noCompactMarkedAt\":"); w.string(Self.rfc3339(at)) }
            w.raw("}}")
        }
        w.raw("]}}")
        return w.bytes
    }

    /// Catalog times (Unix seconds) as Go's JSON writes a time.
    static func rfc3339(_ seconds: Double) -> String { CivilDate.rfc3339(milliseconds: Int64((seconds * 1000).rounded())) }
}
