import HTTPTypes

/// How a write names its tenant, as Thanos Receive reads it: the header `--receive.tenant-header`
/// names, else the literal `THANOS-TENANT` header, else `--receive.default-tenant-id`.
public struct TenantOptions: Sendable {
    public var header = "THANOS-TENANT"
    public var defaultTenant = "default-tenant"
    /// `--receive.tenant-certificate-field`: the client certificate names the tenant instead.
    public var certificateField: TenantCertificateField?
    public init() {}

    /// The request's tenant, or why its name is refused (a 400).
    func tenant(of headers: HTTPFields) -> Result<String, TenantNameError> {
        var name = HTTPField.Name(header).flatMap { headers[$0] } ?? ""
        if name.isEmpty, let literal = HTTPField.Name("THANOS-TENANT") { name = headers[literal] ?? "" }
        if name.isEmpty { name = defaultTenant }
        if let problem = Self.problem(name) { return .failure(TenantNameError(name: name, problem: problem)) }
        return .success(name)
    }

    /// Names the data directory uses beside the tenants' directories (`<tsdb.path>/<tenant>/`).
    public static let reservedNames: Set<String> = [
        "lost+found", "wal", "chunks_head", "bucket", "bucket-cache", "compact", "snapshots", "lock", "catalog.sqlite",
    ]

    /// Why `name` cannot name a tenant, nil when it can. Stricter than Thanos (which takes any
    /// `path.Base`): a tenant becomes a directory name and a label value, so only letters, digits,
    /// `_`, `-` and `.`, at most 128 of them, not `.` or `..`, and not a name the data directory
    /// uses for something else.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.count > 128 { return "it is longer than 128 bytes" }
        if name == "." || name == ".." { return "it is \(name)" }
        if reservedNames.contains(name) || name.hasPrefix("catalog.sqlite") {
            return "\(name) is reserved (the data directory uses it)"
        }
        guard name.utf8.allSatisfy({ c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: ".")
        }) else { return "only letters, digits, '_', '-' and '.' are allowed" }
        return nil
    }
}

/// Query-side tenancy, as Thanos' querier: with `enforce` (`--query.enforce-tenancy`) every
/// read is confined to the tenant its header (`--query.tenant-header`) names, or the default
/// tenant without one: each selector and `match[]` gets `<labelName>="<tenant>"`, replacing a
/// matcher of its own on that label, as prom-label-proxy injects it.
public struct QueryTenancyOptions: Sendable {
    public var enforce = false
    public var header = "THANOS-TENANT"
    public var defaultTenant = "default-tenant"
    /// `--query.tenant-label-name`: the label that carries the tenant.
    public var labelName = "tenant_id"
    public init() {}

    /// The tenant a read is confined to (nil without enforcement), or why its name is refused.
    func tenant(of headers: HTTPFields) -> Result<String?, TenantNameError> {
        guard enforce else { return .success(nil) }
        var name = HTTPField.Name(header).flatMap { headers[$0] } ?? ""
        if name.isEmpty { name = defaultTenant }
        if let problem = TenantOptions.problem(name) { return .failure(TenantNameError(name: name, problem: problem)) }
        return .success(name)
    }
}

struct TenantNameError: Error {
    let name: String
    let problem: String
    var message: String {
        // The name is shown escaped and cut: it came from a header and goes into logs.
        let shown = name.utf8.count > 64 ? String(decoding: Array(name.utf8.prefix(64)), as: UTF8.self) + "…" : name
        return "tenant name \(goQuoteASCII(shown)) not valid: \(problem)"
    }
}

/// Go's `%+q`: printable ASCII as is, everything else escaped.
func goQuoteASCII(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case " " ... "~": out.unicodeScalars.append(u)
        default: out += u.value <= 0xFFFF ? String(format: "\\u%04x", u.value) : String(format: "\\U%08x", u.value)
        }
    }
    return out + "\""
}
