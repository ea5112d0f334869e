import Logging
import ServiceLifecycle
import StrataModel
import StrataRuntime
import StrataRules
import StrataStorage
import Synchronization

/// Runs the rule manager once the WAL has been replayed (rules evaluated on a half-loaded head
/// would record gaps and fire on missing data), and stops it at shutdown.
struct RulesService: Service {
    let manager: RuleManager
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        while !startup.isReady {
            do { try await Task.sleep(for: .milliseconds(100)) } catch { return }
            if Task.isCancelled { return }
        }
        try manager.start()
        try? await gracefulShutdown()
        manager.stop()
    }
}

/// Sends the rules' alerts to Alertmanager until shutdown; stopped after the rules (services stop
/// in reverse order), so alerts of their last evaluation still go out.
struct NotifierService: Service {
    let notifier: Notifier

    func run() async throws {
        await cancelWhenGracefulShutdown { await notifier.run() }
    }
}

/// Where recorded series and `ALERTS` go: one tenant's TSDB (the default tenant's), opened on
/// first use as a remote write would open it.
struct TenantWriter: Appendable {
    let tenants: any TenantAppendable
    let tenant: String

    func appender() -> any Appender {
        do { return try tenants.appender(tenant: tenant) } catch { return RefusingAppender(error: "\(error)") }
    }
}

/// An appender for storage that could not be opened: everything is refused, and the commit
/// says why (the rule's error in `/api/v1/rules`).
final class RefusingAppender: Appender {
    let error: String
    init(error: String) { self.error = error }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .unsupported(error)))
    }
    func appendMetadata(_ metadata: MetricMetadata) {}
    func commit() throws { throw StorageWriteError(message: error) }
    func rollback() {}

    struct StorageWriteError: Error, CustomStringConvertible { let message: String; var description: String { message } }
}

/// What `SIGHUP` and `POST /-/reload` run: set by `buildApplication` once the parts that can
/// reload exist (the rule files).
public final class Reloader: Sendable {
    private let action = Mutex<(@Sendable () throws -> Void)?>(nil)
    public init() {}

    func set(_ reload: @escaping @Sendable () throws -> Void) { action.withLock { $0 = reload } }

    /// Runs the reload; false when there is nothing to reload.
    @discardableResult
    public func reload() throws -> Bool {
        guard let a = action.withLock({ $0 }) else { return false }
        try a()
        return true
    }
}
