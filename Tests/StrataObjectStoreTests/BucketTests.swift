import Foundation
import StrataTestSupport
import Testing
@testable import StrataObjectStore

@Suite struct BucketAcceptanceTests {
    @Test func inMemory() async throws {
        try await BucketAcceptance.run(InMemoryBucket()) { ok, what in #expect(ok, "\(what)") }
    }

    @Test func filesystem() async throws {
        let dir = try TempDir("fs-bucket"); defer { dir.remove() }
        let bucket = try FilesystemBucket(directory: dir.path)
        try await BucketAcceptance.run(bucket) { ok, what in #expect(ok, "\(what)") }
        // Uploads go through a temporary file and leave none behind; names cannot leave the directory.
        let left = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { $0.contains(FilesystemBucket.temporaryPrefix) }
        #expect(left.isEmpty)
        // Deleting a directory's last object removed the directory itself, as Thanos' bucket does.
        #expect(!FileManager.default.fileExists(atPath: dir.file("id2")))
        await #expect(throws: ObjectStoreError.self) { try await bucket.upload("../escape", bytes: [1]) }
    }

    @Test func prefixed() async throws {
        let base = InMemoryBucket()
        try await BucketAcceptance.run(PrefixedBucket(base, prefix: "/tenant-a/blocks/")) { ok, what in #expect(ok, "\(what)") }
        #expect(try await base.list("", recursive: false) == ["tenant-a/"])
        #expect(try await base.exists("tenant-a/blocks/obj_5.some"))
    }
}

@Suite struct ObjectStoreConfigTests {
    @Test func filesystemWithPrefix() throws {
        let c = try ObjectStoreConfig.parse("type: filesystem\nconfig:\n  directory: /tmp/b\n  unknown_is_fine: 1\nprefix: p\n")
        #expect(c == ObjectStoreConfig(provider: .filesystem(directory: "/tmp/b"), prefix: "p"))
    }

    @Test(arguments: [
        ("type: FILESYSTEM\nconfig: {}\n", "missing directory for filesystem bucket"),
        ("type: FILESYSTEM\nconfig:\n  directory: x\nbucket: y\n", "field bucket not found in type client.BucketConfig"),
        ("config:\n  directory: x\n", "missing `type`"),
        ("type: SWIFT\nconfig: {}\n", "unsupported objstore type SWIFT"),
        ("type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  acces_key: typo\n", "field acces_key not found"),
        ("type: S3\nconfig:\n  bucket: b\n", "no s3 endpoint in config file"),
        ("type: GCS\nconfig:\n  bucket: b\n  endpoint: x\n", "field endpoint not found"),
        ("type: AZURE\nconfig:\n  container: c\n", "no Azure storage_account specified"),
        ("- not\n- a mapping\n", "expected a mapping"),
        ("type: [unclosed\n", "parsing objstore config"),
    ])
    func badConfigurationSaysWhatIsWrong(yaml: String, message: String) {
        #expect { _ = try ObjectStoreConfig.parse(yaml) } throws: { "\($0)".contains(message) }
    }

    @Test func strictProvidersAcceptTheirKeys() throws {
        let s3 = try ObjectStoreConfig.parse("""
        type: S3
        config:
          bucket: thanos
          endpoint: 127.0.0.1:9000
          insecure: true
          bucket_lookup_type: path
          access_key: a
          secret_key: s
          http_config:
            idle_conn_timeout: 90s
        """)
        guard case .s3(let c) = s3.provider else { Issue.record("not S3"); return }
        #expect(c["bucket"] == "thanos" && c["insecure"] == "true" && c["http_config"]?.contains("idle_conn_timeout") == true)
    }
}

@Suite struct ObjectStoreConfigNullTests {
    @Test func yamlNullsAreZeroValues() throws {
        #expect(try ObjectStoreConfig.parse("type: FILESYSTEM\nconfig:\n  directory: /b\nprefix: ~\n").prefix == "")
        #expect { _ = try ObjectStoreConfig.parse("type: FILESYSTEM\nconfig:\n  directory: null\n") } throws: {
            "\($0)".contains("missing directory for filesystem bucket")
        }
        #expect { _ = try ObjectStoreConfig.parse("type: FILESYSTEM\nconfig: ~\n") } throws: { "\($0)".contains("missing directory") }
    }
}
