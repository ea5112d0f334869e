/// Metric family metadata as remote write 1.0 carries it (`MetricMetadata`).
public struct MetricMetadata: Sendable, Equatable, Hashable {
    public enum MetricType: UInt8, Sendable {
        case unknown = 0, counter, gauge, histogram, gaugeHistogram, summary, info, stateSet

        /// The spelling of Prometheus' metadata API.
        public var apiName: String {
            switch self {
            case .unknown: return "unknown"
            case .counter: return "counter"
            case .gauge: return "gauge"
            case .histogram: return "histogram"
            case .gaugeHistogram: return "gaugehistogram"
            case .summary: return "summary"
            case .info: return "info"
            case .stateSet: return "stateset"
            }
        }
    }

    public var metricFamilyName: String
    public var type: MetricType
    public var help: String
    public var unit: String

    public init(metricFamilyName: String, type: MetricType, help: String, unit: String) {
        self.metricFamilyName = metricFamilyName; self.type = type; self.help = help; self.unit = unit
    }
}
