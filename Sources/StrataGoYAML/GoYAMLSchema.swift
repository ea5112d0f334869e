import Foundation
public import Yams

/// The typed shape of one Go configuration struct, key by key as its `yaml:"…"` tags declare it
/// (thanos-io/objstore's bucket configs, exporter-toolkit's web config, Thanos' limits file).
/// Their programs decode them with yaml.v2's `UnmarshalStrict`, so a key the struct lacks, or a
/// value its field's type cannot hold, is an error at any depth; decoding against the same shapes
/// refuses the same files.
public struct GoYAMLSchema: Sendable {
    /// The Go type's name, as yaml.v2's messages spell it (`s3.Config`, `exthttp.HTTPConfig`).
    public let goType: String
    public let fields: [String: FieldType]
    /// False for a struct decoded with the lax `yaml.Unmarshal` (objstore's filesystem provider).
    public var strict = true

    public init(goType: String, fields: [String: FieldType], strict: Bool = true) {
        self.goType = goType
        self.fields = fields
        self.strict = strict
    }

    public enum FieldType: Sendable {
        /// A Go `string` (or a named string type): any scalar, as written.
        case string(goType: String = "string")
        case bool
        case int(GoInt)
        /// `float64`: any number (integers too).
        case float64
        /// `map[string]T` of a struct (or pointer to one): each value decoded as `schema`.
        case objectMap(GoYAMLSchema)
        /// `model.Duration` (prometheus/common): `90s`, `1m30s`, `1d`; not Go's `1.5s` or `300us`.
        case duration
        /// `map[string]string`.
        case stringMap
        /// `[]string`, or a list of a string type whose `UnmarshalYAML` checks each item
        /// (`allowed` nil: any string).
        case stringList(goType: String = "[]string", allowed: [String]? = nil, message: String = "")
        /// A string type whose own `UnmarshalYAML` takes only `allowed` and otherwise fails with
        /// `message` followed by the value (`s3.BucketLookupType`).
        case oneOf(goType: String, allowed: [String], message: String)
        case object(GoYAMLSchema)
        /// `[]T` of a struct: each item decoded as `schema`.
        case objectList(GoYAMLSchema)
        /// `interface{}`: anything (`client.BucketConfig.config`, which the provider decodes).
        case any

        /// The Go type, for "cannot unmarshal … into T".
        var goName: String {
            switch self {
            case .string(let t), .oneOf(let t, _, _): return t
            case .bool: return "bool"
            case .int(let i): return i.rawValue
            case .float64: return "float64"
            case .objectMap(let s): return "map[string]*" + s.goType
            case .duration: return "model.Duration"
            case .stringMap: return "map[string]string"
            case .stringList(let t, _, _): return t
            case .object(let s): return s.goType
            case .objectList(let s): return "[]" + s.goType
            case .any: return "interface {}"
            }
        }
    }

    /// The Go integer types these structs use, each with its range.
    public enum GoInt: String, Sendable {
        case int, int32, int64, uint64

        /// The value in decimal if it fits, as yaml.v2 converts: integers in range, and floats
        /// truncated toward zero (`max_retries: 2.0` is 2 in Go too).
        func canonical(_ value: ResolvedScalar) -> String? {
            switch value {
            case .int(let v):
                switch self {
                case .int, .int64: return String(v)
                case .int32: return Int32(exactly: v).map { String($0) }
                case .uint64: return v >= 0 ? String(v) : nil
                }
            case .uint(let v):
                return self == .uint64 ? String(v) : nil
            case .float(let f):
                guard f.isFinite else { return nil }
                let t = f.rounded(.towardZero)
                switch self {
                case .int, .int64: return Int64(exactly: t).map { String($0) }
                case .int32: return Int32(exactly: t).map { String($0) }
                case .uint64: return UInt64(exactly: t).map { String($0) }
                }
            default:
                return nil
            }
        }
    }
}

// MARK: - Decoding

/// One decoded struct: the canonical text of each scalar field that is set (booleans `true` or
/// `false`, integers in decimal, strings as written), the decoded nested structs, and the node of
/// every field that is set. A field set to YAML null is absent: Go's zero value.
public struct DecodedFields {
    public var scalars: [String: String] = [:]
    public var objects: [String: DecodedFields] = [:]
    public var nodes: [String: Node] = [:]
    /// `map[string]struct` fields: each key with its decoded struct, in file order.
    public var objectMaps: [String: [(key: String, value: DecodedFields)]] = [:]
    /// `[]struct` fields: each item decoded, in file order.
    public var objectLists: [String: [DecodedFields]] = [:]

    public init() {}

    public func string(_ key: String) -> String { scalars[key] ?? "" }
    public func bool(_ key: String) -> Bool { scalars[key] == "true" }
    public func int(_ key: String) -> Int64 { scalars[key].flatMap { Int64($0) } ?? 0 }
    public func object(_ key: String) -> DecodedFields { objects[key] ?? DecodedFields() }
    public func objectList(_ key: String) -> [DecodedFields] { objectLists[key] ?? [] }
    /// A `map[string]string` field's pairs in file order (null values are empty strings).
    public func stringMap(_ key: String) -> [(key: String, value: String)] {
        guard case .mapping(let m)? = nodes[key] else { return [] }
        return m.compactMap { k, v in
            guard let name = k.scalar?.string, let value = v.scalar else { return nil }
            return (name, GoYAMLDecoder.isNull(v) ? "" : value.string)
        }
    }
    /// A `[]string` field's items.
    public func stringList(_ key: String) -> [String] {
        guard case .sequence(let s)? = nodes[key] else { return [] }
        return s.compactMap { $0.scalar?.string }
    }

    mutating func clear(_ key: String) { scalars[key] = nil; objects[key] = nil; nodes[key] = nil; objectMaps[key] = nil; objectLists[key] = nil }
}

/// A plain scalar as yaml.v2 resolves it (YAML 1.1: `yes`, `on` and `y` are booleans, `0x1F` and
/// `1e3` numbers). Quoted scalars are always strings.
enum ResolvedScalar: Equatable {
    case null, bool(Bool), int(Int64), uint(UInt64), float(Double), string

    /// yaml.v2's short tag, for its "cannot unmarshal !!str `…`" messages.
    var tag: String {
        switch self {
        case .null: return "!!null"
        case .bool: return "!!bool"
        case .int, .uint: return "!!int"
        case .float: return "!!float"
        case .string: return "!!str"
        }
    }

    /// Words that resolve by themselves (yaml.v2's `resolve.go` table).
    private static let words: [String: ResolvedScalar] = {
        var w: [String: ResolvedScalar] = [:]
        for s in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"] { w[s] = .bool(true) }
        for s in ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"] { w[s] = .bool(false) }
        for s in ["", "~", "null", "Null", "NULL"] { w[s] = .null }
        for s in [".nan", ".NaN", ".NAN"] { w[s] = .float(.nan) }
        for s in [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"] { w[s] = .float(.infinity) }
        for s in ["-.inf", "-.Inf", "-.INF"] { w[s] = .float(-.infinity) }
        return w
    }()

    init(_ scalar: Node.Scalar) {
        // Explicit tags (`!!str 5`) are not consulted: Yams has already resolved every tag with
        // its own rules, which are not yaml.v2's, so the text and its style are what is left.
        guard scalar.style == .plain else { self = .string; return }
        let text = scalar.string
        if let word = Self.words[text] { self = word; return }
        guard let first = text.first else { self = .null; return }
        if first == "." {
            self = Double(text).map { .float($0) } ?? .string
            return
        }
        guard first == "+" || first == "-" || first.isASCII && first.isNumber else { self = .string; return }
        // yaml.v2 drops underscores, then tries Go's ParseInt/ParseUint (base prefixes 0x, 0o,
        // 0b, and a leading 0 for octal), then YAML's float syntax.
        let plain = text.replacingOccurrences(of: "_", with: "")
        if let n = Self.goInteger(plain) { self = n; return }
        if plain.wholeMatch(of: /[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/) != nil, let d = Double(plain) {
            self = .float(d)
            return
        }
        self = .string
    }

    /// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint` above `Int64.max`.
    private static func goInteger(_ s: String) -> ResolvedScalar? {
        var body = Substring(s)
        let negative = body.first == "-"
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        var radix = 10
        switch body.prefix(2).lowercased() {
        case "0x": radix = 16; body = body.dropFirst(2)
        case "0o": radix = 8; body = body.dropFirst(2)
        case "0b": radix = 2; body = body.dropFirst(2)
        default: if body.count > 1 && body.first == "0" { radix = 8; body = body.dropFirst() }
        }
        // UInt64(_:radix:) would take a second sign; Go would not.
        guard body.allSatisfy({ $0.isHexDigit }), let magnitude = UInt64(body, radix: radix) else { return nil }
        if !negative { return magnitude <= UInt64(Int64.max) ? .int(Int64(magnitude)) : .uint(magnitude) }
        if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
        return magnitude == UInt64(Int64.max) + 1 ? .int(.min) : nil
    }
}

/// A whole YAML document decoded against `schema`, with every problem in one error
/// (`what: yaml: unmarshal errors:` and one line per problem, as yaml.v2 reports them).
/// An empty document is the zero struct.
public func decodeGoYAML(_ text: String, as schema: GoYAMLSchema, what: String) throws -> DecodedFields {
    let root: Node?
    do { root = try Yams.compose(yaml: text) } catch { throw GoYAMLError(description: "\(what): \(error)") }
    guard let root else { return DecodedFields() }
    var decoder = GoYAMLDecoder()
    let fields = decoder.decode(root, as: schema)
    guard decoder.errors.isEmpty else {
        throw GoYAMLError(description: "\(what): yaml: unmarshal errors:\n  " + decoder.errors.joined(separator: "\n  "))
    }
    return fields
}

public struct GoYAMLError: Error, CustomStringConvertible {
    public let description: String
}

/// Decodes YAML nodes against schemas as yaml.v2's `UnmarshalStrict` does, collecting every
/// problem (yaml.v2 collects type errors but stops at a custom unmarshaler's; reporting them all
/// costs nothing and saves a round trip). Each message is yaml.v2's, with the line in the file
/// and, for a value, the field it was for, which yaml.v2 leaves out.
public struct GoYAMLDecoder {
    public private(set) var errors: [String] = []

    public init() {}

    /// A YAML null (`~`, `null`, nothing), which Go decodes to the field's zero value.
    public static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node else { return false }
        return ResolvedScalar(s) == .null
    }

    /// `node` decoded as one `schema` struct; null is the zero struct.
    public mutating func decode(_ node: Node, as schema: GoYAMLSchema, context: String? = nil) -> DecodedFields {
        var out = DecodedFields()
        if Self.isNull(node) { return out }
        guard case .mapping(let mapping) = node else {
            typeError(node, into: schema.goType, context)
            return out
        }
        for (key, value) in pairs(of: mapping) {
            guard case .scalar(let k) = key else { typeError(key, into: "string", nil); continue }
            let name = k.string
            guard let type = schema.fields[name] else {
                if schema.strict { fail(key, "field \(name) not found in type \(schema.goType)") }
                continue
            }
            out.clear(name) // a later key replaces what a merge (`<<`) set
            if Self.isNull(value) { continue }
            let field = "field \(name) in type \(schema.goType)"
            switch type {
            case .any:
                out.nodes[name] = value
            case .object(let nested):
                out.objects[name] = decode(value, as: nested, context: field)
                out.nodes[name] = value
            case .stringMap:
                checkStringMap(value, field)
                out.nodes[name] = value
            case .objectMap(let nested):
                guard case .mapping(let m) = value else { typeError(value, into: type.goName, field); continue }
                out.objectMaps[name] = pairs(of: m).compactMap { k, v in
                    guard let key = k.scalar?.string else { typeError(k, into: "string", field); return nil }
                    return (key, decode(v, as: nested, context: field))
                }
                out.nodes[name] = value
            case .objectList(let nested):
                guard case .sequence(let items) = value else { typeError(value, into: type.goName, field); continue }
                out.objectLists[name] = items.map { decode($0, as: nested, context: field) }
                out.nodes[name] = value
            case .stringList(let goType, let allowed, let message):
                checkStringList(value, goType: goType, allowed: allowed, message: message, field)
                out.nodes[name] = value
            default:
                if let text = scalar(value, as: type, field) {
                    out.scalars[name] = text
                    out.nodes[name] = value
                }
            }
        }
        return out
    }

    /// The mapping's pairs with merge keys (`<<: *defaults`) expanded where they stand, as yaml.v2
    /// applies them: in order, a later pair overriding an earlier one, and in a sequence of merged
    /// mappings the first winning.
    private mutating func pairs(of mapping: Node.Mapping) -> [(key: Node, value: Node)] {
        var out: [(key: Node, value: Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let k) = key, k.style == .plain, k.string == "<<" else {
                out.append((key, value))
                continue
            }
            switch value {
            case .mapping(let merged):
                out += pairs(of: merged)
            case .sequence(let list) where list.allSatisfy({ $0.mapping != nil }):
                for case .mapping(let merged) in list.reversed() { out += pairs(of: merged) }
            default:
                fail(key, "map merge requires map or sequence of maps as the value")
            }
        }
        return out
    }

    /// A scalar field's canonical text, or nil after recording why the value does not fit.
    private mutating func scalar(_ node: Node, as type: GoYAMLSchema.FieldType, _ field: String) -> String? {
        guard case .scalar(let s) = node else {
            // Durations and lookup types unmarshal a Go string first, so that is what fails.
            switch type {
            case .duration, .oneOf: typeError(node, into: "string", field)
            default: typeError(node, into: type.goName, field)
            }
            return nil
        }
        switch type {
        case .string:
            return s.string
        case .bool:
            if case .bool(let b) = ResolvedScalar(s) { return b ? "true" : "false" }
        case .int(let goInt):
            if let text = goInt.canonical(ResolvedScalar(s)) { return text }
        case .duration:
            guard let problem = Self.durationProblem(s.string) else { return s.string }
            fail(node, problem, field)
            return nil
        case .oneOf(_, let allowed, let message):
            if allowed.contains(s.string) { return s.string }
            fail(node, message + s.string, field)
            return nil
        case .float64:
            switch ResolvedScalar(s) {
            case .int(let v): return String(Double(v))
            case .uint(let v): return String(Double(v))
            case .float(let f): return String(f)
            default: break
            }
        case .stringMap, .stringList, .object, .objectMap, .objectList, .any: // decoded by `decode` itself; never asked here
            return s.string
        }
        typeError(node, into: type.goName, field)
        return nil
    }

    /// A `map[string]string`: a mapping of scalars (null values are empty strings in Go).
    private mutating func checkStringMap(_ node: Node, _ field: String) {
        guard case .mapping(let mapping) = node else {
            typeError(node, into: "map[string]string", field)
            return
        }
        for (key, value) in pairs(of: mapping) {
            if key.scalar == nil { typeError(key, into: "string", field) }
            if value.scalar == nil { typeError(value, into: "string", field) }
        }
    }

    /// A `[]string` (or a list of a checked string type): a sequence of scalars, each allowed.
    private mutating func checkStringList(_ node: Node, goType: String, allowed: [String]?, message: String, _ field: String) {
        guard case .sequence(let items) = node else {
            typeError(node, into: goType, field)
            return
        }
        for item in items {
            guard let s = item.scalar else { typeError(item, into: "string", field); continue }
            if let allowed, !allowed.contains(s.string) { fail(item, message + s.string, field) }
        }
    }

    /// Why `text` is not a `model.Duration`, in prometheus/common's (v0.44, objstore's) words, or
    /// nil when it is one: `0`, or whole numbers each with a unit (y, w, d, h, m, s, ms), largest
    /// unit first, each unit at most once, in all at most 2^63-1 ns.
    public static func durationProblem(_ text: String) -> String? {
        if text == "0" { return nil }
        if text.isEmpty { return "empty duration string" }
        let invalid = "not a valid duration string: \"\(text)\""
        let units: [(name: String, nanoseconds: UInt64)] = [
            ("y", 365 * 86_400 * 1_000_000_000), ("w", 7 * 86_400 * 1_000_000_000), ("d", 86_400 * 1_000_000_000),
            ("h", 3_600 * 1_000_000_000), ("m", 60 * 1_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000),
        ]
        func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }
        var rest = Substring(text), total: UInt64 = 0, lastUnit = -1
        while !rest.isEmpty {
            let digits = rest.prefix(while: isDigit)
            guard !digits.isEmpty, let n = UInt64(digits) else { return invalid }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix(while: { !isDigit($0) })
            guard !unit.isEmpty else { return invalid }
            rest = rest.dropFirst(unit.count)
            guard let index = units.firstIndex(where: { $0.name == unit }) else { return "unknown unit \"\(unit)\" in duration \"\(text)\"" }
            guard index > lastUnit else { return invalid }
            lastUnit = index
            guard n <= (1 << 63) / units[index].nanoseconds else { return "duration out of range" }
            total += n * units[index].nanoseconds
            guard total <= UInt64(Int64.max) else { return "duration out of range" }
        }
        return nil
    }

    /// yaml.v2's "cannot unmarshal !!str `maybe` into bool", its value cut to 7 characters past
    /// 10 (which also keeps long secrets out of logs).
    private mutating func typeError(_ node: Node, into goType: String, _ field: String?) {
        var shown = ""
        let tag: String
        switch node {
        case .scalar(let s):
            tag = ResolvedScalar(s).tag
            shown = s.string.count > 10 ? " `\(s.string.prefix(7))...`" : " `\(s.string)`"
        case .sequence: tag = "!!seq"
        default: tag = "!!map"
        }
        fail(node, "cannot unmarshal \(tag)\(shown) into \(goType)", field)
    }

    /// Records `message` at the node's line, with the field it concerns.
    private mutating func fail(_ node: Node, _ message: String, _ field: String? = nil) {
        let line = node.mark.map { "line \($0.line): " } ?? ""
        errors.append(line + message + (field.map { " (\($0))" } ?? ""))
    }
}
