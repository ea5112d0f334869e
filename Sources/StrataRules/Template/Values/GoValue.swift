/// A point in time as Go's time.Time holds it (always shown in UTC here).
public struct GoTime: Sendable, Equatable {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// A Go struct value: its type's printed name and its exported fields in declaration order.
public struct GoStruct: Sendable {
    public struct Field: Sendable {
        public var name: String
        public var value: GoValue
        public init(name: String, value: GoValue) {
            self.name = name
            self.value = value
        }
    }

    public var typeName: String
    public var fields: [Field]

    public init(typeName: String, fields: [Field]) {
        self.typeName = typeName
        self.fields = fields
    }

    func field(named name: String) -> GoValue? {
        fields.first { $0.name == name }?.value
    }
}

/// The dynamic values a template works with, each standing for one Go type
/// so that printing, truthiness and error messages follow Go.
public indirect enum GoValue: Sendable {
    /// reflect.Value{}: a missing value or a nil interface.
    case invalid
    case bool(Bool)
    case int(Int)
    case uint8(UInt8)
    case float(Double)
    case string(String)
    /// html/template.HTML, what Prometheus' safeHtml returns.
    case html(String)
    case stringMap([String: String])
    /// map[string]interface{}, what Prometheus' args returns.
    case anyMap([String: GoValue])
    /// []interface{}.
    case list([GoValue])
    /// Prometheus' template.queryResult ([]*sample).
    case queryResult([TemplateSample])
    /// *template.sample; nil when absent.
    case sample(TemplateSample?)
    /// *time.Time; nil when absent.
    case time(GoTime?)
    case structure(GoStruct)

    /// The type as Go's reflect prints it, for error messages and %!verb(type=value).
    public var typeName: String {
        switch self {
        case .invalid: return "<nil>"
        case .bool: return "bool"
        case .int: return "int"
        case .uint8: return "uint8"
        case .float: return "float64"
        case .string: return "string"
        case .html: return "template.HTML"
        case .stringMap: return "map[string]string"
        case .anyMap: return "map[string]interface {}"
        case .list: return "[]interface {}"
        case .queryResult: return "template.queryResult"
        case .sample: return "*template.sample"
        case .time: return "*time.Time"
        case .structure(let value): return value.typeName
        }
    }

    var isValid: Bool {
        if case .invalid = self { return false }
        return true
    }

    /// Go's isTrue: zero values, empty containers and nil pointers are false.
    var truth: Bool {
        switch self {
        case .invalid: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .uint8(let value): return value != 0
        case .float(let value): return value != 0
        case .string(let value), .html(let value): return !value.isEmpty
        case .stringMap(let value): return !value.isEmpty
        case .anyMap(let value): return !value.isEmpty
        case .list(let value): return !value.isEmpty
        case .queryResult(let value): return !value.isEmpty
        case .sample(let value): return value != nil
        case .time(let value): return value != nil
        case .structure: return true
        }
    }
}

/// Byte-wise ordering, as Go compares strings.
func goStringLess(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
}
