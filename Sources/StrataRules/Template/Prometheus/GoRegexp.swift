import Foundation

/// Go regexp behaviour on top of NSRegularExpression (ICU): (?P<name>) groups,
/// ReplaceAllString's $1 / ${name} expansion and its empty-match rule.
/// Known differences from RE2: \d, \w, \s and \b are Unicode-aware in ICU,
/// `$` also matches before a final newline, and error texts are approximations.
struct GoRegexp {
    private let expression: NSRegularExpression
    private let groupNames: [String]

    init(_ pattern: String) throws(FunctionError) {
        let converted = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
        do {
            expression = try NSRegularExpression(pattern: converted)
        } catch {
            throw FunctionError("error parsing regexp: \(GoRegexp.describeFailure(pattern))")
        }
        groupNames = GoRegexp.namedGroups(in: converted)
    }

    /// A best guess at RE2's message for the commonest mistakes.
    private static func describeFailure(_ pattern: String) -> String {
        let opens = pattern.filter { $0 == "(" }.count
        let closes = pattern.filter { $0 == ")" }.count
        let quoted = "`\(pattern)`"
        if opens > closes { return "missing closing ): \(quoted)" }
        if closes > opens { return "unexpected ): \(quoted)" }
        if pattern.contains("[") && !pattern.contains("]") {
            return "missing closing ]: `\(pattern[pattern.firstIndex(of: "[")!...])`"
        }
        if let first = pattern.first, "*+?".contains(first) { return "missing argument to repetition operator: `\(first)`" }
        return "invalid regular expression: \(quoted)"
    }

    private static func namedGroups(in pattern: String) -> [String] {
        guard let finder = try? NSRegularExpression(pattern: "\\(\\?<([A-Za-z_][A-Za-z0-9_]*)>") else { return [] }
        let range = NSRange(pattern.startIndex..., in: pattern)
        return finder.matches(in: pattern, range: range).compactMap { match in
            Range(match.range(at: 1), in: pattern).map { String(pattern[$0]) }
        }
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    func replaceAll(in text: String, with template: String) -> String {
        let utf16 = Array(text.utf16)
        let matches = expression.matches(in: text, range: NSRange(location: 0, length: utf16.count))
        var out = ""
        var copiedUpTo = 0
        var lastMatchEnd = -1
        for match in matches {
            let start = match.range.location
            let end = start + match.range.length
            out += String(decoding: utf16[copiedUpTo..<start], as: UTF16.self)
            copiedUpTo = start
            // Go skips an empty match right after the previous match.
            if end > lastMatchEnd || start == 0 {
                out += expand(template, match: match, utf16: utf16)
                copiedUpTo = end
            }
            lastMatchEnd = end
        }
        out += String(decoding: utf16[copiedUpTo...], as: UTF16.self)
        return out
    }

    /// Go's Regexp.Expand: $name takes the longest run of letters, digits and '_'.
    private func expand(_ template: String, match: NSTextCheckingResult, utf16: [UInt16]) -> String {
        let scalars = Array(template.unicodeScalars)
        var out = ""
        var index = 0
        func isNameChar(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar)))
        }
        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$", index + 1 < scalars.count else {
                out.unicodeScalars.append(scalar)
                index += 1
                continue
            }
            if scalars[index + 1] == "$" {
                out += "$"
                index += 2
                continue
            }
            var name = ""
            var next = index + 1
            if scalars[next] == "{" {
                var close = next + 1
                while close < scalars.count && isNameChar(scalars[close]) { close += 1 }
                guard close < scalars.count, scalars[close] == "}", close > next + 1 else {
                    out += "$"
                    index += 1
                    continue
                }
                name = String(String.UnicodeScalarView(scalars[(next + 1)..<close]))
                next = close + 1
            } else {
                while next < scalars.count && isNameChar(scalars[next]) { next += 1 }
                guard next > index + 1 else {
                    out += "$"
                    index += 1
                    continue
                }
                name = String(String.UnicodeScalarView(scalars[(index + 1)..<next]))
            }
            out += group(name, match: match, utf16: utf16)
            index = next
        }
        return out
    }

    private func group(_ name: String, match: NSTextCheckingResult, utf16: [UInt16]) -> String {
        var range: NSRange?
        if let number = Int(name) {
            if number < match.numberOfRanges { range = match.range(at: number) }
        } else if groupNames.contains(name) {
            range = match.range(withName: name)
        }
        guard let range, range.location != NSNotFound else { return "" }
        return String(decoding: utf16[range.location..<(range.location + range.length)], as: UTF16.self)
    }
}
