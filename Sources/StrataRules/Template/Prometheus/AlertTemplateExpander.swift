/// One Prometheus alert template expansion, as rules/alerting.go does it.
public struct AlertTemplateExpander: Sendable {
    /// The variables alerting rules define before the user's text.
    static let definitions = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

    public var alertName: String
    public var labels: [String: String]
    public var externalLabels: [String: String]
    public var externalURL: String
    public var value: Double
    public var timestamp: Int64
    public var query: (@Sendable (String, Int64) throws -> [TemplateSample])?

    public init(alertName: String, labels: [String: String], externalLabels: [String: String], externalURL: String,
                value: Double, timestamp: Int64, query: (@Sendable (String, Int64) throws -> [TemplateSample])?) {
        self.alertName = alertName
        self.labels = labels
        self.externalLabels = externalLabels
        self.externalURL = externalURL
        self.value = value
        self.timestamp = timestamp
        self.query = query
    }

    static func templateName(_ alertName: String) -> String { "__alert_" + alertName }

    /// Prometheus' AlertTemplateData struct.
    static func data(labels: [String: String], externalLabels: [String: String], externalURL: String, value: Double) -> GoValue {
        .structure(GoStruct(
            typeName: "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }",
            fields: [
                .init(name: "Labels", value: .stringMap(labels)),
                .init(name: "ExternalLabels", value: .stringMap(externalLabels)),
                .init(name: "ExternalURL", value: .string(externalURL)),
                .init(name: "Value", value: .float(value)),
            ]))
    }

    /// The rendered text, or the text Prometheus puts in its place when expansion fails
    /// (`<error expanding template: …>`), plus the error for logging.
    public func expand(_ text: String) -> (text: String, error: TemplateError?) {
        let name = Self.templateName(alertName)
        let template: GoTemplate
        do {
            template = try GoTemplate(name: name, text: Self.definitions + text,
                                      functionNames: PrometheusFunctions.names, missingKey: .zero)
        } catch {
            return Self.failure("error parsing template \(name): \(error.description)")
        }
        let query = self.query
        let timestamp = self.timestamp
        let functions = PrometheusFunctions.make(
            query: query.map { callback in { @Sendable expression in try callback(expression, timestamp) } },
            externalURL: externalURL)
        let data = Self.data(labels: labels, externalLabels: externalLabels, externalURL: externalURL, value: value)
        do {
            return (try template.execute(data: data, functions: functions), nil)
        } catch {
            return Self.failure("error executing template \(name): \(error.description)")
        }
    }

    private static func failure(_ message: String) -> (text: String, error: TemplateError?) {
        ("<error expanding template: \(message)>", TemplateError(message))
    }

    /// Parses (no execution) as rulefmt's testTemplateParsing does; the error is Prometheus' message.
    public static func parseTest(alertName: String, _ text: String) -> TemplateError? {
        do {
            _ = try GoTemplate(name: templateName(alertName), text: definitions + text,
                               functionNames: PrometheusFunctions.names, missingKey: .zero)
            return nil
        } catch {
            return error
        }
    }
}
