/// Go's predefined template functions, with their Go signatures.
enum Builtins {
    static let functions: [String: GoFunction] = {
        var table: [String: GoFunction] = [:]
        var and = GoFunction(parameters: [.reflectValue], variadic: .reflectValue) { args throws(FunctionError) in args.last! }
        and.shortCircuit = .and
        table["and"] = and
        var or = GoFunction(parameters: [.reflectValue], variadic: .reflectValue) { args throws(FunctionError) in args.last! }
        or.shortCircuit = .or
        table["or"] = or
        table["not"] = GoFunction(parameters: [.reflectValue]) { args throws(FunctionError) in .bool(!args[0].truth) }
        table["len"] = GoFunction(parameters: [.reflectValue]) { args throws(FunctionError) in try length(args[0]) }
        table["index"] = GoFunction(parameters: [.reflectValue], variadic: .reflectValue) { args throws(FunctionError) in
            try index(args[0], Array(args.dropFirst()))
        }
        table["slice"] = GoFunction(parameters: [.reflectValue], variadic: .reflectValue) { args throws(FunctionError) in
            try slice(args[0], Array(args.dropFirst()))
        }
        table["print"] = GoFunction(parameters: [], variadic: .any) { args throws(FunctionError) in .string(GoPrinter.sprint(args)) }
        table["println"] = GoFunction(parameters: [], variadic: .any) { args throws(FunctionError) in .string(GoPrinter.sprintln(args)) }
        table["printf"] = GoFunction(parameters: [.string], variadic: .any) { args throws(FunctionError) in
            guard case .string(let format) = args[0] else { return .string("") }
            return .string(GoPrinter.sprintf(format, Array(args.dropFirst())))
        }
        table["html"] = GoFunction(parameters: [], variadic: .any) { args throws(FunctionError) in .string(Escaping.html(joined(args))) }
        table["js"] = GoFunction(parameters: [], variadic: .any) { args throws(FunctionError) in .string(Escaping.javaScript(joined(args))) }
        table["urlquery"] = GoFunction(parameters: [], variadic: .any) { args throws(FunctionError) in .string(Escaping.query(joined(args))) }
        table["eq"] = GoFunction(parameters: [.reflectValue], variadic: .reflectValue) { args throws(FunctionError) in
            .bool(try Comparison.eq(args[0], Array(args.dropFirst())))
        }
        table["ne"] = GoFunction(parameters: [.reflectValue, .reflectValue]) { args throws(FunctionError) in
            .bool(!(try Comparison.eq(args[0], [args[1]])))
        }
        table["lt"] = GoFunction(parameters: [.reflectValue, .reflectValue]) { args throws(FunctionError) in
            .bool(try Comparison.lt(args[0], args[1]))
        }
        table["le"] = GoFunction(parameters: [.reflectValue, .reflectValue]) { args throws(FunctionError) in
            .bool(try Comparison.le(args[0], args[1]))
        }
        table["gt"] = GoFunction(parameters: [.reflectValue, .reflectValue]) { args throws(FunctionError) in
            .bool(!(try Comparison.le(args[0], args[1])))
        }
        table["ge"] = GoFunction(parameters: [.reflectValue, .reflectValue]) { args throws(FunctionError) in
            .bool(!(try Comparison.lt(args[0], args[1])))
        }
        table["call"] = GoFunction(parameters: [.reflectValue], variadic: .reflectValue) { args throws(FunctionError) in
            // Template data here never holds Go func values, so call can only fail as Go does for non-functions.
            if case .invalid = args[0] { throw FunctionError("call of nil") }
            throw FunctionError("non-function of type \(args[0].typeName)")
        }
        return table
    }()

    /// Go's evalArgs for html/js/urlquery: one string as is, otherwise Sprint of printable values.
    private static func joined(_ args: [GoValue]) -> String {
        if args.count == 1, case .string(let text) = args[0] { return text }
        return args.map { GoPrinter.templateString($0) }.enumerated().reduce(into: "") { out, entry in
            let isString = !(args[entry.offset].isValid == false) && args[entry.offset].isStringKind || !args[entry.offset].isValid
            let previousIsString = entry.offset > 0 && (args[entry.offset - 1].isStringKind || !args[entry.offset - 1].isValid)
            if entry.offset > 0 && !isString && !previousIsString { out += " " }
            out += entry.element
        }
    }

    private static func length(_ value: GoValue) throws(FunctionError) -> GoValue {
        switch value {
        case .string(let text), .html(let text): return .int(text.utf8.count)
        case .stringMap(let map): return .int(map.count)
        case .anyMap(let map): return .int(map.count)
        case .list(let items): return .int(items.count)
        case .queryResult(let samples): return .int(samples.count)
        case .sample(nil), .time(nil): throw FunctionError("len of nil pointer")
        case .invalid: throw FunctionError("reflect: call of reflect.Value.Type on zero Value")
        case .sample: throw FunctionError("len of type template.sample")
        case .time: throw FunctionError("len of type time.Time")
        default: throw FunctionError("len of type \(value.typeName)")
        }
    }

    private static func position(_ index: GoValue, length: Int) throws(FunctionError) -> Int {
        let value: Int
        switch index {
        case .int(let int): value = int
        case .uint8(let byte): value = Int(byte)
        case .invalid: throw FunctionError("cannot index slice/array with nil")
        default: throw FunctionError("cannot index slice/array with type \(index.typeName)")
        }
        if value < 0 || value > length { throw FunctionError("index out of range: \(value)") }
        return value
    }

    private static func index(_ item: GoValue, _ indexes: [GoValue]) throws(FunctionError) -> GoValue {
        if case .invalid = item { throw FunctionError("index of untyped nil") }
        var current = item
        for index in indexes {
            switch current {
            case .string(let text), .html(let text):
                let bytes = Array(text.utf8)
                let at = try position(index, length: bytes.count)
                if at == bytes.count { throw FunctionError("reflect: string index out of range") }
                current = .uint8(bytes[at])
            case .list(let items):
                let at = try position(index, length: items.count)
                if at == items.count { throw FunctionError("reflect: slice index out of range") }
                current = items[at]
            case .queryResult(let samples):
                let at = try position(index, length: samples.count)
                if at == samples.count { throw FunctionError("reflect: slice index out of range") }
                current = .sample(samples[at])
            case .stringMap(let map):
                current = .string(map[try mapKey(index)] ?? "")
            case .anyMap(let map):
                current = map[try mapKey(index)] ?? .invalid
            case .sample(nil), .time(nil):
                throw FunctionError("index of nil pointer")
            case .sample:
                throw FunctionError("can't index item of type template.sample")
            default:
                throw FunctionError("can't index item of type \(current.typeName)")
            }
        }
        return current
    }

    private static func mapKey(_ index: GoValue) throws(FunctionError) -> String {
        switch index {
        case .string(let key): return key
        case .invalid: throw FunctionError("value is nil; should be of type string")
        default: throw FunctionError("value has type \(index.typeName); should be string")
        }
    }

    private static func slice(_ item: GoValue, _ indexes: [GoValue]) throws(FunctionError) -> GoValue {
        if case .invalid = item { throw FunctionError("slice of untyped nil") }
        if indexes.count > 3 { throw FunctionError("too many slice indexes: \(indexes.count)") }
        let length: Int
        switch item {
        case .string(let text):
            if indexes.count == 3 { throw FunctionError("cannot 3-index slice a string") }
            length = text.utf8.count
        case .list(let items): length = items.count
        case .queryResult(let samples): length = samples.count
        default: throw FunctionError("can't slice item of type \(item.typeName)")
        }
        var bounds = [0, length]
        for (position, index) in indexes.enumerated() {
            bounds[min(position, 1)] = try self.position(index, length: length)
            if position == 2 { break }
        }
        if bounds[0] > bounds[1] { throw FunctionError("invalid slice index: \(bounds[0]) > \(bounds[1])") }
        switch item {
        case .string(let text):
            return .string(String(decoding: Array(text.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
        case .list(let items):
            return .list(Array(items[bounds[0]..<bounds[1]]))
        case .queryResult(let samples):
            return .queryResult(Array(samples[bounds[0]..<bounds[1]]))
        default:
            return item
        }
    }
}
