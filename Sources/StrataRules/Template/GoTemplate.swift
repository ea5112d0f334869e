/// A parsed Go text/template: parse once, execute many times with data and functions.
public struct GoTemplate: Sendable {
    public let name: String
    let text: String
    let trees: [String: TemplateTree]
    public var missingKey: MissingKeyMode

    /// Parses `text`; `functionNames` are the functions the template may call
    /// besides Go's builtins (an unknown name is a parse error, as in Go).
    public init(name: String, text: String, functionNames: Set<String> = [], missingKey: MissingKeyMode = .invalid) throws(TemplateError) {
        self.name = name
        self.text = text
        self.missingKey = missingKey
        do {
            trees = try TemplateParser.parse(name: name, text: text, functionNames: functionNames.union(Builtins.functions.keys))
        } catch {
            throw TemplateError(error.message)
        }
    }

    /// Runs the template. `functions` are added to (and override) Go's builtins.
    public func execute(data: GoValue, functions: [String: GoFunction] = [:]) throws(TemplateError) -> String {
        let executor = Executor(template: self, functions: Builtins.functions.merging(functions) { _, custom in custom })
        try executor.run(data: data)
        return executor.output
    }
}

