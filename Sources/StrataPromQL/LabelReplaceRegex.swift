import StrataModel
/// The regex of `label_replace`: fully anchored, `.` matches newlines, and the replacement
/// expanded with Go's `Regexp.Expand` rules (`$1`, `${1}`, `$name`, `${name}`, `$$`).
struct LabelReplaceRegex {
    private let regex: Regex<AnyRegexOutput>
    private let groupNames: [String?]

    init(_ pattern: String) throws {
        // Code-point semantics, as Go's regexp (Swift's default matches grapheme clusters).
        regex = try Regex("(?s:" + GoRegexSource.swift(pattern) + ")").matchingSemantics(.unicodeScalar)
        // Group names in order of their opening parenthesis, index 0 being the whole match.
        groupNames = [nil] + LabelReplaceRegex.captureNames(pattern)
    }

    /// The expanded replacement, or nil when `value` does not match.
    func replace(_ value: String, with template: String) -> String? {
        guard let match = try? regex.wholeMatch(in: value) else { return nil }
        let output = match.output
        func group(_ i: Int) -> String {
            guard i < output.count, let s = output[i].substring else { return "" }
            return String(s)
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
            } else if let i = groupNames.firstIndex(where: { $0 == name }) {
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

    /// Names of capturing groups (`(?P<name>…)`, `(?<name>…)`), nil for unnamed ones.
    private static func captureNames(_ pattern: String) -> [String?] {
        let b = Array(pattern.utf8)
        var names: [String?] = []
        var i = 0
        var inClass = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") { i += 2; continue }
            if inClass { if c == UInt8(ascii: "]") { inClass = false }; i += 1; continue }
            if c == UInt8(ascii: "[") { inClass = true; i += 1; continue }
            if c == UInt8(ascii: "(") {
                if i + 1 < b.count && b[i + 1] == UInt8(ascii: "?") {
                    var j = i + 2
                    if j < b.count && b[j] == UInt8(ascii: "P") { j += 1 }
                    if j < b.count && b[j] == UInt8(ascii: "<") && j + 1 < b.count && b[j + 1] != UInt8(ascii: "=") && b[j + 1] != UInt8(ascii: "!") {
                        var k = j + 1
                        while k < b.count && b[k] != UInt8(ascii: ">") { k += 1 }
                        names.append(String(decoding: b[(j + 1) ..< k], as: UTF8.self))
                    }
                } else {
                    names.append(nil)
                }
            }
            i += 1
        }
        return names
    }
}
