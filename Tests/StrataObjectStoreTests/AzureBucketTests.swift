import Foundation
import StrataTestSupport
import Testing
@testable import StrataObjectStore

@Suite struct SharedKeyTests {
    static let stamp = [("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"), ("x-ms-version", "2021-08-06")]

    static func sign(_ method: String, _ path: String, _ query: [(String, String)] = [], _ headers: [(String, String)] = []) throws -> String {
        try SharedKey(account: "strataacct", base64Key: AzureFixture.testKey).authorization(method: method, path: path, query: query, headers: headers + stamp)
    }

    /// Golden values from azure-storage-blob 12.31.1 (azure-core 1.41.0): each request (URL as
    /// the bucket builds it, the same headers) was run once through the package's
    /// `SharedKeyCredentialPolicy("strataacct", AzureFixture.testKey).on_request(...)` on an
    /// `azure.core.pipeline.transport.HttpRequest`, and its `Authorization` header pasted here.
    @Test func signaturesMatchTheAzureSDK() throws {
        // GET https://strataacct.blob.core.windows.net/thanos?restype=container&comp=list&prefix=01J%2F&delimiter=%2F&marker=MDAx
        #expect(try Self.sign("GET", "/thanos", [("restype", "container"), ("comp", "list"), ("prefix", "01J/"), ("delimiter", "/"), ("marker", "MDAx")])
            == "SharedKey strataacct:ziF+GNwp7Qrr/sZWF19ydXQ1GWaHJaD8/8gygemoCNU=")
        // PUT https://strataacct.blob.core.windows.net/thanos/01J/meta.json (11 bytes)
        #expect(try Self.sign("PUT", "/thanos/01J/meta.json", [],
                          [("Content-Type", "application/octet-stream"), ("x-ms-blob-type", "BlockBlob"), ("Content-Length", "11")])
            == "SharedKey strataacct:1hvGuY2cIGQ1uGUF/tgzQGoojwWFjgRBUGX40PcQSso=")
        // PUT http://127.0.0.1:10000/strataacct/thanos/01J/chunks/000001?comp=block&blockid=MDAwMDAwMDE%3D (path-style)
        #expect(try Self.sign("PUT", "/strataacct/thanos/01J/chunks/000001", [("comp", "block"), ("blockid", AzureBucket.blockID(1))],
                          [("Content-Type", "application/octet-stream"), ("Content-Length", "4194304")])
            == "SharedKey strataacct:lu8+MV9I8qvwxsoN63kpmhDnG6rP5y5zD1eNLqyzvCY=")
        // HEAD https://strataacct.blob.core.windows.net/thanos/dir/a%20b%2Bc.txt
        #expect(try Self.sign("HEAD", "/thanos/" + SigV4.uriEncode("dir/a b+c.txt", keepSlash: true))
            == "SharedKey strataacct:u0EWKlAjWGuGkFOPPkXJiVY1YRVxppFGp9fUtiPU8N0=")
        // DELETE https://strataacct.blob.core.windows.net/thanos/01J/index
        #expect(try Self.sign("DELETE", "/thanos/01J/index", [], [("x-ms-delete-snapshots", "include")])
            == "SharedKey strataacct:O3IyFG+Ju8iKUtAmfCriGWvSovJ6N//3Sz7y139N58Q=")
        // GET http://127.0.0.1:10000/strataacct/thanos/01J/index, x-ms-range: bytes=0-9
        #expect(try Self.sign("GET", "/strataacct/thanos/01J/index", [], [("x-ms-range", "bytes=0-9")])
            == "SharedKey strataacct:3+yhbpYt5IiFsPznPh0rl8J90e/Qi+pfdjYYXpQcIcM=")
        // PUT https://strataacct.blob.core.windows.net/thanos?restype=container, Content-Length: 0
        #expect(try Self.sign("PUT", "/thanos", [("restype", "container")], [("Content-Length", "0")])
            == "SharedKey strataacct:Rgpg1Q1KfufQLd63anA7lxdwGkO6mBETdhtuzemCK3w=")
    }

    @Test func dateAndBlockIDFormats() {
        #expect(SharedKey.httpDate(Date(timeIntervalSince1970: 1_704_067_200)) == "Mon, 01 Jan 2024 00:00:00 GMT")
        #expect(SharedKey.parseHTTPDate("Mon, 01 Jan 2024 00:00:00 GMT")?.timeIntervalSince1970 == 1_704_067_200)
        #expect(AzureBucket.blockID(1) == "MDAwMDAwMDE=" && AzureBucket.blockID(12_345).count == AzureBucket.blockID(0).count)
        #expect(throws: ObjectStoreError.self) { try SharedKey(account: "a", base64Key: "not base64!") }
    }

    @Test func configFromObjstoreYAML() throws {
        let plain = try AzureBucket.Config(objstore: ["storage_account": "acct", "storage_account_key": "a2V5", "container": "c"])
        #expect(plain.blobServiceURL == "https://acct.blob.core.windows.net" && plain.createContainer && plain.maxRetries == 3)
        let sovereign = try AzureBucket.Config(objstore: ["storage_account": "acct", "storage_account_key": "a2V5", "container": "c",
                                                          "endpoint": "blob.core.chinacloudapi.cn", "storage_create_container": "false",
                                                          "max_retries": "7"])
        #expect(sovereign.blobServiceURL == "https://acct.blob.core.chinacloudapi.cn" && !sovereign.createContainer && sovereign.maxRetries == 7)
        let local = try AzureBucket.Config(objstore: ["storage_account": "acct", "storage_account_key": "a2V5", "container": "c",
                                                      "endpoint": "http://127.0.0.1:10000/"])
        #expect(local.blobServiceURL == "http://127.0.0.1:10000/acct")
        let fromString = try AzureBucket.Config(objstore: [
            "storage_account": "acct", "container": "c",
            "storage_connection_string": "DefaultEndpointsProtocol=https;AccountName=other;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net",
        ])
        #expect(fromString.account == "other" && fromString.key == "a2V5" && fromString.blobServiceURL == "https://other.blob.core.usgovcloudapi.net")
        let emulator = try AzureBucket.Config(objstore: [
            "storage_account": "devstoreaccount1", "container": "c",
            "storage_connection_string": "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
        ])
        #expect(emulator.blobServiceURL == "http://127.0.0.1:10000/devstoreaccount1")
        #expect(throws: ObjectStoreError.self) {
            try AzureBucket.Config(objstore: ["storage_account": "a", "container": "c", "storage_account_key": "a2V5",
                                              "storage_connection_string": "AccountName=a;AccountKey=a2V5"])
        }
        #expect(throws: ObjectStoreError.self) { try AzureBucket.Config(objstore: ["storage_account": "a", "container": "c", "client_id": "x"]) }
        #expect(throws: ObjectStoreError.self) {
            try AzureBucket.Config(objstore: ["storage_account": "a", "storage_account_key": "a2V5", "container": "c", "storage_create_container": "maybe"])
        }
    }
}

/// The Azure bucket against the local Blob fixture, which checks every signature with
/// azure-storage-blob's own Shared Key code (Azurite needs npm, which this machine lacks).
@Suite struct AzureBucketTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/azure_blob_fixture.py").path

    static func fixture(pageSize: Int? = nil) throws -> AzureFixture? {
        guard let fixture = try AzureFixture.start(script: script, pageSize: pageSize) else {
            if Tools.isCI { Issue.record("azure-storage-blob is not installed for python3 (scripts/bootstrap.sh installs it)") }
            else { print("azure-storage-blob (python3) not installed; skipping the Azure tests") }
            return nil
        }
        return fixture
    }

    static func bucket(_ fixture: AzureFixture, key: String? = nil, container: String = "thanos", blockSize: Int = 4 << 20,
                       maxRetries: Int = 1, createContainer: Bool = true) throws -> AzureBucket {
        var c = AzureBucket.Config(account: fixture.account, key: key ?? fixture.key, container: container)
        c.serviceURL = fixture.endpoint + "/" + fixture.account
        c.blockSize = blockSize
        c.maxRetries = maxRetries
        c.createContainer = createContainer
        return try AzureBucket(c)
    }

    @Test func acceptance() async throws {
        // Pages of 2 entries, so listings follow NextMarker.
        guard let fixture = try Self.fixture(pageSize: 2) else { return }
        defer { fixture.stop() }
        let azure = try Self.bucket(fixture)
        try await BucketAcceptance.run(azure) { ok, what in #expect(ok, "\(what)") }
        // Names that need percent-encoding are signed as sent.
        try await azure.upload("odd/a b+c=d&e.txt", bytes: Array("odd".utf8))
        #expect(try await azure.list("odd", recursive: false) == ["odd/a b+c=d&e.txt"])
        #expect(try await azure.get("odd/a b+c=d&e.txt") == Array("odd".utf8))
        let stats = try fixture.stats()
        #expect(stats["auth_failures", default: 0] == 0, "\(fixture.output)")
        #expect(stats["list_blobs", default: 0] > 10)
    }

    @Test func largeFilesGoUpAsBlocks() async throws {
        guard let fixture = try Self.fixture() else { return }
        defer { fixture.stop() }
        let azure = try Self.bucket(fixture)
        let bytes = (0 ..< (9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 13) }
        let file = FileManager.default.temporaryDirectory.path + "/azure-big-" + UUID().uuidString
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await azure.upload("big/chunks/000001", file: file)
        let stats = try fixture.stats()
        #expect(stats["put_block"] == 3 && stats["put_block_list"] == 1 && stats["put_blob", default: 0] == 0, "\(stats)")
        #expect(try await azure.attributes("big/chunks/000001").size == bytes.count)
        #expect(try await azure.getRange("big/chunks/000001", offset: (4 << 20) - 3, length: 6) == Array(bytes[(4 << 20) - 3 ..< (4 << 20) + 3]))
        #expect(try await azure.get("big/chunks/000001") == bytes)
        // In-memory bytes of the block size or more take the same path.
        try await azure.upload("big/index", bytes: Array(bytes[0 ..< (4 << 20)]))
        #expect(try fixture.stats()["put_block"] == 4)
        #expect(try await azure.get("big/index") == Array(bytes[0 ..< (4 << 20)]))
        #expect(try fixture.stats()["auth_failures", default: 0] == 0)
    }

    @Test func aWrongKeyIsDenied() async throws {
        guard let fixture = try Self.fixture() else { return }
        defer { fixture.stop() }
        let good = try Self.bucket(fixture)
        try await good.upload("01J/meta.json", bytes: Array("{}".utf8))
        let wrongKey = Data("strata-azure-fixture-test-key-02".utf8).base64EncodedString()
        // The first call creates the container: refused.
        let wrong = try Self.bucket(fixture, key: wrongKey)
        await #expect { _ = try await wrong.get("01J/meta.json") } throws: {
            ($0 as? ObjectStoreError)?.kind == .denied && "\($0)".contains("AuthenticationFailed")
        }
        // Without container creation, reads, writes and HEADs (no body: the code comes in a header).
        let reader = try Self.bucket(fixture, key: wrongKey, createContainer: false)
        await #expect { _ = try await reader.get("01J/meta.json") } throws: { ($0 as? ObjectStoreError)?.kind == .denied }
        await #expect { try await reader.upload("01J/index", bytes: [1]) } throws: { ($0 as? ObjectStoreError)?.kind == .denied }
        await #expect { _ = try await reader.exists("01J/meta.json") } throws: {
            ($0 as? ObjectStoreError)?.kind == .denied && "\($0)".contains("AuthenticationFailed")
        }
        #expect(try fixture.stats()["auth_failures"] == 4)
        #expect(try await good.get("01J/meta.json") == Array("{}".utf8))
    }

    @Test func serverErrorsAreRetried() async throws {
        guard let fixture = try Self.fixture() else { return }
        defer { fixture.stop() }
        let patient = try Self.bucket(fixture, maxRetries: 3)
        try fixture.failNext(3)
        try await patient.upload("a", bytes: [1, 2, 3])
        #expect(try await patient.get("a") == [1, 2, 3])
        let hasty = try Self.bucket(fixture, maxRetries: 1)
        try fixture.failNext(2)
        await #expect { _ = try await hasty.get("a") } throws: {
            ($0 as? ObjectStoreError)?.kind == .failed && "\($0)".contains("ServerBusy")
        }
        #expect(try fixture.stats()["injected_failures"] == 5)
    }

    @Test func aMissingContainerIsAnError() async throws {
        guard let fixture = try Self.fixture() else { return }
        defer { fixture.stop() }
        let azure = try Self.bucket(fixture, container: "absent", createContainer: false)
        await #expect { _ = try await azure.list("", recursive: false) } throws: { "\($0)".contains("ContainerNotFound") }
        await #expect(throws: ObjectStoreError.self) { try await azure.upload("x", bytes: [1]) }
    }

    @Test func objstoreYAMLMakesAWorkingBucket() async throws {
        guard let fixture = try Self.fixture() else { return }
        defer { fixture.stop() }
        let yaml = """
        type: AZURE
        config:
          storage_account: \(fixture.account)
          storage_account_key: \(fixture.key)
          container: thanos
          endpoint: \(fixture.endpoint)
          max_retries: 2
        prefix: tenant-a
        """
        let bucket = try ObjectStoreConfig.parse(yaml).makeBucket()
        try await bucket.upload("01J/meta.json", bytes: Array("{}".utf8))
        #expect(try await bucket.list("", recursive: true) == ["01J/meta.json"])
        #expect(try await bucket.get("01J/meta.json") == Array("{}".utf8))

        let connection = """
        type: AZURE
        config:
          storage_account: \(fixture.account)
          storage_connection_string: "DefaultEndpointsProtocol=http;AccountName=\(fixture.account);AccountKey=\(fixture.key);BlobEndpoint=\(fixture.endpoint)/\(fixture.account);"
          container: thanos
          storage_create_container: false
        """
        let viaString = try ObjectStoreConfig.parse(connection).makeBucket()
        #expect(viaString.kind == "azure")
        #expect(try await viaString.list("", recursive: true) == ["tenant-a/01J/meta.json"])
        #expect(try fixture.stats()["auth_failures", default: 0] == 0)
    }
}
