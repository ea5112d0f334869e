import StrataModel

/// Where an alert stands, as Prometheus names the states.
public enum AlertState: String, Sendable, Comparable {
    case inactive, pending, firing

    private var rank: Int { self == .inactive ? 0 : self == .pending ? 1 : 2 }
    public static func < (a: AlertState, b: AlertState) -> Bool { a.rank < b.rank }
}

/// One alert of an alerting rule: a label set its expression returned. Times are milliseconds
/// since the epoch; nil where Prometheus keeps a zero `time.Time`.
public struct Alert: Sendable {
    public var labels: Labels
    public var annotations: Labels
    public var state: AlertState
    public var value: Double
    public var activeAt: Int64
    public var firedAt: Int64?
    public var resolvedAt: Int64?
    public var lastSentAt: Int64?
    /// Until when Alertmanager should consider the alert firing without hearing again.
    public var validUntil: Int64?
    /// Since when the alert fires only because of `keep_firing_for`.
    public var keepFiringSince: Int64?

    /// Whether the next notification round sends this alert: not pending; resolved since it was
    /// last sent, or not sent for `resendDelay`.
    func needsSending(at t: Int64, resendDelay: Int64) -> Bool {
        if state == .pending { return false }
        if let resolvedAt, resolvedAt > (lastSentAt ?? Int64.min) { return true }
        guard let lastSentAt else { return true }
        return lastSentAt + resendDelay < t
    }
}
