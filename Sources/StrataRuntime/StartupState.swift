import Synchronization

/// Whether the server has finished starting (WAL replay), and how far replay has come. Until it is
/// ready, `/-/ready` answers 503 and writes and queries answer 503 so clients retry.
public final class StartupState: Sendable {
    public struct WALReplay: Sendable, Equatable {
        public var min = 0, max = 0, current = 0
        public init(min: Int = 0, max: Int = 0, current: Int = 0) { self.min = min; self.max = max; self.current = current }
    }

    private let ready: Atomic<Bool>
    private let replay = Mutex(WALReplay())

    public init(ready: Bool) { self.ready = Atomic(ready) }

    public var isReady: Bool { ready.load(ordering: .acquiring) }
    public func markReady() { ready.store(true, ordering: .releasing) }

    public var walReplay: WALReplay { replay.withLock { $0 } }
    public func setWALReplay(_ p: WALReplay) { replay.withLock { $0 = p } }
}
