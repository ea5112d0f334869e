import Crypto
import Foundation
import StrataTestSupport
import Testing
import _CryptoExtras
@testable import StrataObjectStore

/// A service-account key file, as Google writes it, around a freshly generated RSA key.
private func serviceAccount(tokenURI: String = GCSServiceAccountKey.defaultTokenURI) throws -> (json: String, key: _RSA.Signing.PrivateKey) {
    let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    let file: [String: String] = [
        "type": "service_account", "project_id": "strata-test", "private_key_id": "0",
        "private_key": key.pkcs8PEMRepresentation, "client_email": "strata@strata-test.iam.gserviceaccount.com",
        "token_uri": tokenURI,
    ]
    let data = try JSONSerialization.data(withJSONObject: file, options: [.sortedKeys])
    return (String(decoding: data, as: UTF8.self), key)
}

/// What a JWT says and whether `key` signed it.
private func readJWT(_ jwt: String, key: _RSA.Signing.PublicKey) throws -> (header: String, claims: GCSJWT.Claims, signed: Bool) {
    let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
    try #require(parts.count == 3)
    let header = try #require(GCSJWT.decodeBase64URL(parts[0]))
    let claims = try JSONDecoder().decode(GCSJWT.Claims.self, from: Data(try #require(GCSJWT.decodeBase64URL(parts[1]))))
    let signature = _RSA.Signing.RSASignature(rawRepresentation: try #require(GCSJWT.decodeBase64URL(parts[2])))
    let signed = key.isValidSignature(signature, for: Array((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5)
    return (String(decoding: header, as: UTF8.self), claims, signed)
}

@Suite struct GCSConfigTests {
    @Test func emulatorHostMeansNoCredentials() throws {
        let c = try GCSBucket.Config(objstore: ["bucket": "b", "chunk_size_bytes": "1000000", "max_retries": "2"],
                                     environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:9023"])
        #expect(c.endpoint == "http://127.0.0.1:9023" && c.credentials == nil)
        #expect(c.chunkSize == 4 * GCSBucket.Config.chunkQuantum && c.maxRetries == 2)
        let d = try GCSBucket.Config(objstore: ["bucket": "b", "service_account": "ignored"], environment: ["STORAGE_EMULATOR_HOST": "http://localhost:4443/"])
        #expect(d.endpoint == "http://localhost:4443" && d.credentials == nil && d.chunkSize == 16 << 20 && d.maxRetries == 5)
    }

    @Test func credentialsFromTheConfigOrTheKeyFile() throws {
        let (json, _) = try serviceAccount()
        let inline = try GCSBucket.Config(objstore: ["bucket": "b", "service_account": json], environment: [:])
        #expect(inline.endpoint == "https://storage.googleapis.com")
        #expect(inline.credentials?.clientEmail == "strata@strata-test.iam.gserviceaccount.com")
        #expect(inline.credentials?.tokenURI == "https://oauth2.googleapis.com/token")
        #expect(!"\(inline)".contains("PRIVATE KEY"), "a logged config shows no key")

        let dir = try TempDir("gcs-key"); defer { dir.remove() }
        try json.write(toFile: dir.file("key.json"), atomically: true, encoding: .utf8)
        let fromFile = try GCSBucket.Config(objstore: ["bucket": "b"], environment: ["GOOGLE_APPLICATION_CREDENTIALS": dir.file("key.json")])
        #expect(fromFile.credentials == inline.credentials)
    }

    @Test func refusedConfigurations() throws {
        #expect { try GCSBucket.Config(objstore: ["bucket": "b"], environment: [:]) } throws: {
            ($0 as? ObjectStoreError)?.kind == .invalid && "\($0)".contains("metadata server")
        }
        #expect { try GCSBucket.Config(objstore: ["bucket": "b", "service_account": #"{"type":"authorized_user"}"#], environment: [:]) } throws: {
            "\($0)".contains("authorized_user")
        }
        #expect(throws: ObjectStoreError.self) { try GCSBucket.Config(objstore: ["bucket": "b", "service_account": "{"], environment: [:]) }
        #expect(throws: ObjectStoreError.self) { try GCSBucket.Config(objstore: ["bucket": "b", "chunk_size_bytes": "big"], environment: ["STORAGE_EMULATOR_HOST": "h:1"]) }
        #expect(throws: ObjectStoreError.self) { try GCSBucket.Config(objstore: [:], environment: ["STORAGE_EMULATOR_HOST": "h:1"]) }
        let notRSA = GCSServiceAccountKey(clientEmail: "a@b", privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        #expect(throws: ObjectStoreError.self) { try GCSBucket(GCSBucket.Config(bucket: "b", credentials: notRSA)) }
    }

    /// `type: GCS` in an objstore file now makes a bucket (no request is made).
    @Test func objstoreYAMLMakesABucket() throws {
        let (json, _) = try serviceAccount()
        let indented = json.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let config = try ObjectStoreConfig.parse("type: GCS\nconfig:\n  bucket: thanos\n  service_account: |-\n\(indented)\nprefix: tenant\n")
        let bucket = try config.makeBucket()
        #expect(bucket is PrefixedBucket && bucket.kind == "gcs")
    }

    @Test func namesAndTimes() {
        #expect(GCSBucket.encode("01J/chunks/000001 a+b%ü") == "01J%2Fchunks%2F000001%20a%2Bb%25%C3%BC")
        #expect(GCSBucket.rfc3339("2024-05-01T10:00:00.123456Z") == 1_714_557_600.123456)
        #expect(GCSBucket.rfc3339("2024-05-01T12:00:00+02:00") == 1_714_557_600)
        #expect(GCSBucket.rfc3339("yesterday") == nil)
    }
}

@Suite struct GCSJWTTests {
    @Test func theAssertionIsAnRS256JWTTheKeySigned() throws {
        let (json, key) = try serviceAccount(tokenURI: "https://oauth2.example/token")
        let account = try GCSServiceAccountKey(json: Array(json.utf8))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let jwt = try GCSJWT.assertion(for: account, signingKey: key, now: now)
        let (header, claims, signed) = try readJWT(jwt, key: key.publicKey)
        #expect(header == #"{"alg":"RS256","typ":"JWT"}"#)
        #expect(claims == GCSJWT.Claims(iss: "strata@strata-test.iam.gserviceaccount.com", scope: "https://www.googleapis.com/auth/devstorage.read_write",
                                        aud: "https://oauth2.example/token", iat: 1_700_000_000, exp: 1_700_003_600))
        #expect(signed)
        #expect(!jwt.contains("=") && !jwt.contains("+") && !jwt.contains("/"), "base64url without padding")
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(try readJWT(jwt, key: other.publicKey).signed == false)
    }

    @Test func theTokenExchange() throws {
        #expect(GCSTokenSource.requestBody(assertion: "a.b.c") == Array("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c".utf8))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let ok = GCSTransport.Reply(status: 200, headers: [:], body: Array(#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#.utf8))
        #expect(try GCSTokenSource.token(from: ok, now: now, who: "a") == .init(value: "ya29.x", refreshAt: now.addingTimeInterval(3299)))
        let refused = GCSTransport.Reply(status: 400, headers: [:], body: Array(#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.utf8))
        #expect { try GCSTokenSource.token(from: refused, now: now, who: "a") } throws: {
            ($0 as? ObjectStoreError)?.kind == .denied && "\($0)".contains("Invalid JWT Signature.")
        }
        let down = GCSTransport.Reply(status: 503, headers: [:], body: [])
        #expect { try GCSTokenSource.token(from: down, now: now, who: "a") } throws: { ($0 as? ObjectStoreError)?.kind == .failed }
    }
}

/// The GCS bucket against gcp-storage-emulator (loopback, no credentials checked).
@Suite struct GCSBucketTests {
    static func emulator() throws -> GCSEmulator? {
        guard let emulator = try GCSEmulator.start() else {
            if Tools.isCI { Issue.record("gcp-storage-emulator is not installed for python3 (scripts/bootstrap.sh installs it)") }
            else { print("gcp-storage-emulator (python3 -m gcp_storage_emulator) not installed; skipping the GCS tests") }
            return nil
        }
        return emulator
    }

    static func bucket(_ emulator: GCSEmulator, _ name: String, chunkSize: Int = 16 << 20) throws -> GCSBucket {
        var c = GCSBucket.Config(bucket: name, endpoint: emulator.endpoint)
        c.chunkSize = chunkSize
        c.maxRetries = 1
        return try GCSBucket(c)
    }

    @Test func acceptanceAndResumableUploads() async throws {
        guard let emulator = try Self.emulator() else { return }
        defer { emulator.stop() }
        try emulator.createBucket("thanos")
        try await BucketAcceptance.run(try Self.bucket(emulator, "thanos")) { ok, what in #expect(ok, "\(what)") }

        // At or above the chunk size: a resumable upload in 256 KiB chunks, the last one short.
        let gcs = try Self.bucket(emulator, "thanos", chunkSize: GCSBucket.Config.chunkQuantum)
        let bytes = (0 ..< (3 * GCSBucket.Config.chunkQuantum + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let file = FileManager.default.temporaryDirectory.path + "/gcs-big-" + UUID().uuidString
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await gcs.upload("big/segment", file: file)
        #expect(try await gcs.attributes("big/segment").size == bytes.count)
        let q = GCSBucket.Config.chunkQuantum
        #expect(try await gcs.getRange("big/segment", offset: q - 3, length: 6) == Array(bytes[q - 3 ..< q + 3]))
        #expect(try await gcs.get("big/segment") == bytes)
        let exact = Array(bytes[0 ..< 2 * q])
        try await gcs.upload("big/exact", bytes: exact)
        #expect(try await gcs.get("big/exact") == exact)

        // Names are one path segment, whatever they hold.
        let odd = "odd/a b+c%d?e#ü"
        try await gcs.upload(odd, bytes: [1, 2, 3])
        #expect(try await gcs.get(odd) == [1, 2, 3])
        #expect(try await gcs.list("odd", recursive: false) == [odd])
        #expect(try await gcs.attributes(odd).lastModified > Date().timeIntervalSince1970 - 600)

        // A bucket that does not exist is an error, not an empty listing.
        let missing = try Self.bucket(emulator, "nope")
        await #expect(throws: ObjectStoreError.self) { _ = try await missing.list("", recursive: false) }
    }

    /// An objstore file with `type: GCS` and `STORAGE_EMULATOR_HOST` (as Thanos takes them).
    @Test func objstoreYAMLWithTheEmulatorHost() async throws {
        guard let emulator = try Self.emulator() else { return }
        defer { emulator.stop() }
        try emulator.createBucket("blocks")
        let parsed = try ObjectStoreConfig.parse("type: GCS\nconfig:\n  bucket: blocks\n  max_retries: 1\n  chunk_size_bytes: 262144\n")
        guard case .gcs(let c) = parsed.provider else { Issue.record("not a GCS config: \(parsed)"); return }
        let gcs = try GCSBucket(GCSBucket.Config(objstore: c, environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:\(emulator.port)"]))
        #expect(gcs.config.chunkSize == 262_144 && gcs.config.maxRetries == 1 && gcs.config.credentials == nil)
        try await gcs.upload("01JEXAMPLE/meta.json", bytes: Array("{}".utf8))
        #expect(try await gcs.get("01JEXAMPLE/meta.json") == Array("{}".utf8))
        #expect(try await gcs.list("", recursive: false) == ["01JEXAMPLE/"])
        try await gcs.delete("01JEXAMPLE/meta.json")
        await #expect { try await gcs.delete("01JEXAMPLE/meta.json") } throws: { ObjectStoreError.isNotFound($0) }
    }
}

/// A stand-in for Google's token endpoint and a misbehaving storage API (Python's http.server
/// on a loopback port), logging every request it gets: what the emulator cannot show, as it
/// checks no credentials and never fails.
private final class FakeGoogle: @unchecked Sendable {
    static let script = #"""
    import http.server, json, signal, sys
    signal.pthread_sigmask(signal.SIG_SETMASK, [])  # the test runner's blocked signals are inherited
    port, log = int(sys.argv[1]), open(sys.argv[2], "a")
    upload = {"received": b"", "failed": False}
    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            log.write(json.dumps({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                                  "range": self.headers.get("Content-Range"), "body": body.decode("latin-1")[:2000]}) + "\n")
            log.flush()
            headers = {}
            if self.path == "/session":
                status, doc, headers = self.session(body)
            elif "uploadType=resumable" in self.path:
                status, doc, headers = 200, {}, {"Location": "http://127.0.0.1:%d/session" % port}
            elif self.path == "/token":
                status, doc = 200, {"access_token": "token-1", "expires_in": 3600, "token_type": "Bearer"}
            elif self.path == "/token-refused":
                status, doc = 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            elif "/b/denied/" in self.path:
                status, doc = 403, {"error": {"code": 403, "message": "no storage.objects.list access"}}
            elif "/b/flaky/" in self.path:
                status, doc = 503, {"error": {"code": 503, "message": "backend unavailable"}}
            else:
                status, doc = 404, {"error": {"code": 404, "message": "No such object"}}
            data = json.dumps(doc).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        # A resumable session that keeps half of the first chunk and answers 503 for it.
        def session(self, body):
            span, _, total = self.headers["Content-Range"][len("bytes "):].partition("/")
            start = span.partition("-")[0]
            if start != "*":
                if int(start) != len(upload["received"]):
                    return 400, {"error": {"code": 400, "message": "wrong offset " + start}}, {}
                if not upload["failed"]:
                    upload["failed"] = True
                    upload["received"] += body[: len(body) // 2]
                    return 503, {"error": {"code": 503, "message": "try again"}}, {}
                upload["received"] += body
            if total != "*" and len(upload["received"]) == int(total):
                open(sys.argv[2] + ".object", "wb").write(upload["received"])
                return 200, {"name": "uploaded"}, {}
            held = len(upload["received"])
            return 308, {}, ({"Range": "bytes=0-%d" % (held - 1)} if held else {})
        do_GET = do_POST = do_PUT = do_DELETE = answer
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """#

    let process = Process()
    let port: Int
    let dir: TempDir
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init?() throws {
        guard let python = Tools.which("python3") else { return nil }
        dir = try TempDir("fake-google")
        port = try Tools.freePort()
        try Self.script.write(toFile: dir.file("server.py"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [dir.file("server.py"), String(port), dir.file("requests.jsonl")]
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? Tools.run("/usr/bin/curl", ["-s", "-o", "/dev/null", endpoint + "/ready"], timeout: 5))?.status == 0 { return }
            usleep(100_000)
        }
        stop()
        throw ObjectStoreError(.failed, "the fake Google server did not start")
    }

    /// The requests so far, but the readiness probes.
    var requests: [[String: String]] {
        let text = (try? String(contentsOfFile: dir.file("requests.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }.map { $0.compactMapValues { $0 as? String } }.filter { $0["path"] != "/ready" }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        dir.remove()
    }
}

@Suite struct GCSAuthenticationTests {
    /// A service account's token is fetched once with a JWT its key signed, then sent as the
    /// bearer of every request; 403 is `denied`, 503 is retried and then `failed`, a resumable
    /// upload goes on from what the session kept, a refused JWT is `denied`.
    @Test func tokensBearersAndFailures() async throws {
        guard let google = try FakeGoogle() else {
            if Tools.isCI { Issue.record("python3 is not installed") } else { print("python3 not installed; skipping") }
            return
        }
        defer { google.stop() }
        let (json, key) = try serviceAccount(tokenURI: google.endpoint + "/token")
        var c = GCSBucket.Config(bucket: "denied", endpoint: google.endpoint, credentials: try GCSServiceAccountKey(json: Array(json.utf8)))
        c.maxRetries = 2
        let denied = try GCSBucket(c)
        await #expect { _ = try await denied.list("", recursive: false) } throws: {
            ($0 as? ObjectStoreError)?.kind == .denied && "\($0)".contains("no storage.objects.list access")
        }
        await #expect { _ = try await denied.get("01JEXAMPLE/meta.json") } throws: { ($0 as? ObjectStoreError)?.kind == .denied }

        let tokenRequests = google.requests.filter { $0["path"] == "/token" }
        try #require(tokenRequests.count == 1, "one token for both requests: \(google.requests)")
        #expect(tokenRequests[0]["method"] == "POST")
        let body = tokenRequests[0]["body"] ?? ""
        let prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        #expect(body.hasPrefix(prefix))
        let jwt = try readJWT(String(body.dropFirst(prefix.count)), key: key.publicKey)
        #expect(jwt.signed && jwt.claims.aud == google.endpoint + "/token" && jwt.claims.exp - jwt.claims.iat == 3600)
        let storage = google.requests.filter { $0["path"]?.hasPrefix("/storage/v1/b/denied/o") == true }
        #expect(storage.count == 2 && storage.allSatisfy { $0["auth"] == "Bearer token-1" }, "\(storage)")
        #expect(storage.last?["path"]?.hasPrefix("/storage/v1/b/denied/o/01JEXAMPLE%2Fmeta.json?") == true)

        c.bucket = "flaky"
        let flaky = try GCSBucket(c)
        await #expect { _ = try await flaky.list("", recursive: false) } throws: {
            ($0 as? ObjectStoreError)?.kind == .failed && "\($0)".contains("backend unavailable")
        }
        #expect(google.requests.filter { $0["path"]?.hasPrefix("/storage/v1/b/flaky/o") == true }.count == 3, "the first try and two retries")

        // A chunk that fails is not resent from where it started: the session says what it kept.
        c.bucket = "resume"
        c.chunkSize = GCSBucket.Config.chunkQuantum
        let resume = try GCSBucket(c)
        let bytes = (0 ..< 600_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try await resume.upload("01JEXAMPLE/chunks/000001", bytes: bytes)
        #expect(google.requests.filter { $0["path"] == "/session" }.compactMap { $0["range"] } == [
            "bytes 0-262143/*", "bytes */600000", "bytes 131072-393215/*", "bytes 393216-599999/600000",
        ])
        #expect(FileManager.default.contents(atPath: google.dir.file("requests.jsonl.object")) == Data(bytes))

        c.credentials?.tokenURI = google.endpoint + "/token-refused"
        let refused = try GCSBucket(c)
        await #expect { _ = try await refused.exists("x") } throws: { ($0 as? ObjectStoreError)?.kind == .denied && "\($0)".contains("Invalid JWT") }
    }
}
