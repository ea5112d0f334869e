/// A template failure, carrying exactly the text Go (and Prometheus) would report.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
