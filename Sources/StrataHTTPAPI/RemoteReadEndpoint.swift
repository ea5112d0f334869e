import HTTPTypes
import Hummingbird
import NIOCore
import StrataEncoding
import StrataModel
import StrataPromQL
import StrataRemote
import StrataRuntime
import StrataStorage

/// `POST /api/v1/read`: remote read 1.0 with both response types (FORMATS.md §6). SAMPLES sends
/// snappy-compressed `ReadResponse`; STREAMED_XOR_CHUNKS sends the head's chunks as stored, one
/// series per frame.
extension PrometheusAPI {
    func registerRemoteRead(on router: APIRouter<Context>) {
        router.post("/api/v1/read") { req, ctx in await self.remoteRead(req, ctx) }
    }

    func remoteRead(_ req: Request, _ context: Context) async -> Response {
        let limit = options.maxRequestBytes
        let body: ByteBuffer
        switch await Self.readBody(req, limit: limit) {
        case .success(let b): body = b
        case .failure(let refusal): return refusal.response
        }
        let request: ReadRequest
        do {
            request = try body.withUnsafeReadableBytes { (raw) throws(RemoteWriteError) in
                try ReadRequest.decode(snappyBody: raw, maxDecodedBytes: limit)
            }
        } catch {
            if case .tooLarge = error { return APIResponses.text(.contentTooLarge, error.message + "\n") }
            return APIResponses.text(.badRequest, error.message + "\n")
        }
        let sampleLimit = options.remoteReadSampleLimit > 0 ? options.remoteReadSampleLimit : Int.max
        let frameBytes = max(1, options.remoteReadMaxBytesInFrame)
        return await serve(req, context, gate: readScheduler, errors: .text, params: Params(), queue: "remote-read queue") { scope in
            let storage = self.tenantConfined(self.storage, scope.params)
            switch request.preferredResponse {
            case .samples: return try Self.readSamples(storage, request, sampleLimit: sampleLimit)
            case .streamedXORChunks:
                // The slot is held until the body is written: a streamed body is produced after
                // the handler returns, and unbounded concurrent streams each pin their series' chunks.
                return try Self.readChunks(storage, request, maxFrameBytes: frameBytes, slot: scope.keepSlot())
            }
        }
    }

    static func readSamples(_ storage: any Queryable, _ request: ReadRequest, sampleLimit: Int) throws -> Response {
        var results: [[(Labels, [Sample])]] = []
        var total = 0
        for q in request.queries {
            // A query without matchers selects nothing (as Prometheus' TSDB answers it).
            guard !q.matchers.isEmpty else { results.append([]); continue }
            let querier = try storage.querier(mint: q.start, maxt: q.end)
            var series: [(Labels, [Sample])] = []
            for s in try querier.select(q.matchers, hints: SelectHints(mint: q.start, maxt: q.end)) {
                var samples: [Sample] = []
                try s.samples(mint: q.start, maxt: q.end, into: &samples)
                total += samples.count
                if total > sampleLimit { throw APIError.badData("exceeded sample limit (\(sampleLimit))") }
                if !samples.isEmpty { series.append((s.labels, samples)) }
            }
            results.append(series)
        }
        let proto = ReadResponseEncoder.samples(results)
        let compressed = proto.withUnsafeBytes { Snappy.compress($0) }
        return Response(status: .ok,
                        headers: [.contentType: "application/x-protobuf", .contentEncoding: "snappy"],
                        body: .init(byteBuffer: ByteBuffer(bytes: compressed)))
    }

    /// Selects the series on the query thread (the head's series hold references to their
    /// chunks, not copies), then streams one series' frames at a time while writing the body.
    /// `slot` is released once the body has been written (or its writing failed).
    static func readChunks(_ storage: any Queryable, _ request: ReadRequest, maxFrameBytes: Int,
                           slot: ConcurrencyGate.Slot? = nil) throws -> Response {
        var selected: [(query: Int, mint: Int64, maxt: Int64, series: [any ChunkedStorageSeries])] = []
        for (i, q) in request.queries.enumerated() where !q.matchers.isEmpty {
            let querier = try storage.querier(mint: q.start, maxt: q.end)
            var list: [any ChunkedStorageSeries] = []
            for s in try querier.select(q.matchers, hints: SelectHints(mint: q.start, maxt: q.end)) {
                guard let cs = s as? any ChunkedStorageSeries else {
                    throw APIError(.internal, "this storage cannot stream chunks; ask for SAMPLES")
                }
                list.append(cs)
            }
            selected.append((i, q.start, q.end, list))
        }
        let pending = PendingSeries(selected)
        let body = ResponseBody { writer in
            defer { slot?.release() }
            // Each series (its copy of the head's chunks) is dropped once its frames are written,
            // so a stream holds less as it goes; when the last concurrent stream ends, the freed
            // memory goes back to the system.
            try await FreedMemory.releasingAfter {
                defer { pending.drop() }
                while let (query, mint, maxt, series) = pending.next() {
                    let chunks = try series.chunks(mint: mint, maxt: maxt)
                    for frame in ReadResponseEncoder.chunkedFrames(queryIndex: query, labels: series.labels, chunks: chunks, maxFrameBytes: maxFrameBytes) {
                        try await writer.write(ByteBuffer(bytes: frame))
                    }
                }
                try await writer.finish(nil)
            }
        }
        return Response(status: .ok,
                        headers: [.contentType: "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"],
                        body: body)
    }
}

/// The series a streamed remote read still has to send, handed out one at a time and let go of
/// as they are sent. Used by the one task that writes the body.
final class PendingSeries: @unchecked Sendable {
    private var queries: [(query: Int, mint: Int64, maxt: Int64, series: [any ChunkedStorageSeries])]
    private var queryIndex = 0

    init(_ queries: [(query: Int, mint: Int64, maxt: Int64, series: [any ChunkedStorageSeries])]) {
        // Reversed, so that popLast hands them out in order and frees each one.
        self.queries = queries.map { ($0.query, $0.mint, $0.maxt, $0.series.reversed()) }
    }

    func next() -> (query: Int, mint: Int64, maxt: Int64, series: any ChunkedStorageSeries)? {
        while queryIndex < queries.count {
            if let s = queries[queryIndex].series.popLast() {
                // Field by field: copying the tuple would copy the rest of its series array.
                return (queries[queryIndex].query, queries[queryIndex].mint, queries[queryIndex].maxt, s)
            }
            queries[queryIndex].series = []
            queryIndex += 1
        }
        return nil
    }

    /// Lets go of whatever was not sent (a stream whose client left) at once.
    func drop() { queries = [] }
}
