import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import StrataHTTPAPI

/// TLS in front of the HTTP channel, like HummingbirdTLS' `TLSChannel`, but with the context the
/// web config holds when the connection arrives, so a renewed certificate is served to the next
/// connection without a restart.
struct ReloadingTLSChannel<Base: HTTPChannelHandler>: HTTPChannelHandler {
    typealias Value = Base.Value
    let base: Base
    let source: WebConfigSource

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let loaded = source.current()
        return channel.eventLoop.makeCompletedFuture {
            guard let context = loaded.tlsContext else { throw ConfigError("TLS is not configured") }
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(PlaintextOnTLSPortHandler())
            if loaded.config.tls?.acceptsAnyClientCertificate == true {
                try sync.addHandler(NIOSSLServerHandler(context: context) { _, promise in promise.succeed(.certificateVerified) })
            } else {
                try sync.addHandler(NIOSSLServerHandler(context: context))
            }
            // The client certificate's subject, for requests that take their tenant from it.
            try sync.addHandler(ClientCertificateHandler(isHandshakeCompleted: { event in
                if case .handshakeCompleted? = event as? TLSUserEvent { return true }
                return false
            }, read: { context in
                guard let cert = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate else { return nil }
                var subject = ClientCertificateSubject()
                for name in cert.subjectName {
                    switch name.type {
                    case .organization: subject.organization.append(name.value)
                    case .organizationalUnit: subject.organizationalUnit.append(name.value)
                    case .commonName: subject.commonName = subject.commonName ?? name.value
                    default: break
                    }
                }
                return subject
            }))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// A plain HTTP request sent to the TLS port is answered as Go's server answers it (400, "Client
/// sent an HTTP request to an HTTPS server.") and the connection closed, instead of a TLS alert
/// the client would print as garbage. A TLS connection starts with a handshake record (0x16);
/// then this handler steps aside.
final class PlaintextOnTLSPortHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return context.fireChannelRead(data) }
        if first == 0x16 {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let answer = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
        context.close(promise: nil)
    }
}
