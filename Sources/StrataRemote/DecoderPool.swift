import Synchronization

/// A small free list of decoders, so each request reuses grown buffers instead of allocating.
public final class DecoderPool: Sendable {
    private let free = Mutex<[WriteRequestDecoderBox]>([])
    private let maxPooled: Int

    public init(maxPooled: Int = 8) { self.maxPooled = maxPooled }

    public func withDecoder<T>(_ body: (WriteRequestDecoder) throws -> T) rethrows -> T {
        let box = free.withLock { $0.popLast() } ?? WriteRequestDecoderBox()
        defer { free.withLock { if $0.count < maxPooled { $0.append(box) } } }
        return try body(box.decoder)
    }
}

/// Decoders are only ever used by one request at a time (taken from and returned to the pool).
final class WriteRequestDecoderBox: @unchecked Sendable {
    let decoder = WriteRequestDecoder()
}
