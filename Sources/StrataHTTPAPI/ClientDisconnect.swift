import Hummingbird
import NIOCore
import StrataRuntime

/// A request context that can tell when its client went away. Query endpoints pass this on to
/// the concurrency gate and the engine, so a query nobody waits for any more leaves the queue or stops,
/// as Prometheus does when a request's context is cancelled.
public protocol DisconnectAwareRequestContext: RequestContext {
    /// Cancelled once the client closed its side of the connection; nil if unknown.
    var clientGone: QueryCancellation? { get async }
}

/// The server's request context: Hummingbird's basic one plus the connection's disconnect signal.
public struct StrataRequestContext: DisconnectAwareRequestContext {
    public var coreContext: CoreRequestContextStorage
    private let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var clientGone: QueryCancellation? {
        get async {
            if let watcher = try? await channel.pipeline.handler(type: ClientDisconnectWatcher.self).get() {
                return watcher.gone
            }
            // The pipeline's handlers are removed when the connection closes: the client is gone.
            guard !channel.isActive else { return nil }
            let gone = QueryCancellation()
            gone.cancel()
            return gone
        }
    }
}

extension StrataRequestContext: ClientCertificateAwareRequestContext {
    public var clientCertificateSubject: ClientCertificateSubject? {
        get async { try? await channel.pipeline.handler(type: ClientCertificateHandler.self).get().subject }
    }
}

/// One per connection, in the pipeline after the HTTP codec: fires `gone` when the client closes
/// its half of the connection or the connection drops. Hummingbird allows half-closed
/// connections, so an EOF arrives as `inputClosed` rather than as a closed channel; like Go's
/// net/http, an EOF while a request is in flight counts as the client going away.
public final class ClientDisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    // Request parts pass through untouched (the default `channelRead` forwards them).
    public typealias InboundIn = NIOAny
    public typealias InboundOut = NIOAny

    public let gone = QueryCancellation()

    public init() {}

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { gone.cancel() }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        gone.cancel()
        context.fireChannelInactive()
    }
}
