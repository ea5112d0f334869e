/// What a missing map key yields, as Go's Option("missingkey=...") sets it.
public enum MissingKeyMode: Sendable {
    /// "<no value>" when printed (Go's default).
    case invalid
    /// The map element type's zero value (Prometheus' choice).
    case zero
    /// Execution stops with "map has no entry for key".
    case error
}
