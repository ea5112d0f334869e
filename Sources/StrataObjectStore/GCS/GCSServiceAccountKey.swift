import Foundation

/// The parts of a Google service-account key (the JSON file the Cloud console or `gcloud iam
/// service-accounts keys create` writes) that OAuth 2.0's JWT-bearer flow needs.
public struct GCSServiceAccountKey: Sendable, Equatable, CustomStringConvertible {
    public var clientEmail: String
    /// The RSA key, PEM (`-----BEGIN PRIVATE KEY-----`, PKCS #8, as Google writes it).
    public var privateKeyPEM: String
    public var tokenURI: String

    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    public init(clientEmail: String, privateKeyPEM: String, tokenURI: String = defaultTokenURI) {
        self.clientEmail = clientEmail
        self.privateKeyPEM = privateKeyPEM
        self.tokenURI = tokenURI
    }

    private struct File: Decodable {
        var type: String?
        var client_email: String?
        var private_key: String?
        var token_uri: String?
    }

    /// Parses the key file's JSON. Other credential files (`authorized_user` from `gcloud auth
    /// application-default login`, `external_account`) are refused by name: Strata signs its own
    /// tokens and needs the private key.
    public init(json: [UInt8]) throws {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: Data(json)) } catch {
            throw ObjectStoreError(.invalid, "gcs: service account credentials are not valid JSON")
        }
        if let type = file.type, type != "service_account" {
            throw ObjectStoreError(.invalid, "gcs: credentials of type \(type) are not supported; a service account key (type service_account) is needed")
        }
        guard let email = file.client_email, !email.isEmpty, let pem = file.private_key, !pem.isEmpty else {
            throw ObjectStoreError(.invalid, "gcs: the service account key needs client_email and private_key")
        }
        let tokenURI = file.token_uri.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultTokenURI
        self.init(clientEmail: email, privateKeyPEM: pem, tokenURI: tokenURI)
    }

    /// Never the key itself, so a logged configuration leaks nothing.
    public var description: String { "service account \(clientEmail)" }
}
