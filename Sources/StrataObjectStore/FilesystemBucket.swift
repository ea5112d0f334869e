import CStrataSupport
import Foundation
import StrataRuntime

/// Thanos' FILESYSTEM bucket: each object a file under `directory`, its key the relative path.
/// Unlike Thanos', an upload is atomic (a temporary file, fsynced, then renamed), so a reader
/// never sees half of a `meta.json`. File system calls block, so each operation runs on a
/// thread of its own (`BlockingThread`), never on the task executor's few threads.
public final class FilesystemBucket: Bucket {
    public let directory: String
    public var kind: String { "filesystem" }
    /// Uploads in progress; never listed.
    static let temporaryPrefix = ".strata-upload-"

    public init(directory: String) throws {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        do { try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true) } catch {
            throw ObjectStoreError(.failed, "filesystem bucket \(absolute): \(error.localizedDescription)")
        }
        self.directory = absolute
    }

    private func path(_ name: String) throws -> String {
        try checkName(name)
        // Keys are relative: no way out of the directory.
        if name.hasPrefix("/") || name.split(separator: "/").contains("..") {
            throw ObjectStoreError(.invalid, "filesystem: \(name): not a relative object name")
        }
        return directory + "/" + name
    }

    public func list(_ dir: String, recursive: Bool) async throws -> [String] {
        await BlockingThread.run { [self] in
            let prefix = ObjectKeys.directory(dir)
            let base = directory + "/" + prefix
            var keys: [String] = []
            // Every object below `dir` (empty directories have none, so they are not listed).
            if let walker = FileManager.default.enumerator(atPath: base) {
                while let rel = walker.nextObject() as? String {
                    let full = base + rel
                    var isDir: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
                    if (rel as NSString).lastPathComponent.hasPrefix(Self.temporaryPrefix) { continue }
                    keys.append(prefix + rel)
                }
            }
            return ObjectKeys.list(keys, in: dir, recursive: recursive)
        }
    }

    private func isFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }

    private func handle(_ name: String) throws -> FileHandle {
        let p = try path(name)
        guard let h = FileHandle(forReadingAtPath: p) else {
            throw ObjectStoreError(FileManager.default.fileExists(atPath: p) ? .failed : .notFound, "filesystem: \(name): cannot open")
        }
        return h
    }

    public func get(_ name: String) async throws -> [UInt8] {
        try await BlockingThread.run { [self] in
            let h = try handle(name)
            defer { try? h.close() }
            do { return [UInt8](try h.readToEnd() ?? Data()) } catch { throw ObjectStoreError(.failed, "filesystem: \(name): \(error)") }
        }
    }

    public func getRange(_ name: String, offset: Int, length: Int?) async throws -> [UInt8] {
        try await BlockingThread.run { [self] in
            guard offset >= 0, (length ?? 0) >= 0 else { throw ObjectStoreError(.invalid, "filesystem: \(name): bad range") }
            let h = try handle(name)
            defer { try? h.close() }
            do {
                try h.seek(toOffset: UInt64(offset))
                let data = try length.map { try h.read(upToCount: $0) } ?? h.readToEnd()
                return [UInt8](data ?? Data())
            } catch { throw ObjectStoreError(.failed, "filesystem: \(name): \(error)") }
        }
    }

    public func exists(_ name: String) async throws -> Bool {
        try await BlockingThread.run { [self] in
            isFile(try path(name))
        }
    }

    public func attributes(_ name: String) async throws -> ObjectAttributes {
        try await BlockingThread.run { [self] in
            let p = try path(name)
            guard let a = try? FileManager.default.attributesOfItem(atPath: p), (a[.type] as? FileAttributeType) == .typeRegular else {
                throw ObjectStoreError(.notFound, "filesystem: \(name): no such object")
            }
            return ObjectAttributes(size: (a[.size] as? Int) ?? 0, lastModified: (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        }
    }

    public func upload(_ name: String, bytes: [UInt8]) async throws {
        try await BlockingThread.run { [self] in
            try place(name) { tmp in
                guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
                    throw ObjectStoreError(.failed, "filesystem: \(name): cannot write")
                }
                defer { try? h.close() }
                do { try h.write(contentsOf: bytes) } catch { throw ObjectStoreError(.failed, "filesystem: \(name): \(error)") }
            }
        }
    }

    /// A hard link when the file is on the same filesystem (block files are immutable, so the
    /// bucket and the data directory can share them), a copy otherwise.
    public func upload(_ name: String, file source: String) async throws {
        try await BlockingThread.run { [self] in
            try place(name) { tmp in
                if link(source, tmp) == 0 { return }
                try Self.copy(source, to: tmp)
            }
        }
    }

    /// A copy made in the kernel (copy_file_range), not through Foundation's buffers.
    private static func copy(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw ObjectStoreError(errno == ENOENT ? .notFound : .failed, "filesystem: uploading \(source): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        var st = stat()
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw ObjectStoreError(.failed, "filesystem: \(target): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        guard fstat(input, &st) == 0, strata_copy_file_range(input, output, Int(st.st_size)) == 0 else {
            throw ObjectStoreError(.failed, "filesystem: copying \(source): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes the object through a temporary file beside it: written, fsynced, renamed.
    private func place(_ name: String, _ write: (String) throws -> Void) throws {
        let p = try path(name)
        let dir = (p as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw ObjectStoreError(.failed, "filesystem: \(name): \(error.localizedDescription)")
        }
        let tmp = dir + "/" + Self.temporaryPrefix + UUID().uuidString
        do {
            try write(tmp)
            if let h = FileHandle(forUpdatingAtPath: tmp) { try? h.synchronize(); try? h.close() }
            guard rename(tmp, p) == 0 else { throw ObjectStoreError(.failed, "filesystem: \(name): rename failed (errno \(errno))") }
            // The rename is durable once the directory is.
            let fd = open(dir, O_RDONLY)
            if fd >= 0 { _ = fsync(fd); close(fd) }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
    }

    public func delete(_ name: String) async throws {
        try await BlockingThread.run { [self] in
            let p = try path(name)
            guard isFile(p) else { throw ObjectStoreError(.notFound, "filesystem: \(name): no such object") }
            do { try FileManager.default.removeItem(atPath: p) } catch { throw ObjectStoreError(.failed, "filesystem: \(name): \(error.localizedDescription)") }
            // Then every parent directory the deletion left empty, as Thanos' filesystem bucket.
            var dir = (p as NSString).deletingLastPathComponent
            while dir.count > directory.count, (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: dir)
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
    }
}
