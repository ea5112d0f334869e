import StrataModel

/// Where the metadata API reads metric metadata (HELP, TYPE, UNIT) received by remote write.
public protocol MetadataSource: Sendable {
    /// The latest metadata of each metric family, sorted bytewise by name (names are compared
    /// as bytes, like label values).
    var metricMetadata: [MetricMetadata] { get }
}
