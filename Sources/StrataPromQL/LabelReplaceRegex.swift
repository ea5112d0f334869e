import StrataModel

/// The regex of `label_replace`: fully anchored, `.` matches newlines, and the replacement
/// expanded with Go's `Regexp.Expand` rules (`$1`, `${1}`, `$name`, `${name}`, `$$`).
struct LabelReplaceRegex {
    private let regex: GoRegexp

    init(_ pattern: String) throws {
        regex = try GoRegexp(pattern)
    }

    /// The expanded replacement, or nil when `value` does not match.
    func replace(_ value: String, with template: String) -> String? {
        guard let groups = regex.wholeMatchGroups(value) else { return nil }
        let bytes = Array(value.utf8)
        func group(_ i: Int) -> String {
            guard i < groups.count, let r = groups[i] else { return "" }
            return String(decoding: bytes[r], as: UTF8.self)
        }
        var result = ""
        var rest = Substring(template)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "$" { result += "$"; rest = rest.dropFirst(); continue }
            guard let (name, after) = LabelReplaceRegex.extractName(rest) else { result += "$"; continue }
            rest = after
            if let num = LabelReplaceRegex.groupNumber(name) {
                result += group(num)
            } else if let i = regex.captureNames.firstIndex(where: { $0 == name }) {
                result += group(i)
            }
        }
        return result + rest
    }

    /// Go's `extract`: a name of letters, digits and `_`, optionally in braces.
    private static func extractName(_ s: Substring) -> (String, Substring)? {
        var str = s
        var brace = false
        if str.first == "{" { brace = true; str = str.dropFirst() }
        var end = str.startIndex
        while end < str.endIndex {
            let c = str[end]
            guard c.isLetter || c.isNumber || c == "_" else { break }
            end = str.index(after: end)
        }
        if end == str.startIndex { return nil }
        let name = String(str[..<end])
        var rest = str[end...]
        if brace {
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        }
        return (name, rest)
    }

    /// A group number if `name` is all ASCII digits without a leading zero (and < 1e8).
    private static func groupNumber(_ name: String) -> Int? {
        guard name.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), name.utf8.count <= 8 else { return nil }
        if name.utf8.count > 1 && name.utf8.first == 48 { return nil }
        return Int(name)
    }
}
