import Hummingbird
import NIOCore
import Synchronization

/// The subject of a connection's TLS client certificate, for `--receive.tenant-certificate-field`.
public struct ClientCertificateSubject: Sendable, Equatable {
    public var organization: [String] = []
    public var organizationalUnit: [String] = []
    public var commonName: String?
    public init(organization: [String] = [], organizationalUnit: [String] = [], commonName: String? = nil) {
        self.organization = organization; self.organizationalUnit = organizationalUnit; self.commonName = commonName
    }
}

/// One per TLS connection, after the TLS handler: when the handshake completes, `read` takes the
/// client certificate's subject from the TLS handler (the server supplies it; this module does not
/// know the TLS library) and requests on the connection find it here.
public final class ClientCertificateHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    public typealias InboundIn = NIOAny
    public typealias InboundOut = NIOAny

    private let read: @Sendable (ChannelHandlerContext) -> ClientCertificateSubject?
    private let captured = Mutex<ClientCertificateSubject?>(nil)

    /// `handshakeCompleted`: the event the TLS handler sends once the peer is verified.
    private let isHandshakeCompleted: @Sendable (Any) -> Bool

    public init(isHandshakeCompleted: @escaping @Sendable (Any) -> Bool, read: @escaping @Sendable (ChannelHandlerContext) -> ClientCertificateSubject?) {
        self.isHandshakeCompleted = isHandshakeCompleted
        self.read = read
    }

    public var subject: ClientCertificateSubject? { captured.withLock { $0 } }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isHandshakeCompleted(event) {
            let subject = read(context)
            captured.withLock { $0 = subject }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// A request context that knows its connection's client certificate (nil over plain HTTP or
/// without one).
public protocol ClientCertificateAwareRequestContext: RequestContext {
    var clientCertificateSubject: ClientCertificateSubject? { get async }
}

/// Thanos Receive's `--receive.tenant-certificate-field`: which subject field of the client
/// certificate names a write's tenant (taking the place of the tenant header).
public enum TenantCertificateField: String, Sendable, CaseIterable {
    case organization, organizationalUnit, commonName

    /// The tenant the subject names, or Thanos' message for why it names none.
    func tenant(in subject: ClientCertificateSubject?) -> Result<String, TenantCertificateError> {
        guard let subject else { return .failure(TenantCertificateError("could not get required certificate field from client cert")) }
        switch self {
        case .organization:
            guard let o = subject.organization.first else { return .failure(TenantCertificateError("could not get organization field from client cert")) }
            return .success(o)
        case .organizationalUnit:
            guard let ou = subject.organizationalUnit.first else {
                return .failure(TenantCertificateError("could not get organizationalUnit field from client cert"))
            }
            return .success(ou)
        case .commonName:
            guard let cn = subject.commonName, !cn.isEmpty else { return .failure(TenantCertificateError("could not get commonName field from client cert")) }
            return .success(cn)
        }
    }
}

struct TenantCertificateError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
