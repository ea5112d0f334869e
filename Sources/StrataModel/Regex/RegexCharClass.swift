// Character-class building blocks for GoRegexp: sorted scalar range sets,
// the ASCII/Perl/POSIX classes, Unicode general categories and case folding.

/// An inclusive range of Unicode scalar values (surrogates may appear in `\p{Cs}`; they never match).
struct RegexRange: Sendable, Hashable {
    var lo: UInt32
    var hi: UInt32
    init(_ lo: UInt32, _ hi: UInt32) { self.lo = lo; self.hi = hi }
}

let regexMaxScalar: UInt32 = 0x10FFFF

/// A set of scalars as sorted, non-overlapping, non-adjacent ranges.
struct RegexCharSet: Sendable, Hashable {
    private(set) var ranges: [RegexRange] = []

    init() {}
    init(_ ranges: [RegexRange]) { self.ranges = ranges; normalize() }
    init(scalar c: UInt32) { ranges = [RegexRange(c, c)] }

    var isEmpty: Bool { ranges.isEmpty }

    mutating func add(_ lo: UInt32, _ hi: UInt32) { ranges.append(RegexRange(lo, hi)) }
    mutating func add(_ other: RegexCharSet) { ranges.append(contentsOf: other.ranges) }

    /// Sort and merge; callers append freely and normalize once.
    mutating func normalize() {
        guard ranges.count > 1 else { return }
        ranges.sort { $0.lo < $1.lo || ($0.lo == $1.lo && $0.hi > $1.hi) }
        var out: [RegexRange] = []
        out.reserveCapacity(ranges.count)
        for r in ranges {
            if let last = out.last, r.lo <= last.hi &+ 1 {
                if r.hi > last.hi { out[out.count - 1].hi = r.hi }
            } else {
                out.append(r)
            }
        }
        ranges = out
    }

    /// Complement over 0...0x10FFFF (expects a normalized set).
    func negated() -> RegexCharSet {
        var out: [RegexRange] = []
        var next: UInt32 = 0
        for r in ranges {
            if r.lo > next { out.append(RegexRange(next, r.lo - 1)) }
            next = r.hi + 1
        }
        if next <= regexMaxScalar { out.append(RegexRange(next, regexMaxScalar)) }
        var s = RegexCharSet()
        s.ranges = out
        return s
    }

    func contains(_ c: UInt32) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let m = (lo + hi) >> 1
            if ranges[m].hi < c { lo = m + 1 } else { hi = m }
        }
        return lo < ranges.count && ranges[lo].lo <= c
    }

    /// Adds every scalar that is case-fold equivalent to a member (Go's (?i) class semantics).
    func caseFolded() -> RegexCharSet {
        var out = self
        for r in ranges {
            // All cased scalars (and their partners) lie in [A, 0x1E943]: a range covering
            // that span is closed already, and the rest of any range has nothing to add.
            if r.lo <= 0x41 && r.hi >= 0x1E943 { continue }
            let lo = max(r.lo, 0x41), hi = min(r.hi, 0x1E943)
            if lo > hi { continue }
            var c = lo
            while c <= hi {
                for f in regexFoldOrbit(c) where f != c { out.add(f, f) }
                c += 1
            }
        }
        out.normalize()
        return out
    }
}

// MARK: - Named classes (ASCII only, as in Go)

private func set(_ pairs: [(UInt32, UInt32)]) -> RegexCharSet {
    RegexCharSet(pairs.map { RegexRange($0.0, $0.1) })
}

let regexDigitClass = set([(0x30, 0x39)])
let regexSpaceClass = set([(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)])
let regexWordClass = set([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])

/// `\d \D \s \S \w \W`: returns (class, negated).
func regexPerlClass(_ letter: Character) -> (RegexCharSet, Bool)? {
    switch letter {
    case "d": return (regexDigitClass, false)
    case "D": return (regexDigitClass, true)
    case "s": return (regexSpaceClass, false)
    case "S": return (regexSpaceClass, true)
    case "w": return (regexWordClass, false)
    case "W": return (regexWordClass, true)
    default: return nil
    }
}

/// `[:name:]` classes inside brackets.
func regexPOSIXClass(_ name: String) -> RegexCharSet? {
    switch name {
    case "alnum": return set([(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)])
    case "alpha": return set([(0x41, 0x5A), (0x61, 0x7A)])
    case "ascii": return set([(0x00, 0x7F)])
    case "blank": return set([(0x09, 0x09), (0x20, 0x20)])
    case "cntrl": return set([(0x00, 0x1F), (0x7F, 0x7F)])
    case "digit": return regexDigitClass
    case "graph": return set([(0x21, 0x7E)])
    case "lower": return set([(0x61, 0x7A)])
    case "print": return set([(0x20, 0x7E)])
    case "punct": return set([(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)])
    case "space": return set([(0x09, 0x0D), (0x20, 0x20)])
    case "upper": return set([(0x41, 0x5A)])
    case "word": return regexWordClass
    case "xdigit": return set([(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)])
    default: return nil
    }
}

@inline(__always)
func regexIsWordByte(_ c: UInt32) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || (c >= 0x61 && c <= 0x7A)
}

// MARK: - Unicode general categories

/// Go's category names (`\pL`, `\p{Lu}`, ...). Note Go's `C` is Cc|Cf|Co|Cs, without unassigned Cn.
private func categoryCode(_ c: Unicode.GeneralCategory) -> String {
    switch c {
    case .uppercaseLetter: return "Lu"
    case .lowercaseLetter: return "Ll"
    case .titlecaseLetter: return "Lt"
    case .modifierLetter: return "Lm"
    case .otherLetter: return "Lo"
    case .nonspacingMark: return "Mn"
    case .spacingMark: return "Mc"
    case .enclosingMark: return "Me"
    case .decimalNumber: return "Nd"
    case .letterNumber: return "Nl"
    case .otherNumber: return "No"
    case .connectorPunctuation: return "Pc"
    case .dashPunctuation: return "Pd"
    case .openPunctuation: return "Ps"
    case .closePunctuation: return "Pe"
    case .initialPunctuation: return "Pi"
    case .finalPunctuation: return "Pf"
    case .otherPunctuation: return "Po"
    case .mathSymbol: return "Sm"
    case .currencySymbol: return "Sc"
    case .modifierSymbol: return "Sk"
    case .otherSymbol: return "So"
    case .spaceSeparator: return "Zs"
    case .lineSeparator: return "Zl"
    case .paragraphSeparator: return "Zp"
    case .control: return "Cc"
    case .format: return "Cf"
    case .surrogate: return "Cs"
    case .privateUse: return "Co"
    case .unassigned: return "Cn"
    @unknown default: return "Cn"
    }
}

/// All category tables, built once (thread-safe lazy global) by scanning every scalar:
/// the stdlib exposes the property per scalar, not as range tables.
private let unicodeCategoryTables: [String: RegexCharSet] = {
    var runs: [String: [RegexRange]] = [:]
    var curCode = "", curLo: UInt32 = 0, curHi: UInt32 = 0
    func flush() {
        if !curCode.isEmpty { runs[curCode, default: []].append(RegexRange(curLo, curHi)) }
    }
    var v: UInt32 = 0
    while v <= regexMaxScalar {
        if v == 0xD800 { v = 0xE000; continue }
        let code = categoryCode(Unicode.Scalar(v)!.properties.generalCategory)
        if code == curCode && v == curHi + 1 {
            curHi = v
        } else {
            flush()
            curCode = code; curLo = v; curHi = v
        }
        v += 1
    }
    flush()
    runs["Cs", default: []].append(RegexRange(0xD800, 0xDFFF))
    var tables: [String: RegexCharSet] = [:]
    for (code, r) in runs { tables[code] = RegexCharSet(r) }
    for major in ["C", "L", "M", "N", "P", "S", "Z"] {
        var u = RegexCharSet()
        for (code, t) in tables where code.hasPrefix(major) && code.count == 2 && code != "Cn" { u.add(t) }
        u.normalize()
        tables[major] = u
    }
    tables.removeValue(forKey: "Cn") // Go (before 1.25) has no \p{Cn}
    return tables
}()

/// Go's script names: recognized only to give a precise "unsupported" error,
/// because the Swift stdlib exposes no Script property.
let regexUnicodeScriptNames: Set<String> = [
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese", "Bamum",
    "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid",
    "Canadian_Aboriginal", "Carian", "Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian",
    "Common", "Coptic", "Cuneiform", "Cypriot", "Cypro_Minoan", "Cyrillic", "Deseret", "Devanagari",
    "Dives_Akuru", "Dogra", "Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic",
    "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati", "Gunjala_Gondi", "Gurmukhi",
    "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana", "Imperial_Aramaic",
    "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese", "Kaithi", "Kannada",
    "Katakana", "Kawi", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi",
    "Lao", "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani",
    "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
    "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Modi",
    "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean", "Nag_Mundari", "Nandinagari", "New_Tai_Lue",
    "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Old_Hungarian", "Old_Italic",
    "Old_North_Arabian", "Old_Permic", "Old_Persian", "Old_Sogdian", "Old_South_Arabian", "Old_Turkic",
    "Old_Uyghur", "Oriya", "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa",
    "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada", "Shavian",
    "Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese",
    "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tamil",
    "Tangsa", "Tangut", "Telugu", "Thaana", "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Toto", "Ugaritic",
    "Vai", "Vithkuqi", "Wancho", "Warang_Citi", "Yezidi", "Yi", "Zanabazar_Square",
]

/// `\p{name}` table: "Any" or a general category; nil if unknown.
func regexUnicodeClass(_ name: String) -> RegexCharSet? {
    if name == "Any" { return RegexCharSet([RegexRange(0, regexMaxScalar)]) }
    return unicodeCategoryTables[name]
}

// MARK: - Case folding

/// Orbits that are not just {c, lower(c)} / {c, upper(c)} (Unicode simple case folding;
/// same data as Go's unicode caseOrbit): each entry maps to the next member of its cycle.
/// Entries mapping to themselves have no case partner at all in Go.
private let irregularFoldNext: [UInt32: UInt32] = [
    0x004B: 0x006B, 0x0053: 0x0073, 0x006B: 0x212A, 0x0073: 0x017F, 0x00B5: 0x039C, 0x00C5: 0x00E5,
    0x00DF: 0x1E9E, 0x00E5: 0x212B, 0x0130: 0x0130, 0x0131: 0x0131, 0x017F: 0x0053, 0x01C4: 0x01C5,
    0x01C5: 0x01C6, 0x01C6: 0x01C4, 0x01C7: 0x01C8, 0x01C8: 0x01C9, 0x01C9: 0x01C7, 0x01CA: 0x01CB,
    0x01CB: 0x01CC, 0x01CC: 0x01CA, 0x01F1: 0x01F2, 0x01F2: 0x01F3, 0x01F3: 0x01F1, 0x0345: 0x0399,
    0x0392: 0x03B2, 0x0395: 0x03B5, 0x0398: 0x03B8, 0x0399: 0x03B9, 0x039A: 0x03BA, 0x039C: 0x03BC,
    0x03A0: 0x03C0, 0x03A1: 0x03C1, 0x03A3: 0x03C2, 0x03A6: 0x03C6, 0x03A9: 0x03C9, 0x03B2: 0x03D0,
    0x03B5: 0x03F5, 0x03B8: 0x03D1, 0x03B9: 0x1FBE, 0x03BA: 0x03F0, 0x03BC: 0x00B5, 0x03C0: 0x03D6,
    0x03C1: 0x03F1, 0x03C2: 0x03C3, 0x03C3: 0x03A3, 0x03C6: 0x03D5, 0x03C9: 0x2126, 0x03D0: 0x0392,
    0x03D1: 0x03F4, 0x03D5: 0x03A6, 0x03D6: 0x03A0, 0x03F0: 0x039A, 0x03F1: 0x03A1, 0x03F4: 0x0398,
    0x03F5: 0x0395, 0x0412: 0x0432, 0x0414: 0x0434, 0x041E: 0x043E, 0x0421: 0x0441, 0x0422: 0x0442,
    0x042A: 0x044A, 0x0432: 0x1C80, 0x0434: 0x1C81, 0x043E: 0x1C82, 0x0441: 0x1C83, 0x0442: 0x1C84,
    0x044A: 0x1C86, 0x0462: 0x0463, 0x0463: 0x1C87, 0x1C80: 0x0412, 0x1C81: 0x0414, 0x1C82: 0x041E,
    0x1C83: 0x0421, 0x1C84: 0x1C85, 0x1C85: 0x0422, 0x1C86: 0x042A, 0x1C87: 0x0462, 0x1C88: 0xA64A,
    0x1E60: 0x1E61, 0x1E61: 0x1E9B, 0x1E9B: 0x1E60, 0x1E9E: 0x00DF, 0x1FBE: 0x0345, 0x2126: 0x03A9,
    0x212A: 0x004B, 0x212B: 0x00C5, 0xA64A: 0xA64B, 0xA64B: 0x1C88,
]

private func singleScalar(_ s: String) -> UInt32? {
    var it = s.unicodeScalars.makeIterator()
    guard let first = it.next(), it.next() == nil else { return nil }
    return first.value
}

/// All scalars equivalent to `c` under simple case folding, including `c` itself.
/// Uses the stdlib's case mappings when they are a single scalar (the simple mapping).
func regexFoldOrbit(_ c: UInt32) -> [UInt32] {
    if c < 0x80 {
        // ASCII letters: the pair, plus K/k -> KELVIN SIGN and S/s -> LONG S.
        let isUpper = c >= 0x41 && c <= 0x5A, isLower = c >= 0x61 && c <= 0x7A
        guard isUpper || isLower else { return [c] }
        let up = isUpper ? c : c - 0x20
        var out: [UInt32] = [up, up + 0x20]
        if up == 0x4B { out.append(0x212A) }
        if up == 0x53 { out.append(0x017F) }
        return out
    }
    if irregularFoldNext[c] != nil {
        var out: [UInt32] = [c]
        var x = irregularFoldNext[c]!
        while x != c && out.count < 8 { out.append(x); x = irregularFoldNext[x] ?? c }
        return out
    }
    guard c <= 0x1E943, let scalar = Unicode.Scalar(c), scalar.properties.changesWhenCaseMapped else {
        return [c]
    }
    var out: [UInt32] = [c]
    let p = scalar.properties
    if let l = singleScalar(p.lowercaseMapping), l != c { out.append(l) }
    if let u = singleScalar(p.uppercaseMapping) ?? singleScalar(p.titlecaseMapping), u != c, !out.contains(u) {
        out.append(u)
    }
    // A titlecase letter like U+01C5 is in the irregular table; other orbits have at most 2 members.
    return out
}
