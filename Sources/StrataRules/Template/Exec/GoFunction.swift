/// The Go parameter types template functions declare; they decide how
/// arguments are converted and which errors Go reports.
public enum ParameterType: Sendable, Equatable {
    case string, float64, int, bool
    /// interface{}
    case any
    /// reflect.Value (Go's builtins): anything, untyped nil allowed.
    case reflectValue
    case queryResult
    case samplePointer

    var goName: String {
        switch self {
        case .string: return "string"
        case .float64: return "float64"
        case .int: return "int"
        case .bool: return "bool"
        case .any: return "interface {}"
        case .reflectValue: return "reflect.Value"
        case .queryResult: return "template.queryResult"
        case .samplePointer: return "*template.sample"
        }
    }

    var canBeNil: Bool {
        switch self {
        case .any, .reflectValue, .queryResult, .samplePointer: return true
        default: return false
        }
    }

    /// reflect.Zero of the type, used for untyped nil.
    var zeroValue: GoValue {
        switch self {
        case .queryResult: return .queryResult([])
        case .samplePointer: return .sample(nil)
        default: return .invalid
        }
    }

    func accepts(_ value: GoValue) -> Bool {
        switch (self, value) {
        case (.any, _), (.reflectValue, _): return true
        case (.string, .string), (.float64, .float), (.int, .int), (.bool, .bool),
             (.queryResult, .queryResult), (.samplePointer, .sample):
            return true
        default:
            return false
        }
    }
}

/// An error returned by a template function; the executor reports it as "error calling NAME: message".
public struct FunctionError: Error, Sendable {
    public var message: String
    public init(_ message: String) {
        self.message = message
    }
}

/// A function callable from templates, with its Go signature.
public struct GoFunction: Sendable {
    public var parameters: [ParameterType]
    /// The element type of a trailing ...parameter, if any.
    public var variadic: ParameterType?
    public var body: @Sendable ([GoValue]) throws(FunctionError) -> GoValue
    /// Go's and/or stop evaluating arguments once the result is known.
    var shortCircuit: ShortCircuit?

    enum ShortCircuit { case and, or }

    public init(parameters: [ParameterType], variadic: ParameterType? = nil,
                body: @escaping @Sendable ([GoValue]) throws(FunctionError) -> GoValue) {
        self.parameters = parameters
        self.variadic = variadic
        self.body = body
    }
}
