import StrataModel

/// Where the metadata API reads metric metadata (HELP, TYPE, UNIT) received by remote write.
public protocol MetadataSource: Sendable {
    /// The latest metadata per metric family name.
    var metricMetadata: [String: MetricMetadata] { get }
}
