import Foundation

/// The function map Prometheus 2.42 installs for template expansion (template/template.go).
public struct PrometheusFunctions: Sendable {
    public typealias QueryFunction = @Sendable (String) throws -> [TemplateSample]

    public static let names: Set<String> = [
        "query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml", "match", "title",
        "toUpper", "toLower", "graphLink", "tableLink", "sortByLabel", "stripPort", "stripDomain", "humanize",
        "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime", "pathPrefix",
        "externalURL", "parseDuration",
    ]

    /// Builds the functions; `query` is nil when no query engine is available.
    public static func make(query: QueryFunction?, externalURL: String) -> [String: GoFunction] {
        var table: [String: GoFunction] = [:]
        func stringFunction(_ name: String, _ transform: @escaping @Sendable (String) -> String) {
            table[name] = GoFunction(parameters: [.string]) { args throws(FunctionError) in .string(transform(args[0].stringValue)) }
        }
        func floatFunction(_ name: String, _ transform: @escaping @Sendable (GoValue) throws(FunctionError) -> String) {
            table[name] = GoFunction(parameters: [.any]) { args throws(FunctionError) in .string(try transform(args[0])) }
        }

        table["query"] = GoFunction(parameters: [.string]) { args throws(FunctionError) in
            guard let query else { throw FunctionError("runtime error: invalid memory address or nil pointer dereference") }
            do {
                return .queryResult(try query(args[0].stringValue))
            } catch let error as TemplateError {
                throw FunctionError(error.description)
            } catch let error as FunctionError {
                throw error
            } catch {
                throw FunctionError("\(error)")
            }
        }
        table["first"] = GoFunction(parameters: [.queryResult]) { args throws(FunctionError) in
            guard case .queryResult(let samples) = args[0], let first = samples.first else {
                throw FunctionError("first() called on vector with no elements")
            }
            return .sample(first)
        }
        table["label"] = GoFunction(parameters: [.string, .samplePointer]) { args throws(FunctionError) in
            .string(try args[1].requireSample().labels[args[0].stringValue] ?? "")
        }
        table["value"] = GoFunction(parameters: [.samplePointer]) { args throws(FunctionError) in
            .float(try args[0].requireSample().value)
        }
        table["strvalue"] = GoFunction(parameters: [.samplePointer]) { args throws(FunctionError) in
            .string(try args[0].requireSample().labels["__value__"] ?? "")
        }
        table["args"] = GoFunction(parameters: [], variadic: .any) { args throws(FunctionError) in
            var map: [String: GoValue] = [:]
            for (index, arg) in args.enumerated() { map["arg\(index)"] = arg }
            return .anyMap(map)
        }
        table["reReplaceAll"] = GoFunction(parameters: [.string, .string, .string]) { args throws(FunctionError) in
            let pattern = args[0].stringValue
            let regexp: GoRegexp
            do {
                regexp = try GoRegexp(pattern)
            } catch let error as FunctionError {
                // regexp.MustCompile panics; text/template reports the panic value.
                throw FunctionError("regexp: Compile(\(GoRegexp.quoteForPanic(pattern))): \(error.message)")
            } catch {
                throw FunctionError("\(error)")
            }
            return .string(regexp.replaceAll(in: args[2].stringValue, with: args[1].stringValue))
        }
        table["safeHtml"] = GoFunction(parameters: [.string]) { args throws(FunctionError) in .html(args[0].stringValue) }
        table["match"] = GoFunction(parameters: [.string, .string]) { args throws(FunctionError) in
            .bool(try GoRegexp(args[0].stringValue).matches(args[1].stringValue))
        }
        stringFunction("title", GoStrings.title)
        stringFunction("toUpper", GoStrings.upper)
        stringFunction("toLower", GoStrings.lower)
        stringFunction("graphLink") { "/graph?g0.expr=\(Escaping.query($0))&g0.tab=0" }
        stringFunction("tableLink") { "/graph?g0.expr=\(Escaping.query($0))&g0.tab=1" }
        table["sortByLabel"] = GoFunction(parameters: [.string, .queryResult]) { args throws(FunctionError) in
            guard case .queryResult(let samples) = args[1] else { return args[1] }
            let label = args[0].stringValue
            // Stable sort: enumerate to break ties by original position.
            let sorted = samples.enumerated().sorted { lhs, rhs in
                let left = lhs.element.labels[label] ?? "", right = rhs.element.labels[label] ?? ""
                if left != right { return goStringLess(left, right) }
                return lhs.offset < rhs.offset
            }
            return .queryResult(sorted.map(\.element))
        }
        stringFunction("stripPort") { HostPort.split($0)?.host ?? $0 }
        stringFunction("stripDomain") { hostPort in
            let parts = HostPort.split(hostPort)
            let host = parts?.host ?? hostPort
            if HostPort.isIP(host) { return hostPort }
            let shortHost = String(host.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
            if let port = parts?.port, !port.isEmpty { return HostPort.join(shortHost, port) }
            return shortHost
        }
        floatFunction("humanize", Humanize.humanize)
        floatFunction("humanize1024", Humanize.humanize1024)
        floatFunction("humanizeDuration", Humanize.duration)
        floatFunction("humanizePercentage", Humanize.percentage)
        floatFunction("humanizeTimestamp", Humanize.timestamp)
        table["toTime"] = GoFunction(parameters: [.any]) { args throws(FunctionError) in
            let value = try FloatConversion.toFloat(args[0])
            if value.isNaN || value.isInfinite { throw FunctionError("value is NaN or Inf") }
            return .time(try Humanize.toTime(value))
        }
        let path = URLComponents(string: externalURL)?.path ?? ""
        table["pathPrefix"] = GoFunction(parameters: []) { _ throws(FunctionError) in .string(path) }
        table["externalURL"] = GoFunction(parameters: []) { _ throws(FunctionError) in .string(externalURL) }
        table["parseDuration"] = GoFunction(parameters: [.string]) { args throws(FunctionError) in
            .float(try PrometheusDuration.parse(args[0].stringValue))
        }
        return table
    }
}

extension GoValue {
    /// The Go string inside; callers only use it after the executor checked the type.
    var stringValue: String {
        switch self {
        case .string(let text), .html(let text): return text
        default: return ""
        }
    }

    /// Dereferencing a nil *sample panics in Go; text/template reports the runtime error.
    func requireSample() throws(FunctionError) -> TemplateSample {
        guard case .sample(let sample?) = self else {
            throw FunctionError("runtime error: invalid memory address or nil pointer dereference")
        }
        return sample
    }
}

extension GoRegexp {
    /// Go's `%q`-like backquoting used in regexp.MustCompile's panic text.
    static func quoteForPanic(_ pattern: String) -> String {
        GoQuote.canBackquote(pattern) ? "`\(pattern)`" : GoQuote.quote(pattern)
    }
}
