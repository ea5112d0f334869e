/// What `/api/v1/status/tsdb` reports about the head: size, and the label names, values and
/// metrics that account for most series (Prometheus' cardinality statistics).
public struct CardinalityStats: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var value: Int
        public init(name: String, value: Int) { self.name = name; self.value = value }
    }

    public var numSeries = 0
    public var numLabelPairs = 0
    public var chunkCount = 0
    public var minTime: Int64 = 0
    public var maxTime: Int64 = 0
    public var seriesCountByMetricName: [Entry] = []
    public var labelValueCountByLabelName: [Entry] = []
    public var memoryInBytesByLabelName: [Entry] = []
    public var seriesCountByLabelValuePair: [Entry] = []

    public init() {}
}

public protocol CardinalitySource: Sendable {
    /// Statistics with the `limit` largest entries of each list.
    func cardinalityStats(limit: Int) -> CardinalityStats
}
