import StrataModel

/// Go's time.Time.String() for UTC times: "2006-01-02 15:04:05.999999999 +0000 UTC".
enum GoTimeFormatting {
    static func string(_ time: GoTime) -> String {
        var seconds = time.seconds
        var nanos = time.nanoseconds
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        var days = seconds / 86400
        var secondOfDay = seconds % 86400
        if secondOfDay < 0 {
            secondOfDay += 86400
            days -= 1
        }
        let (year, month, day) = CivilDate.date(fromDays: days)
        let hour = secondOfDay / 3600
        let minute = secondOfDay / 60 % 60
        let second = secondOfDay % 60
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if nanos > 0 {
            var fraction = pad(nanos, 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + " +0000 UTC"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String { CivilDate.pad(value, width) }
}
