import StrataModel
import StrataPromQL

/// Alert templates in Go's `text/template` language with Prometheus' functions: what rule
/// evaluation renders labels and annotations with.
public struct GoAlertTemplater: AlertTemplater {
    /// `$externalLabels` and `$externalURL` (also `externalURL` and `pathPrefix`).
    public var externalLabels: [String: String]
    public var externalURL: String

    public init(externalLabels: [String: String] = [:], externalURL: String = "") {
        self.externalLabels = externalLabels
        self.externalURL = externalURL
    }

    public func expand(_ text: String, alertName: String, labels: Labels, value: Double, at t: Int64,
                       query: @escaping @Sendable (String, Int64) throws -> [VectorElement]) -> String {
        // Plain text, the common case, renders as itself without a parse.
        guard text.contains("{{") else { return text }
        let expander = AlertTemplateExpander(
            alertName: alertName, labels: labels.dictionary, externalLabels: externalLabels, externalURL: externalURL,
            value: value, timestamp: t,
            query: { expr, at in try query(expr, at).map { TemplateSample(labels: $0.labels.dictionary, value: $0.v) } })
        return expander.expand(text).text
    }
}

public enum AlertTemplates {
    /// rulefmt's template check of an alerting rule's labels and annotations (parse only).
    public static let parseCheck: @Sendable (_ alertName: String, _ text: String) -> String? = { alert, text in
        AlertTemplateExpander.parseTest(alertName: alert, text)?.description
    }
}
