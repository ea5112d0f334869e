/// Go's strings.Title, ToUpper and ToLower.
enum GoStrings {
    /// strings.Title: upper-cases (title-cases) the first letter of each word.
    static func title(_ text: String) -> String {
        var out = ""
        var previousIsSeparator = true
        for scalar in text.unicodeScalars {
            if previousIsSeparator {
                out += scalar.properties.titlecaseMapping
            } else {
                out.unicodeScalars.append(scalar)
            }
            previousIsSeparator = isSeparator(scalar)
        }
        return out
    }

    private static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            if (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) || value == 0x5F {
                return false
            }
            return true
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return false
        default:
            return scalar.properties.isWhitespace
        }
    }

    static func upper(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.flatMap { $0.properties.uppercaseMapping.unicodeScalars }))
    }

    static func lower(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.flatMap { $0.properties.lowercaseMapping.unicodeScalars }))
    }
}
