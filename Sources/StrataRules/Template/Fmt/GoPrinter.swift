/// A port of the parts of Go's fmt package templates reach: Sprint, Sprintln,
/// Sprintf with the common verbs and flags, and Go's %!verb(...) error forms.
struct GoPrinter {
    private(set) var output = ""
    private var flags = FormatFlags()

    static func sprint(_ args: [GoValue]) -> String {
        var printer = GoPrinter()
        var previousWasString = false
        for (index, arg) in args.enumerated() {
            let isString = arg.isStringKind
            if index > 0 && !isString && !previousWasString { printer.output += " " }
            printer.printArg(arg, verb: "v")
            previousWasString = isString
        }
        return printer.output
    }

    static func sprintln(_ args: [GoValue]) -> String {
        var printer = GoPrinter()
        for (index, arg) in args.enumerated() {
            if index > 0 { printer.output += " " }
            printer.printArg(arg, verb: "v")
        }
        return printer.output + "\n"
    }

    static func sprintf(_ format: String, _ args: [GoValue]) -> String {
        var printer = GoPrinter()
        printer.doPrintf(Array(format.unicodeScalars), args)
        return printer.output
    }

    // MARK: - Printf

    private mutating func doPrintf(_ format: [Unicode.Scalar], _ args: [GoValue]) {
        var argIndex = 0
        var index = 0
        while index < format.count {
            if format[index] != "%" {
                output.unicodeScalars.append(format[index])
                index += 1
                continue
            }
            index += 1
            flags = FormatFlags()
            flagLoop: while index < format.count {
                switch format[index] {
                case "#": flags.sharp = true
                case "0": flags.zero = !flags.minus
                case "+": flags.plus = true
                case "-":
                    flags.minus = true
                    flags.zero = false
                case " ": flags.space = true
                default: break flagLoop
                }
                index += 1
            }
            // Width: digits or '*'.
            if index < format.count && format[index] == "*" {
                index += 1
                if argIndex < args.count, case .int(let value) = args[argIndex], abs(value) <= 1_000_000 {
                    flags.width = abs(value)
                    if value < 0 {
                        flags.minus = true
                        flags.zero = false
                    }
                } else {
                    output += "%!(BADWIDTH)"
                }
                argIndex += 1
            } else if let (number, next) = parseNumber(format, index) {
                flags.width = number
                index = next
            }
            // Precision: '.' then digits or '*'.
            if index < format.count && format[index] == "." {
                index += 1
                if index < format.count && format[index] == "*" {
                    index += 1
                    if argIndex < args.count, case .int(let value) = args[argIndex], abs(value) <= 1_000_000 {
                        flags.precision = value < 0 ? nil : value
                    } else {
                        output += "%!(BADPREC)"
                    }
                    argIndex += 1
                } else if let (number, next) = parseNumber(format, index) {
                    flags.precision = number
                    index = next
                } else {
                    flags.precision = 0
                }
            }
            guard index < format.count else {
                output += "%!(NOVERB)"
                break
            }
            let verb = Character(format[index])
            index += 1
            if verb == "%" {
                output += "%"
                continue
            }
            if argIndex >= args.count {
                output += "%!\(verb)(MISSING)"
                continue
            }
            if verb == "v" {
                flags.sharpV = flags.sharp
                flags.sharp = false
                flags.plusV = flags.plus
                flags.plus = false
            }
            printArg(args[argIndex], verb: verb)
            argIndex += 1
        }
        if argIndex < args.count {
            flags = FormatFlags()
            output += "%!(EXTRA "
            for (position, arg) in args[argIndex...].enumerated() {
                if position > 0 { output += ", " }
                if case .invalid = arg {
                    output += "<nil>"
                } else {
                    output += arg.typeName + "="
                    printArg(arg, verb: "v")
                }
            }
            output += ")"
        }
    }

    private func parseNumber(_ format: [Unicode.Scalar], _ start: Int) -> (Int, Int)? {
        var index = start
        var value = 0
        while index < format.count, let digit = format[index].properties.numericType == .decimal && format[index].isASCII
            ? Int(format[index].value) - 48 : nil {
            value = value * 10 + digit
            if value > 1_000_000 { return nil }
            index += 1
        }
        return index == start ? nil : (value, index)
    }

    // MARK: - Arguments

    mutating func printArg(_ arg: GoValue, verb: Character) {
        if case .invalid = arg {
            if verb == "T" || verb == "v" {
                output += flags.pad("<nil>")
            } else {
                badVerb(arg, verb)
            }
            return
        }
        if verb == "T" {
            output += flags.pad(arg.typeName)
            return
        }
        printValue(arg, verb: verb, depth: 0)
    }

    private mutating func printValue(_ value: GoValue, verb: Character, depth: Int) {
        switch value {
        case .invalid:
            if depth == 0 {
                output += "<invalid reflect.Value>"
            } else if verb == "v" {
                output += flags.pad("<nil>")
            } else {
                badVerb(value, verb)
            }
        case .bool(let bool):
            if verb == "t" || verb == "v" {
                output += flags.pad(bool ? "true" : "false")
            } else {
                badVerb(value, verb)
            }
        case .int(let int):
            formatInteger(magnitude: int.magnitude, negative: int < 0, verb: verb, original: value)
        case .uint8(let byte):
            formatInteger(magnitude: UInt(byte), negative: false, verb: verb, original: value)
        case .float(let double):
            formatFloat(double, verb: verb, original: value)
        case .string(let text), .html(let text):
            formatString(text, verb: verb, original: value)
        case .time(let time):
            guard let time else {
                output += flags.pad("<nil>")
                return
            }
            switch verb {
            case "v", "s", "x", "X", "q": formatString(GoTimeFormatting.string(time), verb: verb, original: value)
            default: badVerb(value, verb)
            }
        case .stringMap(let map):
            printMap(map.map { (GoValue.string($0.key), GoValue.string($0.value), $0.key) }, verb: verb, depth: depth)
        case .anyMap(let map):
            printMap(map.map { (GoValue.string($0.key), $0.value, $0.key) }, verb: verb, depth: depth)
        case .list(let items):
            printList(items, verb: verb, depth: depth)
        case .queryResult(let samples):
            printList(samples.map { GoValue.sample($0) }, verb: verb, depth: depth)
        case .sample(let sample):
            guard let sample else {
                output += flags.pad("<nil>")
                return
            }
            if depth == 0 {
                output += "&"
                printValue(.structure(sample.goStruct), verb: verb, depth: depth + 1)
            } else {
                // Go prints the address of nested pointers; any stable stand-in will do.
                formatInteger(magnitude: 0xc000010000, negative: false, verb: "x", original: value, prefix: "0x")
            }
        case .structure(let structure):
            output += "{"
            for (index, field) in structure.fields.enumerated() {
                if index > 0 { output += " " }
                if flags.plusV || flags.sharpV { output += field.name + ":" }
                printValue(field.value, verb: verb, depth: depth + 1)
            }
            output += "}"
        }
    }

    private mutating func printMap(_ entries: [(GoValue, GoValue, String)], verb: Character, depth: Int) {
        output += "map["
        for (index, entry) in entries.sorted(by: { goStringLess($0.2, $1.2) }).enumerated() {
            if index > 0 { output += " " }
            printValue(entry.0, verb: verb, depth: depth + 1)
            output += ":"
            printValue(entry.1, verb: verb, depth: depth + 1)
        }
        output += "]"
    }

    private mutating func printList(_ items: [GoValue], verb: Character, depth: Int) {
        output += "["
        for (index, item) in items.enumerated() {
            if index > 0 { output += " " }
            printValue(item, verb: verb, depth: depth + 1)
        }
        output += "]"
    }

    private mutating func badVerb(_ value: GoValue, _ verb: Character) {
        output += "%!\(verb)("
        if case .invalid = value {
            output += "<nil>"
        } else {
            output += value.typeName + "="
            printArg(value, verb: "v")
        }
        output += ")"
    }

    // MARK: - Verbs by kind

    private mutating func formatInteger(magnitude: UInt, negative: Bool, verb: Character, original: GoValue, prefix: String = "") {
        let base: Int
        var upper = false
        switch verb {
        case "v", "d": base = 10
        case "b": base = 2
        case "o", "O": base = 8
        case "x": base = 16
        case "X":
            base = 16
            upper = true
        case "c":
            let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)) ?? "\u{FFFD}"
            output += flags.pad(negative ? "\u{FFFD}" : String(scalar))
            return
        case "q":
            let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)) ?? "\u{FFFD}"
            output += flags.pad(GoQuote.quoteRune(negative ? "\u{FFFD}" : scalar, asciiOnly: flags.plus))
            return
        case "U":
            var hex = String(magnitude, radix: 16, uppercase: true)
            if hex.count < 4 { hex = String(repeating: "0", count: 4 - hex.count) + hex }
            var text = "U+" + hex
            if flags.sharp, let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)), GoQuote.isPrintable(scalar) {
                text += " '\(scalar)'"
            }
            output += flags.pad(text)
            return
        case "e", "E", "f", "F", "g", "G":
            // Go treats these as bad verbs for integers.
            badVerb(original, verb)
            return
        default:
            badVerb(original, verb)
            return
        }
        var digits = magnitude == 0 ? "0" : String(magnitude, radix: base, uppercase: upper)
        var minimumDigits = 0
        if let precision = flags.precision {
            minimumDigits = precision
            if precision == 0 && magnitude == 0 {
                var plain = flags
                plain.zero = false
                output += plain.padding(flags.width ?? 0)
                return
            }
        } else if flags.zero, let width = flags.width {
            minimumDigits = width
            if negative || flags.plus || flags.space { minimumDigits -= 1 }
        }
        if digits.count < minimumDigits { digits = String(repeating: "0", count: minimumDigits - digits.count) + digits }
        var lead = prefix
        if flags.sharp {
            switch base {
            case 2: lead += "0b"
            case 8: if !digits.hasPrefix("0") { lead += "0" }
            case 16: lead += upper ? "0X" : "0x"
            default: break
            }
        }
        if verb == "O" { lead += "0o" }
        if negative { lead = "-" + lead } else if flags.plus { lead = "+" + lead } else if flags.space { lead = " " + lead }
        var plain = flags
        plain.zero = false
        output += plain.pad(lead + digits)
    }

    private mutating func formatFloat(_ value: Double, verb: Character, original: GoValue) {
        let strconvVerb: Character
        var precision: Int
        switch verb {
        case "v":
            strconvVerb = "g"
            precision = -1
        case "g", "G":
            strconvVerb = verb
            precision = -1
        case "f", "F", "e", "E":
            strconvVerb = verb == "F" ? "f" : verb
            precision = 6
        default:
            badVerb(original, verb)
            return
        }
        if let explicit = flags.precision { precision = explicit }
        var number = FloatFormatter.format(value, verb: strconvVerb, precision: precision)
        if !number.hasPrefix("-") && !number.hasPrefix("+") { number = "+" + number }
        if flags.space && number.hasPrefix("+") && !flags.plus { number = " " + number.dropFirst() }
        let body = number.dropFirst()
        if body.hasPrefix("I") || body.hasPrefix("N") {
            var plain = flags
            plain.zero = false
            if body.hasPrefix("N") && !flags.space && !flags.plus { number = String(body) }
            output += plain.pad(number)
            return
        }
        if flags.plus || !number.hasPrefix("+") {
            if flags.zero, let width = flags.width, width > number.count {
                output += String(number.first!) + String(repeating: "0", count: width - number.count) + body
                return
            }
            output += flags.pad(number)
            return
        }
        output += flags.pad(String(body))
    }

    private mutating func formatString(_ text: String, verb: Character, original: GoValue) {
        switch verb {
        case "v":
            if flags.sharpV {
                output += flags.pad(GoQuote.quote(text))
            } else {
                output += flags.pad(truncated(text))
            }
        case "s":
            output += flags.pad(truncated(text))
        case "q":
            let shown = truncated(text)
            if flags.sharp && GoQuote.canBackquote(shown) {
                output += flags.pad("`" + shown + "`")
            } else {
                output += flags.pad(GoQuote.quote(shown, asciiOnly: flags.plus))
            }
        case "x", "X":
            formatHex(Array(text.utf8), upper: verb == "X")
        default:
            badVerb(original, verb)
        }
    }

    private func truncated(_ text: String) -> String {
        guard let precision = flags.precision else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.prefix(precision))
        return String(scalars)
    }

    private mutating func formatHex(_ bytes: [UInt8], upper: Bool) {
        var length = bytes.count
        if let precision = flags.precision, precision < length { length = precision }
        var width = 2 * length
        if width > 0 {
            if flags.space {
                if flags.sharp { width *= 2 }
                width += length - 1
            } else if flags.sharp {
                width += 2
            }
        } else {
            output += flags.padding(flags.width ?? 0)
            return
        }
        let padCount = (flags.width ?? 0) - width
        if padCount > 0 && !flags.minus { output += flags.padding(padCount) }
        let marker = upper ? "0X" : "0x"
        if flags.sharp { output += marker }
        for index in 0..<length {
            if flags.space && index > 0 {
                output += " "
                if flags.sharp { output += marker }
            }
            let hex = String(bytes[index], radix: 16, uppercase: upper)
            output += hex.count == 1 ? "0" + hex : hex
        }
        if padCount > 0 && flags.minus { output += flags.padding(padCount) }
    }
}

extension GoValue {
    /// Whether Go's reflect Kind is String (string and named string types like template.HTML).
    var isStringKind: Bool {
        switch self {
        case .string, .html: return true
        default: return false
        }
    }
}
