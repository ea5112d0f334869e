import Foundation

/// The Azure Blob fixture (`Tests/Fixtures/azure_blob_fixture.py`) on a loopback port: an
/// in-memory Blob service that checks every request's Shared Key signature with Microsoft's
/// `azure-storage-blob` package. Accounts are path-style: `http://127.0.0.1:PORT/{account}`.
public final class AzureFixture: @unchecked Sendable {
    /// A made-up test key: base64 of `strata-azure-fixture-test-key-01`.
    public static let testKey = "c3RyYXRhLWF6dXJlLWZpeHR1cmUtdGVzdC1rZXktMDE="

    public let port: Int
    public let account: String
    public let key: String
    private let server: PythonServer

    /// What an objstore `endpoint` with a scheme points at (the account is appended to it).
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    public var output: String { server.output }

    /// Nil when python3 or azure-storage-blob is missing. `pageSize` makes List Blobs answer in
    /// pages that small, so callers must follow `NextMarker`.
    public static func start(script: String, account: String = "strataacct", key: String = testKey, pageSize: Int? = nil) throws -> AzureFixture? {
        guard let python = PythonServer.interpreter(importing: ["azure.storage.blob"]) else { return nil }
        let port = try Tools.freePort()
        let server = try PythonServer(python: python, .script(script),
                                      arguments: ["--port", String(port), "--account", account, "--key", key] + (pageSize.map { ["--page-size", String($0)] } ?? []),
                                      name: "azure-fixture")
        let fixture = AzureFixture(port: port, account: account, key: key, server: server)
        guard server.wait(until: { (try? fixture.hook("GET", "stats"))?.status == 0 }) else {
            let output = server.output
            server.stop()
            throw NSError(domain: "azure-fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "the Azure fixture did not start: \(output)"])
        }
        return fixture
    }

    private init(port: Int, account: String, key: String, server: PythonServer) {
        self.port = port; self.account = account; self.key = key; self.server = server
    }

    private func hook(_ method: String, _ path: String) throws -> Tools.RunResult {
        try Tools.run("/usr/bin/curl", ["-sf", "-X", method, "http://127.0.0.1:\(port)/__fixture/\(path)"], timeout: 10)
    }

    /// How many of each operation the fixture served (`put_block`, `put_block_list`,
    /// `put_blob`, `auth_failures`, …).
    public func stats() throws -> [String: Int] {
        let r = try hook("GET", "stats")
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Int] ?? [:]
    }

    /// The next `count` blob-service requests get 503 ServerBusy.
    public func failNext(_ count: Int) throws { _ = try hook("POST", "fail?count=\(count)") }

    public func stop() { server.stop() }
}
