extension GoPrinter {
    /// How an action prints its value: Go's printableValue (pointers followed,
    /// missing values shown as "<no value>") then fmt.Fprint.
    static func templateString(_ value: GoValue) -> String {
        switch value {
        case .invalid: return "<no value>"
        case .sample(let sample?): return sprint([.structure(sample.goStruct)])
        default: return sprint([value])
        }
    }
}
