import StrataModel
import StrataStorage

/// A write's appender into its tenant's storage, opened at the first series: a request that
/// fails to decode creates no tenant. A tenant whose storage cannot be opened (a full disk)
/// refuses every series and fails the commit, so the request gets a 5xx and is retried.
final class TenantAppender: Appender {
    let writer: any TenantAppendable
    let tenant: String
    private var base: (any Appender)?
    private var openError: (any Error)?

    init(writer: any TenantAppendable, tenant: String) { self.writer = writer; self.tenant = tenant }

    private func opened() -> (any Appender)? {
        if let base { return base }
        if openError != nil { return nil }
        do { base = try writer.appender(tenant: tenant) } catch { openError = error }
        return base
    }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        guard let base = opened() else {
            return AppendResult(rejected: samples.count, firstFailure: samples.isEmpty ? nil : (0, .unsupported("tenant \(tenant)'s storage cannot be opened")))
        }
        return base.append(labels: labels, samples: samples)
    }

    func appendMetadata(_ metadata: MetricMetadata) { opened()?.appendMetadata(metadata) }

    func commit() throws {
        if let openError { throw StorageError.wrapping(openError, "opening tenant \(tenant)'s storage") }
        try base?.commit()
    }

    func rollback() { base?.rollback() }
}
