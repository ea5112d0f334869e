import StrataModel
import StrataStorage

/// `--receive.split-tenant-label-name`: each series goes to the tenant its label names (the
/// label removed, as Thanos Receive removes it), or to the request's tenant without one. Each
/// tenant's part commits all or nothing; a request that spans tenants commits them one after
/// another, as Thanos Receive does.
final class SplitTenantAppender: Appender {
    let writer: any TenantAppendable
    let defaultTenant: String
    /// The label's name as it appears in a label blob (its bytes).
    private let labelName: [UInt8]
    private var appenders: [String: TenantAppender] = [:]
    /// The last tenant a series went to, by its name's bytes: consecutive series of one tenant
    /// need no dictionary lookup or String.
    private var lastTenant: (bytes: [UInt8], appender: TenantAppender)?
    /// The series' labels without the tenant label, reused from series to series.
    private var scratch: [UInt8] = []

    init(writer: any TenantAppendable, defaultTenant: String, labelName: String) {
        self.writer = writer
        self.defaultTenant = defaultTenant
        self.labelName = Array(labelName.utf8)
    }

    private func appender(_ tenant: String) -> TenantAppender {
        if let a = appenders[tenant] { return a }
        let a = TenantAppender(writer: writer, tenant: tenant)
        appenders[tenant] = a
        return a
    }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        // Where the tenant label is in the blob: [start, end) of the whole pair, and its value.
        var i = 0
        var found: (start: Int, end: Int, value: Range<Int>)?
        while i < labels.count {
            let start = i
            let nl = LabelBlob.readUvarint(labels, &i)
            let name = i ..< i + nl
            i += nl
            let vl = LabelBlob.readUvarint(labels, &i)
            let value = i ..< i + vl
            i += vl
            if nl == labelName.count, labelName.withUnsafeBytes({ LabelBlob.compareBytes(UnsafeRawBufferPointer(rebasing: labels[name]), $0) == 0 }) {
                found = (start, i, value)
                break
            }
        }
        guard let found else { return appender(defaultTenant).append(labels: labels, samples: samples) }
        let value = UnsafeRawBufferPointer(rebasing: labels[found.value])
        let target: TenantAppender
        if let last = lastTenant, last.bytes.withUnsafeBytes({ LabelBlob.compareBytes($0, value) == 0 }) {
            target = last.appender
        } else {
            let tenant = String(decoding: value, as: UTF8.self)
            if let problem = TenantOptions.problem(tenant) {
                return AppendResult(rejected: samples.count, firstFailure: samples.isEmpty ? nil
                    : (0, .invalidLabels("label \(String(decoding: labelName, as: UTF8.self))=\(goQuoteASCII(tenant)) does not name a valid tenant: \(problem)")))
            }
            target = appender(tenant)
            lastTenant = (Array(value), target)
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: labels[..<found.start]))
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: labels[found.end...]))
        return scratch.withUnsafeBytes { target.append(labels: $0, samples: samples) }
    }

    func appendMetadata(_ metadata: MetricMetadata) { appender(defaultTenant).appendMetadata(metadata) }

    func commit() throws {
        var firstError: (any Error)?
        for a in appenders.values {
            do { try a.commit() } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
    }

    func rollback() { for a in appenders.values { a.rollback() } }
}
