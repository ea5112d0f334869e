import Foundation
import StrataObjectStore

/// The cases every `Bucket` backend must pass, after Thanos' `objstore.AcceptanceTest`: the
/// same calls and answers for memory, filesystem, S3, GCS and Azure. `check` records a failure
/// (the caller passes `#expect`'s job in, so this library needs no test framework).
public enum BucketAcceptance {
    public static func run(_ bucket: any Bucket, check: (Bool, String) -> Void) async throws {
        func notFound(_ body: () async throws -> Void) async -> Bool {
            do { try await body(); return false } catch { return ObjectStoreError.isNotFound(error) }
        }
        func fails(_ body: () async throws -> Void) async -> Bool {
            do { try await body(); return false } catch { return true }
        }
        // An empty name is an error, and not "not found".
        let emptyFails = await fails { _ = try await bucket.get("") }
        let emptyIsNotFound = await notFound { _ = try await bucket.get("") }
        check(emptyFails && !emptyIsNotFound, "get(\"\") must fail, not as not-found")
        check(await notFound { _ = try await bucket.get("id1/obj_1.some") }, "get of a missing object is not-found")
        check(try await bucket.exists("id1/obj_1.some") == false, "exists of a missing object is false")
        check(await notFound { _ = try await bucket.attributes("id1/obj_1.some") }, "attributes of a missing object is not-found")
        check(try await bucket.list("", recursive: false).isEmpty, "an empty bucket lists nothing")

        try await bucket.upload("id1/obj_1.some", bytes: Array("@test-data@".utf8))
        check(try await bucket.get("id1/obj_1.some") == Array("@test-data@".utf8), "get returns what was uploaded")
        check(try await bucket.exists("id1/obj_1.some"), "exists after upload")
        check(try await bucket.attributes("id1/obj_1.some").size == 11, "attributes give the size")
        check(try await bucket.getRange("id1/obj_1.some", offset: 0, length: 4) == Array("@tes".utf8), "range from the start")
        check(try await bucket.getRange("id1/obj_1.some", offset: 8, length: nil) == Array("ta@".utf8), "range to the end")
        check(try await bucket.getRange("id1/obj_1.some", offset: 1, length: 1) == Array("t".utf8), "one byte")
        check(try await bucket.getRange("id1/obj_1.some", offset: 8, length: 10) == Array("ta@".utf8), "a range past the end is cut")
        check(await notFound { _ = try await bucket.getRange("id1/missing", offset: 0, length: 1) }, "range of a missing object is not-found")

        // Upload replaces.
        try await bucket.upload("id1/obj_1.some", bytes: Array("@test-data2@".utf8))
        check(try await bucket.get("id1/obj_1.some") == Array("@test-data2@".utf8), "a second upload replaces the object")

        for name in ["id1/obj_2.some", "id1/obj_3.some", "id2/obj_4.some", "obj_5.some", "id1/sub/obj_6.some"] {
            try await bucket.upload(name, bytes: Array("@test-data@".utf8))
        }
        check(try await bucket.list("", recursive: false) == ["id1/", "id2/", "obj_5.some"], "top-level listing: \(try await bucket.list("", recursive: false))")
        let id1 = ["id1/obj_1.some", "id1/obj_2.some", "id1/obj_3.some", "id1/sub/"]
        check(try await bucket.list("id1", recursive: false) == id1, "a directory without its slash: \(try await bucket.list("id1", recursive: false))")
        check(try await bucket.list("id1/", recursive: false) == id1, "a directory with its slash")
        check(try await bucket.list("id2/", recursive: false) == ["id2/obj_4.some"], "another directory")
        check(try await bucket.list("id0", recursive: false).isEmpty, "a missing directory lists nothing")
        check(try await bucket.list("", recursive: true) == ["id1/obj_1.some", "id1/obj_2.some", "id1/obj_3.some", "id1/sub/obj_6.some", "id2/obj_4.some", "obj_5.some"],
              "a recursive listing has every object and no directory: \(try await bucket.list("", recursive: true))")
        check(try await bucket.list("id1/", recursive: true) == ["id1/obj_1.some", "id1/obj_2.some", "id1/obj_3.some", "id1/sub/obj_6.some"], "recursive below a directory")

        // From a file.
        let file = FileManager.default.temporaryDirectory.path + "/bucket-acceptance-" + UUID().uuidString
        try Data(repeating: 7, count: 100_000).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await bucket.upload("id3/from-file", file: file)
        check(try await bucket.attributes("id3/from-file").size == 100_000, "a file upload keeps its size")
        check(try await bucket.getRange("id3/from-file", offset: 99_990, length: nil) == [UInt8](repeating: 7, count: 10), "and its bytes")

        try await bucket.delete("id1/obj_1.some")
        check(try await bucket.exists("id1/obj_1.some") == false, "gone after delete")
        // Deleting a missing object: not-found, or nothing (S3 answers 204, as Thanos' own
        // acceptance test allows); never another error.
        do { try await bucket.delete("id1/obj_1.some") } catch { check(ObjectStoreError.isNotFound(error), "deleting a missing object: \(error)") }
        for name in ["id2/obj_4.some"] { try await bucket.delete(name) }
        check(try await bucket.list("", recursive: false) == ["id1/", "id3/", "obj_5.some"], "a directory whose objects are gone is not listed: \(try await bucket.list("", recursive: false))")
    }
}
