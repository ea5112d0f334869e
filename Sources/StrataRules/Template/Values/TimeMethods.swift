/// The few time.Time methods templates commonly call on toTime's result.
enum TimeMethods {
    static func method(named name: String) -> (@Sendable (GoTime) -> GoValue)? {
        switch name {
        case "Unix": return { .int(Int($0.seconds)) }
        case "UnixMilli": return { .int(Int($0.seconds) * 1000 + Int($0.nanoseconds) / 1_000_000) }
        case "UnixNano": return { .int(Int($0.seconds) * 1_000_000_000 + Int($0.nanoseconds)) }
        case "String": return { .string(GoTimeFormatting.string($0)) }
        case "UTC": return { .time($0) }
        default: return nil
        }
    }
}
