/// One sample of a query result, as Prometheus hands it to templates.
public struct TemplateSample: Sendable, Equatable {
    public var labels: [String: String]
    public var value: Double

    public init(labels: [String: String], value: Double) {
        self.labels = labels
        self.value = value
    }

    /// The Go struct Prometheus uses: sample{Labels map[string]string; Value float64}.
    var goStruct: GoStruct {
        GoStruct(typeName: "template.sample", fields: [
            .init(name: "Labels", value: .stringMap(labels)),
            .init(name: "Value", value: .float(value)),
        ])
    }
}
