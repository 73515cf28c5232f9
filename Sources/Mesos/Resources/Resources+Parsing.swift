import SwiftProtobuf

extension Resources {
    /// Parses resources written as Mesos writes them on an agent command line (`Resources::parse`).
    ///
    /// Two forms are accepted. If `text` is a JSON array, it is read as an array of `Resource` objects (field names
    /// as in the proto, unknown keys ignored, as Mesos does); a resource with neither `role` nor `reservations` gets
    /// `defaultRole`. Anything else is the text form, `;`-separated `name(role):value` items:
    ///
    /// ```
    /// cpus:1;mem:128;disk(eng):10;ports:[31000-31005,32000-32000];zones:{a,b}
    /// ```
    ///
    /// - The role is optional and defaults to `defaultRole`. A role other than `*` makes a `STATIC` reservation
    ///   (in the `reservations` stack); `*` means unreserved.
    /// - A value is a non-negative scalar (`0.5`, `1e3`), ranges of unsigned integers (`[1-5,8-9]`; coalesced), or a
    ///   set (`{a,b}`).
    /// - Whitespace around names and roles and anywhere inside values is ignored, and so are empty items
    ///   (`cpus:1; ;mem:2;`).
    /// - Items with the same name and reservation add up (`cpus:1;cpus:2` is `cpus:3`); zero amounts are dropped.
    ///
    /// As in Mesos, resources only a framework may create are refused: persistent volumes, revocable resources,
    /// dynamic reservations (all only possible in the JSON form). Compared with Mesos this is stricter in a few
    /// places where Mesos accepts odd input silently: text after a role's `)`, a `)` without `(`, and an inverted
    /// range in the text form that another range happens to cover.
    ///
    /// - Parameters:
    ///   - text: The resources, in the text or JSON form.
    ///   - defaultRole: The reservation role of resources that don't name one; `*` for unreserved.
    /// - Throws: ``ResourcesParseError`` naming the offending token and its offset.
    public init(parsing text: String, defaultRole: String = "*") throws(ResourcesParseError) {
        let items: [ParsedItem]
        if let elements = JSONArraySyntax.elements(of: text) {
            items = try Self.parseJSON(text, elements: elements, defaultRole: defaultRole)
        } else {
            items = try TextForm(text).parse(defaultRole: defaultRole)
        }
        var result = Resources()
        var types: [String: Mesos_V1_Value.TypeEnum] = [:]
        for item in items {
            if let problem = item.resource.validationProblem {
                throw ResourcesParseError(
                    code: problem.code,
                    message: problem.message,
                    token: item.token,
                    offset: item.offset
                )
            }
            guard let entry = Entry(validating: item.resource), !entry.isEmpty else { continue }
            if let problem = Self.commandLineProblem(entry.resource, knownTypes: types) {
                throw ResourcesParseError(
                    code: problem.code,
                    message: problem.message,
                    token: item.token,
                    offset: item.offset
                )
            }
            types[entry.resource.name] = entry.resource.type
            result.add(entry)
        }
        self = result
    }

    /// A resource read from the input, with where it was written.
    private struct ParsedItem {
        var resource: Mesos_V1_Resource
        var token: String
        var offset: Int
    }

    /// What Mesos refuses in resources given on the command line, even when valid elsewhere.
    private static func commandLineProblem(
        _ resource: Mesos_V1_Resource,
        knownTypes: [String: Mesos_V1_Value.TypeEnum]
    ) -> (code: ResourcesParseError.Code, message: String)? {
        if resource.isPersistentVolume {
            return (.notAllowed, "persistent volumes cannot be given as resource text")
        }
        if resource.hasRevocable {
            return (.notAllowed, "revocable resources cannot be given as resource text")
        }
        if resource.isDynamicallyReserved {
            return (.notAllowed, "dynamic reservations cannot be given as resource text")
        }
        if let known = knownTypes[resource.name], known != resource.type {
            return (
                .conflictingTypes,
                "resource '\(resource.name)' is given as both \(known) and \(resource.type)"
            )
        }
        return nil
    }

    private static func parseJSON(
        _ text: String,
        elements: [(offset: Int, text: String)],
        defaultRole: String
    ) throws(ResourcesParseError) -> [ParsedItem] {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let resources: [Mesos_V1_Resource]
        do {
            resources = try Mesos_V1_Resource.array(fromJSONString: text, options: options)
        } catch {
            // Decode the elements one by one to point at the one that is wrong.
            for element in elements {
                do {
                    _ = try Mesos_V1_Resource(jsonString: element.text, options: options)
                } catch {
                    throw ResourcesParseError(
                        code: .invalidJSON,
                        message: "not a Resource object (\(error))",
                        token: element.text,
                        offset: element.offset
                    )
                }
            }
            throw ResourcesParseError(
                code: .invalidJSON,
                message: "not an array of Resource objects (\(error))",
                token: text,
                offset: 0
            )
        }
        var items: [ParsedItem] = []
        for (index, decoded) in resources.enumerated() {
            let (token, offset) = index < elements.count ? (elements[index].text, elements[index].offset) : (text, 0)
            var resource = decoded
            for (present, field) in [(resource.hasName, "name"), (resource.hasType, "type")] where !present {
                throw ResourcesParseError(
                    code: .invalidJSON,
                    message: "the required field '\(field)' is missing",
                    token: token,
                    offset: offset
                )
            }
            if !resource.hasRole && resource.reservations.isEmpty { resource.role = defaultRole }
            items.append(ParsedItem(resource: resource, token: token, offset: offset))
        }
        return items
    }
}

// MARK: - Text form

extension Resources {
    /// The `name(role):value;…` form, read over `Character`s so offsets count characters.
    private struct TextForm {
        let characters: [Character]

        init(_ text: String) { self.characters = Array(text) }

        func parse(defaultRole: String) throws(ResourcesParseError) -> [ParsedItem] {
            var items: [ParsedItem] = []
            for item in self.split(0..<self.characters.count, on: [";"]) {
                if self.trimmed(item).isEmpty { continue }
                items.append(try self.parseItem(item, defaultRole: defaultRole))
            }
            return items
        }

        private func parseItem(_ item: Range<Int>, defaultRole: String) throws(ResourcesParseError) -> ParsedItem {
            let token = self.text(item)
            // Like Mesos, split on ':' and ignore empty pieces; anything but two pieces is an error.
            let pieces = self.split(item, on: [":"])
            guard pieces.count == 2 else {
                throw ResourcesParseError(
                    code: .missingColon,
                    message: "expected 'name:value' with a single ':'",
                    token: token,
                    offset: item.lowerBound
                )
            }
            let (head, value) = (pieces[0], pieces[1])
            let open = head.first { self.characters[$0] == "(" }
            let close = head.first { self.characters[$0] == ")" }
            let nameRange: Range<Int>
            var role = defaultRole
            var roleOffset = item.lowerBound
            switch (open, close) {
            case (nil, nil):
                nameRange = head
            case (let open?, let close?) where open < close:
                let after = self.trimmed(close + 1..<head.upperBound)
                guard after.isEmpty else {
                    throw ResourcesParseError(
                        code: .mismatchedParentheses,
                        message: "unexpected text after the role's ')'",
                        token: self.text(after),
                        offset: after.lowerBound
                    )
                }
                nameRange = head.lowerBound..<open
                let roleRange = self.trimmed(open + 1..<close)
                role = self.text(roleRange)
                roleOffset = roleRange.isEmpty ? open + 1 : roleRange.lowerBound
            default:
                throw ResourcesParseError(
                    code: .mismatchedParentheses,
                    message: "mismatched parentheses around the role",
                    token: self.text(head),
                    offset: head.lowerBound
                )
            }
            let trimmedName = self.trimmed(nameRange)
            guard !trimmedName.isEmpty else {
                throw ResourcesParseError(
                    code: .emptyName,
                    message: "empty resource name",
                    token: token,
                    offset: item.lowerBound
                )
            }
            if let problem = MesosRoles.problem(with: role) {
                throw ResourcesParseError(code: .invalidRole, message: problem, token: role, offset: roleOffset)
            }
            var resource = try self.parseValue(value)
            resource.name = self.text(trimmedName)
            if role != "*" { resource.reservations = [.static(role: role)] }
            return ParsedItem(resource: resource, token: token, offset: item.lowerBound)
        }

        /// A scalar, `[ranges]` or `{set}` (Mesos `values::parse`), with whitespace removed first.
        private func parseValue(_ range: Range<Int>) throws(ResourcesParseError) -> Mesos_V1_Resource {
            let value = Compacted(self.characters, range)
            guard !value.isEmpty else {
                throw ResourcesParseError(
                    code: .emptyValue,
                    message: "expected a value after ':'",
                    token: self.text(range),
                    offset: range.lowerBound
                )
            }
            for (open, close) in [("{", "}"), ("[", "]"), ("(", ")")] as [(Character, Character)]
            where !value.bracketsBalance(open, close) {
                throw ResourcesParseError(
                    code: .mismatchedBrackets,
                    message: "mismatched '\(open)' and '\(close)'",
                    token: value.text,
                    offset: value.offset(0)
                )
            }
            if let bracket = value.characters.firstIndex(of: "[") {
                guard bracket == 0 else { throw value.unexpected("[") }
                return try self.parseRanges(value)
            }
            if let brace = value.characters.firstIndex(of: "{") {
                guard brace == 0 else { throw value.unexpected("{") }
                return try Self.parseSet(value)
            }
            return try Self.parseScalar(value)
        }

        private func parseRanges(_ value: Compacted) throws(ResourcesParseError) -> Mesos_V1_Resource {
            let bounds = value.tokens(separatedBy: ["[", "]", "-", ","])
            guard bounds.count.isMultiple(of: 2) else {
                throw ResourcesParseError(
                    code: .invalidRange,
                    message: "expected ranges written as 'begin-end'",
                    token: value.text,
                    offset: value.offset(0)
                )
            }
            var ranges: [ClosedRange<UInt64>] = []
            for pair in stride(from: 0, to: bounds.count, by: 2) {
                let (first, second) = (bounds[pair], bounds[pair + 1])
                var numbers: [UInt64] = []
                for bound in [first, second] {
                    guard let number = Self.unsignedInteger(value.text(bound)) else {
                        throw ResourcesParseError(
                            code: .invalidRange,
                            message: "range bounds must be non-negative integers",
                            token: value.text(bound),
                            offset: value.offset(bound.lowerBound)
                        )
                    }
                    numbers.append(number)
                }
                guard numbers[0] <= numbers[1] else {
                    let span = value.offset(first.lowerBound)..<(value.offset(second.upperBound - 1) + 1)
                    throw ResourcesParseError(
                        code: .invalidRange,
                        message: "range \(numbers[0])-\(numbers[1]) has begin > end",
                        token: self.text(span),
                        offset: span.lowerBound
                    )
                }
                ranges.append(numbers[0]...numbers[1])
            }
            return Mesos_V1_Resource(name: "", ranges: ValueRanges(ranges))
        }

        private static func parseSet(_ value: Compacted) throws(ResourcesParseError) -> Mesos_V1_Resource {
            var seen = Set<String>()
            var items: [String] = []
            for token in value.tokens(separatedBy: ["{", "}", ","]) {
                let item = value.text(token)
                guard seen.insert(item).inserted else {
                    throw ResourcesParseError(
                        code: .duplicateSetItem,
                        message: "set item '\(item)' appears more than once",
                        token: item,
                        offset: value.offset(token.lowerBound)
                    )
                }
                items.append(item)
            }
            return Mesos_V1_Resource(name: "", set: items)
        }

        private static func parseScalar(_ value: Compacted) throws(ResourcesParseError) -> Mesos_V1_Resource {
            let text = value.text
            // Mesos reads decimal floating point only; Swift would also take hexadecimal.
            guard !text.contains(where: { $0 == "x" || $0 == "X" }), let number = Double(text) else {
                throw ResourcesParseError(
                    code: .unknownValueSyntax,
                    message: "expected a number, [ranges] or {set}",
                    token: text,
                    offset: value.offset(0)
                )
            }
            let problem: (ResourcesParseError.Code, String)? =
                if number.isNaN || number.isInfinite {
                    (.invalidScalar, "scalar values must be finite numbers")
                } else if number.isSubnormal {
                    (.invalidScalar, "subnormal scalar values are not supported")
                } else if number < 0 {
                    (.negativeScalar, "scalar values cannot be negative")
                } else {
                    nil
                }
            if let (code, message) = problem {
                throw ResourcesParseError(code: code, message: message, token: text, offset: value.offset(0))
            }
            var resource = Mesos_V1_Resource()
            resource.type = .scalar
            resource.scalar.value = number
            return resource
        }

        /// A decimal, or `0x` hexadecimal, unsigned 64-bit integer.
        private static func unsignedInteger(_ text: String) -> UInt64? {
            if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
            return UInt64(text)
        }

        // MARK: Scanning

        static func isWhitespace(_ character: Character) -> Bool {
            character == " " || character == "\t" || character == "\n" || character == "\r" || character == "\r\n"
        }

        func text(_ range: Range<Int>) -> String { String(self.characters[range]) }

        func trimmed(_ range: Range<Int>) -> Range<Int> {
            var lower = range.lowerBound
            var upper = range.upperBound
            while lower < upper && Self.isWhitespace(self.characters[lower]) { lower += 1 }
            while upper > lower && Self.isWhitespace(self.characters[upper - 1]) { upper -= 1 }
            return lower..<upper
        }

        /// The non-empty runs of `range` between `delimiters` (stout `tokenize`).
        func split(_ range: Range<Int>, on delimiters: Set<Character>) -> [Range<Int>] {
            Self.runs(in: range, isDelimiter: { delimiters.contains(self.characters[$0]) })
        }

        static func runs(in range: Range<Int>, isDelimiter: (Int) -> Bool) -> [Range<Int>] {
            var result: [Range<Int>] = []
            var start: Int?
            for index in range {
                if isDelimiter(index) {
                    if let begin = start { result.append(begin..<index) }
                    start = nil
                } else if start == nil {
                    start = index
                }
            }
            if let begin = start { result.append(begin..<range.upperBound) }
            return result
        }
    }

    /// A value with its whitespace removed, remembering where each remaining character was.
    private struct Compacted {
        var characters: [Character] = []
        var offsets: [Int] = []

        init(_ source: [Character], _ range: Range<Int>) {
            for index in range where !TextForm.isWhitespace(source[index]) {
                self.characters.append(source[index])
                self.offsets.append(index)
            }
        }

        var isEmpty: Bool { self.characters.isEmpty }
        var text: String { String(self.characters) }
        func text(_ range: Range<Int>) -> String { String(self.characters[range]) }
        func offset(_ index: Int) -> Int { self.offsets[index] }

        /// Mesos checks each kind of bracket on its own: never more closed than opened, all closed at the end.
        func bracketsBalance(_ open: Character, _ close: Character) -> Bool {
            var depth = 0
            for character in self.characters {
                if character == open { depth += 1 }
                if character == close { depth -= 1 }
                if depth < 0 { return false }
            }
            return depth == 0
        }

        func tokens(separatedBy delimiters: Set<Character>) -> [Range<Int>] {
            TextForm.runs(in: 0..<self.characters.count, isDelimiter: { delimiters.contains(self.characters[$0]) })
        }

        func unexpected(_ bracket: Character) -> ResourcesParseError {
            ResourcesParseError(
                code: .unknownValueSyntax,
                message: "unexpected '\(bracket)': ranges and sets must start with it",
                token: self.text,
                offset: self.offset(0)
            )
        }
    }
}

// MARK: - JSON detection

/// Recognizes a syntactically valid JSON array (RFC 8259, surrounding whitespace allowed) and finds its elements.
/// Mesos tries the JSON form exactly when the text is one; anything else is read as the text form.
private struct JSONArraySyntax {
    private let bytes: [UInt8]
    private var index = 0
    private static let maximumDepth = 512

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The top-level elements with their character offsets, or `nil` when `text` is not a JSON array.
    static func elements(of text: String) -> [(offset: Int, text: String)]? {
        var scanner = JSONArraySyntax(Array(text.utf8))
        guard let spans = scanner.scanDocument() else { return nil }
        return spans.map { span in
            let utf8 = text.utf8
            let start = utf8.index(utf8.startIndex, offsetBy: span.lowerBound)
            let end = utf8.index(utf8.startIndex, offsetBy: span.upperBound)
            return (text.distance(from: text.startIndex, to: start), String(text[start..<end]))
        }
    }

    private mutating func scanDocument() -> [Range<Int>]? {
        self.skipWhitespace()
        guard self.peek == UInt8(ascii: "[") else { return nil }
        self.index += 1
        var spans: [Range<Int>] = []
        self.skipWhitespace()
        if self.peek == UInt8(ascii: "]") {
            self.index += 1
        } else {
            while true {
                self.skipWhitespace()
                let start = self.index
                guard self.scanValue(depth: 1) else { return nil }
                spans.append(start..<self.index)
                self.skipWhitespace()
                if self.consume(UInt8(ascii: ",")) { continue }
                guard self.consume(UInt8(ascii: "]")) else { return nil }
                break
            }
        }
        self.skipWhitespace()
        return self.index == self.bytes.count ? spans : nil
    }

    private var peek: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard self.peek == byte else { return false }
        self.index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { self.index += 1 }
    }

    private mutating func scanValue(depth: Int) -> Bool {
        guard depth <= Self.maximumDepth, let byte = self.peek else { return false }
        switch byte {
        case UInt8(ascii: "{"): return self.scanContainer(close: UInt8(ascii: "}"), keyed: true, depth: depth)
        case UInt8(ascii: "["): return self.scanContainer(close: UInt8(ascii: "]"), keyed: false, depth: depth)
        case UInt8(ascii: "\""): return self.scanString()
        case UInt8(ascii: "t"): return self.scanLiteral("true")
        case UInt8(ascii: "f"): return self.scanLiteral("false")
        case UInt8(ascii: "n"): return self.scanLiteral("null")
        default: return self.scanNumber()
        }
    }

    private mutating func scanContainer(close: UInt8, keyed: Bool, depth: Int) -> Bool {
        self.index += 1
        self.skipWhitespace()
        if self.consume(close) { return true }
        while true {
            self.skipWhitespace()
            if keyed {
                guard self.scanString() else { return false }
                self.skipWhitespace()
                guard self.consume(UInt8(ascii: ":")) else { return false }
                self.skipWhitespace()
            }
            guard self.scanValue(depth: depth + 1) else { return false }
            self.skipWhitespace()
            if self.consume(UInt8(ascii: ",")) { continue }
            return self.consume(close)
        }
    }

    private mutating func scanString() -> Bool {
        guard self.consume(UInt8(ascii: "\"")) else { return false }
        while let byte = self.peek {
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return true
            case UInt8(ascii: "\\"):
                guard let escaped = self.peek else { return false }
                self.index += 1
                if escaped == UInt8(ascii: "u") {
                    for _ in 0..<4 {
                        guard let hex = self.peek,
                            (hex >= 0x30 && hex <= 0x39) || (hex | 0x20 >= 0x61 && hex | 0x20 <= 0x66)
                        else { return false }
                        self.index += 1
                    }
                } else if !"\"\\/bfnrt".utf8.contains(escaped) {
                    return false
                }
            case 0x00..<0x20:
                return false
            default:
                break
            }
        }
        return false
    }

    private mutating func scanLiteral(_ literal: String) -> Bool {
        for byte in literal.utf8 {
            guard self.consume(byte) else { return false }
        }
        return true
    }

    private mutating func scanNumber() -> Bool {
        _ = self.consume(UInt8(ascii: "-"))
        if self.consume(UInt8(ascii: "0")) {
            // A leading zero stands alone.
        } else {
            guard self.scanDigits() else { return false }
        }
        if self.consume(UInt8(ascii: ".")) {
            guard self.scanDigits() else { return false }
        }
        if self.consume(UInt8(ascii: "e")) || self.consume(UInt8(ascii: "E")) {
            if !self.consume(UInt8(ascii: "+")) { _ = self.consume(UInt8(ascii: "-")) }
            guard self.scanDigits() else { return false }
        }
        return true
    }

    /// One or more decimal digits.
    private mutating func scanDigits() -> Bool {
        let start = self.index
        while let byte = self.peek, byte >= 0x30 && byte <= 0x39 { self.index += 1 }
        return self.index > start
    }
}
