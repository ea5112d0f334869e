import Foundation

/// Uploads: one media request below the chunk size, a resumable upload from it up (GCS keeps
/// the object invisible until the last chunk, so readers see the old object or the new one).
extension GCSBucket {
    private var uploadPath: String { "/upload" + objectsPath }

    public func upload(_ name: String, bytes: [UInt8]) async throws {
        try checkName(name)
        if bytes.count >= config.chunkSize { return try await resumable(name, size: bytes.count) { Array(bytes[$0]) } }
        let r = try await send(.POST, url(uploadPath, [("uploadType", "media"), ("name", name)]),
                               headers: [("Content-Type", "application/octet-stream")], body: bytes, what: "upload \(name)")
        guard r.status == 200 else { throw failure(r, "upload \(name)") }
    }

    public func upload(_ name: String, file path: String) async throws {
        try checkName(name)
        guard let h = FileHandle(forReadingAtPath: path) else { throw ObjectStoreError(.notFound, "gcs: uploading \(path): cannot open") }
        defer { try? h.close() }
        let size = Int((try? h.seekToEnd()) ?? 0)
        func read(_ range: Range<Int>) throws -> [UInt8] {
            try h.seek(toOffset: UInt64(range.lowerBound))
            return [UInt8](try h.read(upToCount: range.count) ?? Data())
        }
        if size < config.chunkSize { return try await upload(name, bytes: try read(0 ..< size)) }
        try await resumable(name, size: size, read)
    }

    /// Starts a resumable session, then sends `chunkSize` chunks from the offset the server
    /// says it holds. A failed chunk is not resent blindly: after a backoff the session's status
    /// gives the offset to go on from (the server may have kept part of it).
    private func resumable(_ name: String, size: Int, _ chunk: (Range<Int>) throws -> [UInt8]) async throws {
        let start = try await send(.POST, url(uploadPath, [("uploadType", "resumable"), ("name", name)]),
                                   headers: [("X-Upload-Content-Type", "application/octet-stream"), ("X-Upload-Content-Length", String(size))],
                                   what: "start upload \(name)")
        guard start.status == 200, let session = start.headers.first(name: "Location") else { throw failure(start, "start upload \(name)") }
        var offset = 0
        var failures = 0
        while true {
            let end = min(size, offset + config.chunkSize)
            let contentRange = "bytes \(offset)-\(end - 1)/" + (end == size ? String(size) : "*")
            let r: GCSTransport.Reply?
            do {
                r = try await send(.PUT, session, headers: [("Content-Range", contentRange)], body: try chunk(offset ..< end),
                                   retries: 0, what: "upload \(name) \(contentRange)")
            } catch let e as ObjectStoreError where e.kind == .failed {
                r = nil // a connection failure: ask the session below
            }
            if let r, r.status == 200 || r.status == 201 { return }
            if let r, r.status == 308, Self.persisted(r) > offset {
                offset = Self.persisted(r)
                failures = 0
                continue
            }
            // Anything else but a transient failure (or a chunk the server did not keep) is final.
            if let r, r.status != 308, !GCSTransport.isTransient(r.status) { throw failure(r, "upload \(name) \(contentRange)") }
            failures += 1
            guard failures <= config.maxRetries else {
                throw r.map { failure($0, "upload \(name) \(contentRange)") } ?? ObjectStoreError(.failed, "gcs upload \(name) \(contentRange): no answer")
            }
            try await ObjectStoreHTTP.backoff(failures)
            let status = try await send(.PUT, session, headers: [("Content-Range", "bytes */\(size)")], what: "upload status \(name)")
            if status.status == 200 || status.status == 201 { return }
            guard status.status == 308 else { throw failure(status, "upload status \(name)") }
            offset = Self.persisted(status)
        }
    }

    /// The bytes a resumable session holds, from a 308's `Range: bytes=0-N` (none: nothing yet).
    static func persisted(_ r: GCSTransport.Reply) -> Int {
        guard let range = r.headers.first(name: "Range"), let dash = range.lastIndex(of: "-"),
              let last = Int(range[range.index(after: dash)...]) else { return 0 }
        return last + 1
    }
}
