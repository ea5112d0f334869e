/// The flags, width and precision of one fmt verb, plus Go's padding rules.
struct FormatFlags {
    var plus = false
    var minus = false
    var sharp = false
    var space = false
    var zero = false
    /// %+v and %#v are remembered separately, as Go does.
    var plusV = false
    var sharpV = false
    var width: Int?
    var precision: Int?

    /// Pads to the width with spaces (or zeros when the 0 flag is set), on the left unless '-'.
    func pad(_ text: String) -> String {
        guard let width, width > 0 else { return text }
        let count = width - text.unicodeScalars.count
        guard count > 0 else { return text }
        let padding = String(repeating: zero ? "0" : " ", count: count)
        return minus ? text + padding : padding + text
    }

    func padding(_ count: Int) -> String {
        count > 0 ? String(repeating: zero ? "0" : " ", count: count) : ""
    }
}
