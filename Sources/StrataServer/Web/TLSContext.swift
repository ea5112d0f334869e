import Foundation
import NIOSSL

extension WebConfig.TLS {
    /// The server's TLS context for these settings, the certificate, key and client CA read now.
    /// Errors are exporter-toolkit's where it has one (`failed to read cert_file (…)`).
    func makeContext() throws -> NIOSSLContext {
        let certPEM = try pem(file: certFile, inline: cert, key: "cert_file")
        let keyPEM = try pem(file: keyFile, inline: key, key: "key_file")
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certPEM)
            guard !chain.isEmpty else { throw ConfigError("tls: failed to find any PEM data in certificate input") }
        } catch {
            throw ConfigError("failed to load X509KeyPair: certificate \(certFile.isEmpty ? "(inline cert)" : certFile): \(error)")
        }
        do { privateKey = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem) } catch {
            throw ConfigError("failed to load X509KeyPair: key \(keyFile.isEmpty ? "(inline key)" : keyFile): \(error)")
        }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        c.minimumTLSVersion = minVersion
        c.maximumTLSVersion = maxVersion
        // TLS 1.3's suites are not configurable (in Go either).
        let tls12Suites = cipherSuites.filter { $0.rawValue >> 8 != 0x13 }
        if !tls12Suites.isEmpty { c.cipherSuiteValues = tls12Suites }
        if !curves.isEmpty { c.curves = curves }
        switch clientAuth {
        case .none: c.certificateVerification = .none
        // Request or require a certificate but take any: verification is replaced by a callback
        // that accepts (`acceptsAnyClientCertificate`).
        case .request, .verifyIfGiven: c.certificateVerification = .optionalVerification
        case .requireAny, .requireAndVerify: c.certificateVerification = .noHostnameVerification
        }
        let caPEM = try pem(file: clientCAFile, inline: clientCA, key: "client_ca_file", optional: true)
        if !caPEM.isEmpty {
            do { c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(caPEM)) } catch {
                throw ConfigError("client_ca_file \(clientCAFile): \(error)")
            }
            c.sendCANameList = true
        }
        do { return try NIOSSLContext(configuration: c) } catch NIOSSLError.failedToLoadPrivateKey {
            // BoringSSL refuses a key that is not the certificate's when the context is built.
            throw ConfigError("failed to load X509KeyPair: tls: private key does not match public key (cert \(certFile.isEmpty ? "inline" : certFile), key \(keyFile.isEmpty ? "inline" : keyFile))")
        } catch {
            throw ConfigError("tls_server_config: \(error)")
        }
    }

    /// Go's `RequestClientCert` and `RequireAnyClientCert`: a certificate is asked for, not checked.
    var acceptsAnyClientCertificate: Bool { clientAuth == .request || clientAuth == .requireAny }

    private func pem(file: String, inline: String, key: String, optional: Bool = false) throws -> [UInt8] {
        if file.isEmpty { return Array(inline.utf8) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError("failed to read \(key) (\(file)): \(FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file or directory")")
        }
        return Array(data)
    }
}
