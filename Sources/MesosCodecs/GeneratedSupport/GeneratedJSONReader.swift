import FoundationEssentials

/// The UTF-8 JSON scanner under the generated JSON decoders: one pass over the bytes, no tree, no Foundation
/// parser, no Codable. It reads exactly what ``MesosJSONReader`` (the reference) reads, with the same outcome:
/// - the whole document must be strict RFC 8259 JSON nested at most 100 deep, unknown keys' values included;
/// - `null` means absent; a single value where a list is expected is a one-element list;
/// - integers as numbers or numeric strings (fractions truncated, clamped to the type), doubles as numbers or
///   strings (`"Infinity"`), booleans as literals or strings, bytes in standard base64 with optional padding;
/// - enums by exact name (the generated matcher says which; unknown names are the caller's to drop or refuse).
///
/// The common spellings (what the master writes) are read in place; anything else (escapes, exponents, numeric
/// strings with spaces, unpadded base64) goes through the reference's own functions, so the answer cannot differ.
/// Every read checks the index against the count: out of range reads give 0, which no valid token starts with.
struct GeneratedJSONReader {
    static let maximumDepth = JSONParser.maximumDepth

    private let base: UnsafeRawPointer
    private let count: Int
    private var index = 0
    private var depth = 0
    /// This thread's recent strings (``StringInterner``); its owner is held by the caller of the top-level decode.
    private let strings: StringInterner.Table
    /// Escaped or non-ASCII keys and strings, decoded.
    private var scratch: [UInt8] = []
    /// Whether a message read so far lacks a required field. Not an error yet: a later occurrence of the same key
    /// merges into it and may supply the field, so the whole value is checked at the end, as the reference does.
    var incomplete = false

    /// The `StringInterner` that owns `strings` must outlive the reader.
    init(_ bytes: UnsafeRawBufferPointer, strings: StringInterner.Table) {
        self.base = bytes.baseAddress ?? generatedEmptyBase
        self.count = bytes.count
        self.strings = strings
    }

    @inline(__always) private func byte(_ at: Int) -> UInt8 {
        at < self.count ? self.base.load(fromByteOffset: at, as: UInt8.self) : 0
    }

    @inline(__always) private mutating func skipWhitespace() {
        while true {
            let c = self.byte(self.index)
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            self.index += 1
        }
    }

    /// After the top-level value: only whitespace may follow.
    mutating func finish() throws(GeneratedCodecFailure) {
        self.skipWhitespace()
        guard self.index == self.count else { throw .invalid }
    }

    // MARK: Structure

    /// Reads `{`; false if the object is empty (and then reads its `}` too).
    @inline(__always) mutating func beginObject() throws(GeneratedCodecFailure) -> Bool {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "{") else { throw .invalid }
        self.index += 1
        try self.enter()
        self.skipWhitespace()
        if self.byte(self.index) == UInt8(ascii: "}") {
            self.index += 1
            self.depth -= 1
            return false
        }
        return true
    }

    @inline(__always) private mutating func enter() throws(GeneratedCodecFailure) {
        self.depth += 1
        guard self.depth <= Self.maximumDepth else { throw .invalid }
    }

    /// After a member: true at `,` (another member follows), false at `}`.
    @inline(__always) mutating func nextMember() throws(GeneratedCodecFailure) -> Bool {
        self.skipWhitespace()
        switch self.byte(self.index) {
        case UInt8(ascii: ","):
            self.index += 1
            return true
        case UInt8(ascii: "}"):
            self.index += 1
            self.depth -= 1
            return false
        default:
            throw .invalid
        }
    }

    /// Reads `[` if the value is an array (true); false, reading nothing, if it is a single value.
    @inline(__always) mutating func beginArray() throws(GeneratedCodecFailure) -> Bool {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "[") else { return false }
        self.index += 1
        try self.enter()
        return true
    }

    /// Right after `[`: false (reading `]`) if the array is empty.
    @inline(__always) mutating func arrayHasElements() -> Bool {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "]") else { return true }
        self.index += 1
        self.depth -= 1
        return false
    }

    /// After an element: true at `,`, false at `]`.
    @inline(__always) mutating func nextElement() throws(GeneratedCodecFailure) -> Bool {
        self.skipWhitespace()
        switch self.byte(self.index) {
        case UInt8(ascii: ","):
            self.index += 1
            return true
        case UInt8(ascii: "]"):
            self.index += 1
            self.depth -= 1
            return false
        default:
            throw .invalid
        }
    }

    /// Reads `null` if that is the value (true).
    @inline(__always) mutating func skipNull() -> Bool {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "n"), self.count - self.index >= 4,
            load32(self.base, self.index) == 0x6c6c_756e  // "null"
        else { return false }
        self.index += 4
        return true
    }

    // MARK: Keys

    /// Reads a key and its `:`, and returns what `match` says of it (a field's 1-based index, 0 if unknown).
    @inline(__always) mutating func readKey(_ match: (UnsafeRawPointer, Int) -> Int) throws(GeneratedCodecFailure) -> Int {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "\"") else { throw .invalid }
        let start = self.index + 1
        guard let end = self.plainStringEnd(from: start) else {
            try self.decodeStringSlow()
            try self.readColon()
            return self.scratch.withUnsafeBytes { match($0.baseAddress ?? generatedEmptyBase, $0.count) }
        }
        self.index = end + 1
        try self.readColon()
        return match(self.base + start, end - start)
    }

    /// Reads a map key (any string) and its `:`.
    mutating func readMapKey() throws(GeneratedCodecFailure) -> String {
        let key = try self.readString()
        try self.readColon()
        return key
    }

    @inline(__always) private mutating func readColon() throws(GeneratedCodecFailure) {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: ":") else { throw .invalid }
        self.index += 1
    }

    // MARK: Strings

    /// The index of the closing quote of a string of printable ASCII without escapes starting at `start`, or nil
    /// if the string needs the slow path (escapes, non-ASCII, control characters, or no end).
    @inline(__always) private func plainStringEnd(from start: Int) -> Int? {
        var at = start
        // Eight bytes at a time. Each mask flags the bytes of one kind (a quote, a backslash, a control character,
        // non-ASCII) by their high bit; a borrow can flag a byte above a flagged one falsely, never the lowest one,
        // so the lowest flag of all four is the first special byte, and that byte decides.
        while self.count - at >= 8 {
            let word = load64(self.base, at)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let control = (word &- ones &* 0x20) & ~word & highs
            let quotes = (quote &- ones) & ~quote & highs
            let backslashes = (backslash &- ones) & ~backslash & highs
            let flags = control | quotes | backslashes | (word & highs)
            if flags != 0 {
                let first = at &+ flags.trailingZeroBitCount &>> 3
                return load8(self.base, first) == UInt8(ascii: "\"") ? first : nil
            }
            at += 8
        }
        while at < self.count {
            let c = self.base.load(fromByteOffset: at, as: UInt8.self)
            if c == UInt8(ascii: "\"") { return at }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return nil }
            at += 1
        }
        return nil
    }

    /// Decodes the string at `index` (its opening quote) into `scratch` as the reference parser does: escapes,
    /// surrogate pairs, well-formed UTF-8 only, no control characters.
    private mutating func decodeStringSlow() throws(GeneratedCodecFailure) {
        self.scratch.removeAll(keepingCapacity: true)
        self.index += 1
        let bytes = UnsafeRawBufferPointer(start: self.base, count: self.count)
        while true {
            guard self.index < self.count else { throw .invalid }
            let c = self.byte(self.index)
            switch c {
            case UInt8(ascii: "\""):
                self.index += 1
                return
            case UInt8(ascii: "\\"):
                self.index += 1
                let scalar = try self.readEscape()
                UTF8.encode(scalar) { self.scratch.append($0) }
            case 0..<0x20:
                throw .invalid
            case 0x80...:
                guard let length = JSONParser.validUTF8Sequence(bytes, at: self.index) else { throw .invalid }
                for offset in 0..<length { self.scratch.append(self.byte(self.index + offset)) }
                self.index += length
            default:
                self.scratch.append(c)
                self.index += 1
            }
        }
    }

    private mutating func readEscape() throws(GeneratedCodecFailure) -> Unicode.Scalar {
        let c = self.byte(self.index)
        self.index += 1
        switch c {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try self.readHex4()
            if (0xD800..<0xDC00).contains(high) {
                guard self.byte(self.index) == UInt8(ascii: "\\"), self.byte(self.index + 1) == UInt8(ascii: "u") else {
                    throw .invalid
                }
                self.index += 2
                let low = try self.readHex4()
                guard (0xDC00..<0xE000).contains(low),
                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                else { throw .invalid }
                return scalar
            }
            guard let scalar = Unicode.Scalar(high) else { throw .invalid }
            return scalar
        default:
            throw .invalid
        }
    }

    private mutating func readHex4() throws(GeneratedCodecFailure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = self.byte(self.index)
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw .invalid
            }
            value = value << 4 | UInt32(digit)
            self.index += 1
        }
        return value
    }

    /// Reads a string value and hands its UTF-8 to `body`: in place when plain, else decoded into `scratch`.
    @inline(__always) private mutating func withStringBytes<R>(
        _ body: (UnsafeRawBufferPointer) throws(GeneratedCodecFailure) -> R
    ) throws(GeneratedCodecFailure) -> R {
        let start = self.index + 1
        if let end = self.plainStringEnd(from: start) {
            self.index = end + 1
            return try body(UnsafeRawBufferPointer(start: self.base + start, count: end - start))
        }
        try self.decodeStringSlow()
        let scratch = self.scratch
        let result = scratch.withUnsafeBytes { bytes in Result { () throws(GeneratedCodecFailure) -> R in try body(bytes) } }
        return try result.get()
    }

    mutating func readString() throws(GeneratedCodecFailure) -> String {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "\"") else { throw .invalid }
        let strings = self.strings
        // Plain strings are printable ASCII, and decoded ones were checked as they were read.
        return try self.withStringBytes { bytes in
            strings.string(validUTF8: bytes.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// An enum given by name: `match` says which value (1-based, 0 if unknown). Anything but a string is refused.
    @inline(__always) mutating func readEnum(_ match: (UnsafeRawPointer, Int) -> Int) throws(GeneratedCodecFailure) -> Int {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "\"") else { throw .invalid }
        return try self.withStringBytes { bytes in match(bytes.baseAddress ?? generatedEmptyBase, bytes.count) }
    }

    mutating func readBytes() throws(GeneratedCodecFailure) -> Data {
        self.skipWhitespace()
        guard self.byte(self.index) == UInt8(ascii: "\"") else { throw .invalid }
        return try self.withStringBytes { (text) throws(GeneratedCodecFailure) -> Data in
            if let data = Base64.decodeCanonical(text) { return data }
            // Unpadded, or anything unusual: the reference decides.
            guard let decoded = MesosJSONReader.decodeStandardBase64(String(decoding: text, as: UTF8.self)) else {
                throw .invalid
            }
            return Data(decoded)
        }
    }

    mutating func readBool() throws(GeneratedCodecFailure) -> Bool {
        self.skipWhitespace()
        switch self.byte(self.index) {
        case UInt8(ascii: "t"):
            guard self.count - self.index >= 4, load32(self.base, self.index) == 0x6575_7274 else { throw .invalid }
            self.index += 4
            return true
        case UInt8(ascii: "f"):
            guard self.count - self.index >= 5, load32(self.base, self.index + 1) == 0x6573_6c61 else { throw .invalid }
            self.index += 5
            return false
        case UInt8(ascii: "\""):
            return try self.withStringBytes { (text) throws(GeneratedCodecFailure) -> Bool in
                if text.count == 4, load32(text.baseAddress ?? generatedEmptyBase, 0) == 0x6575_7274 { return true }
                if text.count == 5, load8(text.baseAddress ?? generatedEmptyBase, 0) == UInt8(ascii: "f"),
                    load32(text.baseAddress ?? generatedEmptyBase, 1) == 0x6573_6c61
                {
                    return false
                }
                throw .invalid
            }
        default:
            throw .invalid
        }
    }

    // MARK: Numbers

    /// A number as the master writes it, `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 19 significant digits (so
    /// none wrapped), read in one pass: its digits as one whole number, how many follow the point (-1 without a
    /// point), its sign, and where it began. nil, reading nothing, for anything else (an exponent, more digits, no
    /// digit after the point), which ``numberToken()`` and the reference's rules then read.
    ///
    /// It ends where ``JSONNumberGrammar/match(_:from:)`` ends: at the first byte that cannot continue it.
    @inline(__always) private mutating func plainNumber() -> (mantissa: UInt64, fraction: Int, negative: Bool, start: Int)? {
        let start = self.index
        var at = start
        let negative = self.byte(at) == UInt8(ascii: "-")
        if negative { at += 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var c = self.byte(at)
        if c == UInt8(ascii: "0") {
            at += 1
            c = self.byte(at)
        } else {
            guard (c &- UInt8(ascii: "1")) < 9 else { return nil }
            repeat {
                mantissa = mantissa &* 10 &+ UInt64(c &- UInt8(ascii: "0"))
                significant += 1
                at += 1
                c = self.byte(at)
            } while (c &- UInt8(ascii: "0")) < 10
        }
        var fraction = -1
        if c == UInt8(ascii: ".") {
            at += 1
            c = self.byte(at)
            guard (c &- UInt8(ascii: "0")) < 10 else { return nil }
            fraction = 0
            repeat {
                mantissa = mantissa &* 10 &+ UInt64(c &- UInt8(ascii: "0"))
                if significant != 0 || mantissa != 0 { significant += 1 }
                fraction += 1
                at += 1
                c = self.byte(at)
            } while (c &- UInt8(ascii: "0")) < 10
        }
        guard significant <= 19, c != UInt8(ascii: "e"), c != UInt8(ascii: "E") else { return nil }
        self.index = at
        return (mantissa, fraction, negative, start)
    }

    /// The bytes from `start` to the index: a number ``plainNumber()`` read.
    @inline(__always) private func token(from start: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: self.base + start, count: self.index - start)
    }

    /// A number token's bytes, checked against the JSON grammar: what ``plainNumber()`` leaves (exponents, more
    /// digits), for the reference's rules.
    private mutating func numberToken() throws(GeneratedCodecFailure) -> UnsafeRawBufferPointer {
        let bytes = UnsafeRawBufferPointer(start: self.base, count: self.count)
        guard let end = JSONNumberGrammar.match(bytes, from: self.index) else { throw .invalid }
        defer { self.index = end }
        return UnsafeRawBufferPointer(start: self.base + self.index, count: end - self.index)
    }

    /// `-?(0|[1-9][0-9]{0,17})`: the value, or nil when the text needs the reference's rules.
    @inline(__always) private static func plainInteger(_ text: UnsafeRawBufferPointer) -> Int64? {
        guard let p = text.baseAddress, !text.isEmpty else { return nil }
        var at = 0
        let negative = load8(p, 0) == UInt8(ascii: "-")
        if negative { at = 1 }
        let digits = text.count - at
        guard digits >= 1, digits <= 18 else { return nil }
        if digits > 1 && load8(p, at) == UInt8(ascii: "0") { return nil }
        var value: Int64 = 0
        while at < text.count {
            let digit = load8(p, at) &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value &* 10 &+ Int64(digit)
            at += 1
        }
        return negative ? -value : value
    }

    /// A signed integer of `bits` (32 or 64), as the reference reads it.
    @inline(__always) private mutating func readSigned(bits: Int) throws(GeneratedCodecFailure) -> Int64 {
        let minimum: Int64 = bits == 32 ? Int64(Int32.min) : Int64.min
        let maximum: Int64 = bits == 32 ? Int64(Int32.max) : Int64.max
        self.skipWhitespace()
        let c = self.byte(self.index)
        if c == UInt8(ascii: "\"") {
            return try self.withStringBytes { (text) throws(GeneratedCodecFailure) -> Int64 in
                if let value = Self.plainInteger(text) { return min(max(value, minimum), maximum) }
                return try Self.signedSlow(text, trim: true, bits: bits)
            }
        }
        if let number = self.plainNumber() {
            if number.fraction < 0 && number.mantissa < 1_000_000_000_000_000_000 {
                let value = Int64(number.mantissa)
                return min(max(number.negative ? -value : value, minimum), maximum)
            }
            return try Self.signedSlow(self.token(from: number.start), trim: false, bits: bits)
        }
        guard c == UInt8(ascii: "-") || (c &- UInt8(ascii: "0")) < 10 else { throw .invalid }
        return try Self.signedSlow(try self.numberToken(), trim: false, bits: bits)
    }

    @inline(__always) private mutating func readUnsigned(bits: Int) throws(GeneratedCodecFailure) -> UInt64 {
        let maximum: UInt64 = bits == 32 ? UInt64(UInt32.max) : UInt64.max
        self.skipWhitespace()
        let c = self.byte(self.index)
        if c == UInt8(ascii: "\"") {
            return try self.withStringBytes { (text) throws(GeneratedCodecFailure) -> UInt64 in
                if let value = Self.plainInteger(text) { return value < 0 ? 0 : min(UInt64(value), maximum) }
                return try Self.unsignedSlow(text, trim: true, bits: bits)
            }
        }
        if let number = self.plainNumber() {
            if number.fraction < 0 && number.mantissa < 1_000_000_000_000_000_000 {
                return number.negative ? 0 : min(number.mantissa, maximum)
            }
            return try Self.unsignedSlow(self.token(from: number.start), trim: false, bits: bits)
        }
        guard c == UInt8(ascii: "-") || (c &- UInt8(ascii: "0")) < 10 else { throw .invalid }
        return try Self.unsignedSlow(try self.numberToken(), trim: false, bits: bits)
    }

    private static func text(_ bytes: UnsafeRawBufferPointer, trim: Bool) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return trim ? String(text.trimmingWhitespace()) : text
    }

    private static func signedSlow(_ bytes: UnsafeRawBufferPointer, trim: Bool, bits: Int) throws(GeneratedCodecFailure) -> Int64 {
        guard let canonical = MesosJSONReader.integerText(Self.text(bytes, trim: trim), signed: true, bits: bits),
            let value = Int64(canonical)
        else { throw .invalid }
        return value
    }

    private static func unsignedSlow(_ bytes: UnsafeRawBufferPointer, trim: Bool, bits: Int) throws(GeneratedCodecFailure) -> UInt64 {
        guard let canonical = MesosJSONReader.integerText(Self.text(bytes, trim: trim), signed: false, bits: bits),
            let value = UInt64(canonical)
        else { throw .invalid }
        return value
    }

    mutating func readInt32() throws(GeneratedCodecFailure) -> Int32 { Int32(truncatingIfNeeded: try self.readSigned(bits: 32)) }
    mutating func readInt64() throws(GeneratedCodecFailure) -> Int64 { try self.readSigned(bits: 64) }
    mutating func readUInt32() throws(GeneratedCodecFailure) -> UInt32 { UInt32(truncatingIfNeeded: try self.readUnsigned(bits: 32)) }
    mutating func readUInt64() throws(GeneratedCodecFailure) -> UInt64 { try self.readUnsigned(bits: 64) }

    /// A double as a number or a string (`"1.5"`, `"Infinity"`); `"NaN"` is refused, as the master refuses it.
    mutating func readDouble() throws(GeneratedCodecFailure) -> Double {
        self.skipWhitespace()
        let c = self.byte(self.index)
        if c == UInt8(ascii: "\"") {
            return try self.withStringBytes { (bytes) throws(GeneratedCodecFailure) -> Double in
                let text = Self.text(bytes, trim: true)
                if text == "Infinity" { return .infinity }
                if text == "-Infinity" { return -.infinity }
                guard JSONNumberGrammar.isNumber(text) else { throw .invalid }
                return try Self.double(text)
            }
        }
        if let number = self.plainNumber() {
            // A whole number a double holds exactly (at most 2^53), divided by an exact power of ten (at most 10^22):
            // one division gives the correctly rounded double, what strtod gives. A timestamp such as
            // 1700000000.068438 (16 digits) is one.
            if number.mantissa <= 1 << 53 && number.fraction <= 22 {
                var value = Double(number.mantissa)
                if number.fraction > 0 { value /= Self.powersOfTen[number.fraction] }
                return number.negative ? -value : value
            }
            return try Self.double(String(decoding: self.token(from: number.start), as: UTF8.self))
        }
        guard c == UInt8(ascii: "-") || (c &- UInt8(ascii: "0")) < 10 else { throw .invalid }
        return try Self.double(String(decoding: try self.numberToken(), as: UTF8.self))
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// What swift-protobuf reads from the reference's canonical text: infinite values become `"Infinity"`, and
    /// finite numbers of 128 characters or more are refused (its parse buffer).
    private static func double(_ text: String) throws(GeneratedCodecFailure) -> Double {
        guard let value = Double(text) else { throw .invalid }
        if value.isFinite && text.utf8.count >= 128 { throw .invalid }
        return value
    }

    // MARK: Unknown values

    /// Skips any one JSON value, checking it as strictly as the reference parser does.
    mutating func skipValue() throws(GeneratedCodecFailure) {
        self.skipWhitespace()
        switch self.byte(self.index) {
        case UInt8(ascii: "{"):
            self.index += 1
            try self.enter()
            self.skipWhitespace()
            if self.byte(self.index) == UInt8(ascii: "}") {
                self.index += 1
                self.depth -= 1
                return
            }
            repeat {
                self.skipWhitespace()
                guard self.byte(self.index) == UInt8(ascii: "\"") else { throw .invalid }
                try self.skipString()
                try self.readColon()
                try self.skipValue()
            } while try self.nextMember()
        case UInt8(ascii: "["):
            self.index += 1
            try self.enter()
            guard self.arrayHasElements() else { return }
            repeat { try self.skipValue() } while try self.nextElement()
        case UInt8(ascii: "\""):
            try self.skipString()
        case UInt8(ascii: "t"):
            guard self.count - self.index >= 4, load32(self.base, self.index) == 0x6575_7274 else { throw .invalid }
            self.index += 4
        case UInt8(ascii: "f"):
            guard self.count - self.index >= 5, load32(self.base, self.index + 1) == 0x6573_6c61 else { throw .invalid }
            self.index += 5
        case UInt8(ascii: "n"):
            guard self.skipNull() else { throw .invalid }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try self.numberToken()
        default:
            throw .invalid
        }
    }

    private mutating func skipString() throws(GeneratedCodecFailure) {
        if let end = self.plainStringEnd(from: self.index + 1) {
            self.index = end + 1
        } else {
            try self.decodeStringSlow()
        }
    }
}

/// Standard base64 with padding, read in place.
enum Base64 {
    /// 0...63 for the standard alphabet, 0xFF for anything else.
    static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Decodes padded standard base64 whose unused bits are zero; nil for anything else (which the reference then
    /// judges).
    static func decodeCanonical(_ text: UnsafeRawBufferPointer) -> Data? {
        let count = text.count
        guard count % 4 == 0 else { return nil }
        if count == 0 { return Data() }
        guard let p = text.baseAddress else { return nil }
        var padding = 0
        if load8(p, count - 1) == UInt8(ascii: "=") { padding = load8(p, count - 2) == UInt8(ascii: "=") ? 2 : 1 }
        let outputCount = count / 4 * 3 - padding
        // Small values (IDs, UUIDs) are decoded into a temporary on the stack and copied into the `Data` once:
        // filling a `Data(count:)` in place cost five dynamic exclusivity checks inside Foundation (its length is
        // set four times). Larger ones are decoded in place, where one copy costs more than those checks.
        if outputCount <= 256 {
            return withUnsafeTemporaryAllocation(byteCount: outputCount, alignment: 1) { out -> Data? in
                guard Self.decodeQuads(p, count, padding, into: out) else { return nil }
                return Data(bytes: out.baseAddress!, count: outputCount)
            }
        }
        var data = Data(count: outputCount)
        let ok = data.withUnsafeMutableBytes { out in Self.decodeQuads(p, count, padding, into: out) }
        return ok ? data : nil
    }

    /// Decodes `count` bytes of base64 at `p` (a multiple of 4, `padding` of them `=`) into `out`, which holds
    /// exactly the decoded bytes; false if a character is not in the alphabet or the unused bits are not zero.
    @inline(__always)
    private static func decodeQuads(_ p: UnsafeRawPointer, _ count: Int, _ padding: Int, into out: UnsafeMutableRawBufferPointer) -> Bool {
        Self.table.withUnsafeBufferPointer { table -> Bool in
            var written = 0
            var at = 0
            while at < count {
                let a = table[Int(load8(p, at))]
                let b = table[Int(load8(p, at + 1))]
                let lastQuad = at + 4 == count
                let cByte = load8(p, at + 2)
                let dByte = load8(p, at + 3)
                let c = lastQuad && padding == 2 ? 0 : table[Int(cByte)]
                let d = lastQuad && padding >= 1 ? 0 : table[Int(dByte)]
                guard a | b | c | d < 64 else { return false }
                let triple = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                if lastQuad && padding > 0 {
                    // The bits a shorter input leaves unused must be zero.
                    if padding == 2 && triple & 0xFFFF != 0 { return false }
                    if padding == 1 && triple & 0xFF != 0 { return false }
                    out[written] = UInt8(truncatingIfNeeded: triple >> 16)
                    if padding == 1 { out[written + 1] = UInt8(truncatingIfNeeded: triple >> 8) }
                    written += 3 - padding
                } else {
                    out[written] = UInt8(truncatingIfNeeded: triple >> 16)
                    out[written + 1] = UInt8(truncatingIfNeeded: triple >> 8)
                    out[written + 2] = UInt8(truncatingIfNeeded: triple)
                    written += 3
                }
                at += 4
            }
            return true
        }
    }

    /// Padded standard base64 of `data`, appended to `out`.
    static func encode(_ data: Data, into out: inout [UInt8]) {
        let count = data.count
        out.reserveCapacity(out.count + (count + 2) / 3 * 4)
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            Self.alphabet.withUnsafeBufferPointer { alphabet in
                var at = 0
                while at + 3 <= count {
                    let triple = UInt32(bytes[at]) << 16 | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2])
                    out.append(alphabet[Int(triple >> 18 & 63)])
                    out.append(alphabet[Int(triple >> 12 & 63)])
                    out.append(alphabet[Int(triple >> 6 & 63)])
                    out.append(alphabet[Int(triple & 63)])
                    at += 3
                }
                let left = count - at
                if left > 0 {
                    let triple = UInt32(bytes[at]) << 16 | (left == 2 ? UInt32(bytes[at + 1]) << 8 : 0)
                    out.append(alphabet[Int(triple >> 18 & 63)])
                    out.append(alphabet[Int(triple >> 12 & 63)])
                    out.append(left == 2 ? alphabet[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
                    out.append(UInt8(ascii: "="))
                }
            }
        }
    }
}
