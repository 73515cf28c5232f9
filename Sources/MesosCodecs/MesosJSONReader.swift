import FoundationEssentials

/// Reads JSON the way the Mesos master does (stout's `protobuf::parse`), and writes it back in the canonical form
/// swift-protobuf reads, or says exactly which field is wrong, in the master's own words.
///
/// What the master accepts beyond canonical protobuf JSON (recorded from a 1.11 master, see
/// `Fixtures/mesos-1.11/json/encoding_probe.json`):
/// - integers as numbers or numeric strings (`"3000000000"`, `" 42"`, `"3e9"`), fractions truncated;
/// - doubles as numbers or strings (`"1.5"`, `"Infinity"`); `"NaN"` is refused;
/// - booleans as `true`/`false` or those strings; never a number;
/// - bytes in standard base64, with or without padding; URL-safe base64 is refused;
/// - enums only by exact name; an unknown name drops an optional field (and a repeated element) and fails
///   a required one;
/// - unknown keys ignored, `null` means absent, a single value where a list is expected is a one-element list.
struct MesosJSONReader {
    struct Problem: Error {
        var field: String
        var message: String
    }

    let schema: MesosSchema
    /// Whether an enum name the schema does not know is dropped from a required field too (a newer master's value;
    /// see ``MessageCodec/decodeNewerEvent(_:from:refused:)``), instead of refused as Mesos refuses it.
    var dropsUnknownRequiredEnums = false

    /// The canonical JSON for a message of type `typeName`.
    func canonicalJSON(_ value: JSONValue, typeName: String) throws(Problem) -> [UInt8] {
        guard case .object = value else {
            throw Problem(field: "", message: "Expecting a JSON object")
        }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try self.writeMessage(value, typeName: typeName, path: "", into: &out)
        return out
    }

    private func writeMessage(
        _ value: JSONValue,
        typeName: String,
        path: String,
        into out: inout [UInt8]
    ) throws(Problem) {
        guard case .object(let members) = value, let info = self.schema.message(typeName) else {
            throw Problem(field: path, message: "Expecting a JSON object")
        }
        out.append(UInt8(ascii: "{"))
        var first = true
        for member in members {
            guard let index = info.byName[member.key] else { continue }  // unknown keys are ignored
            if case .null = member.value { continue }  // null means absent
            let field = info.fields[index]
            let fieldPath = path.isEmpty ? field.name : path + "." + field.name
            var written: [UInt8] = []
            if let entry = self.schema.mapEntry(of: field) {
                guard try self.writeMap(member.value, entry: entry, field: field, path: fieldPath, into: &written) else {
                    continue
                }
            } else if field.isRepeated {
                let elements: [JSONValue]
                if case .array(let array) = member.value { elements = array } else { elements = [member.value] }
                written.append(UInt8(ascii: "["))
                var count = 0
                for (position, element) in elements.enumerated() {
                    var item: [UInt8] = []
                    guard try self.writeValue(element, field: field, path: "\(fieldPath)[\(position)]", into: &item)
                    else { continue }
                    if count > 0 { written.append(UInt8(ascii: ",")) }
                    written += item
                    count += 1
                }
                written.append(UInt8(ascii: "]"))
            } else {
                guard try self.writeValue(member.value, field: field, path: fieldPath, into: &written) else { continue }
            }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            Self.writeString(field.name, into: &out)
            out.append(UInt8(ascii: ":"))
            out += written
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Writes a map field (a JSON object keyed by the map's key); false when there is nothing to write.
    private func writeMap(
        _ value: JSONValue,
        entry: MesosSchema.MessageInfo,
        field: MesosSchema.Field,
        path: String,
        into out: inout [UInt8]
    ) throws(Problem) -> Bool {
        guard case .object(let members) = value else {
            throw Problem(field: path, message: "Not expecting a JSON \(value.kindName) for field '\(field.name)'")
        }
        guard let valueIndex = entry.byName["value"] else { return false }
        out.append(UInt8(ascii: "{"))
        var count = 0
        for member in members {
            var item: [UInt8] = []
            guard try self.writeValue(member.value, field: entry.fields[valueIndex], path: "\(path)[\(member.key)]", into: &item)
            else { continue }
            if count > 0 { out.append(UInt8(ascii: ",")) }
            Self.writeString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            out += item
            count += 1
        }
        out.append(UInt8(ascii: "}"))
        return true
    }

    /// Writes one value of `field`; false when Mesos would drop it (an unknown enum name where that is allowed).
    private func writeValue(
        _ value: JSONValue,
        field: MesosSchema.Field,
        path: String,
        into out: inout [UInt8]
    ) throws(Problem) -> Bool {
        func notExpecting() -> Problem {
            Problem(field: path, message: "Not expecting a JSON \(value.kindName) for field '\(field.name)'")
        }
        switch field.kind {
        case .message(let typeName):
            guard case .object = value else { throw notExpecting() }
            try self.writeMessage(value, typeName: typeName, path: path, into: &out)

        case .string:
            guard case .string(let text) = value else { throw notExpecting() }
            Self.writeString(text, into: &out)

        case .bytes:
            guard case .string(let text) = value else { throw notExpecting() }
            guard let data = Self.decodeStandardBase64(text) else {
                let bad = text.first { !Self.isBase64Character($0) }.map { String($0) } ?? text
                throw Problem(
                    field: path,
                    message: "Failed to base64 decode bytes field '\(field.name)': Invalid character '\(bad)'"
                )
            }
            Self.writeString(Data(data).base64EncodedString(), into: &out)

        case .bool:
            switch value {
            case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
            case .string("true"): out += Array("true".utf8)
            case .string("false"): out += Array("false".utf8)
            case .string(let text):
                throw Problem(field: path, message: "Failed to parse '\(text)' as a JSON boolean for field '\(field.name)'")
            default: throw notExpecting()
            }

        case .signed(let bits), .unsigned(let bits):
            let text: String
            switch value {
            case .number(let number): text = number
            case .string(let string): text = String(string.trimmingWhitespace())
            default: throw notExpecting()
            }
            guard let integer = Self.integerText(text, signed: field.kind == .signed(bits: bits), bits: bits) else {
                throw Self.notANumber(text, field: field, path: path)
            }
            out += Array(integer.utf8)

        case .floating:
            let text: String
            switch value {
            case .number(let number): text = number
            case .string(let string): text = String(string.trimmingWhitespace())
            default: throw notExpecting()
            }
            if text == "Infinity" || text == "-Infinity" {
                Self.writeString(text, into: &out)
            } else if JSONNumberGrammar.isNumber(text), let number = Double(text) {
                out += Array((number.isFinite ? text : (number > 0 ? "\"Infinity\"" : "\"-Infinity\"")).utf8)
            } else {
                throw Self.notANumber(text, field: field, path: path)
            }

        case .enumeration(let typeName):
            guard case .string(let name) = value else { throw notExpecting() }
            guard self.schema.enums[typeName]?.numberByName[name] != nil else {
                if field.isRequired && !self.dropsUnknownRequiredEnums {
                    throw Problem(field: path, message: "Failed to find enum for '\(name)'")
                }
                return false
            }
            Self.writeString(name, into: &out)
        }
        return true
    }

    /// The master parses a numeric string as a JSON document and quotes that parser's complaint.
    private static func notANumber(_ text: String, field: MesosSchema.Field, path: String) -> Problem {
        Problem(
            field: path,
            message: "Failed to parse '\(text)' as a JSON number for field '\(field.name)': syntax error at line 1 near: \(text)"
        )
    }

    /// The canonical decimal text of an integer given as a JSON number or numeric string: fractions truncated
    /// toward zero, values past the type's range clamped to it (as the master accepts `"9223372036854775808"`).
    static func integerText(_ text: String, signed: Bool, bits: Int) -> String? {
        guard JSONNumberGrammar.isNumber(text) else { return nil }
        let (minimum, maximum): (Int64, UInt64) =
            switch (signed, bits) {
            case (true, 32): (Int64(Int32.min), UInt64(Int32.max))
            case (true, _): (Int64.min, UInt64(Int64.max))
            case (false, 32): (0, UInt64(UInt32.max))
            case (false, _): (0, UInt64.max)
            }
        if let exact = Int64(text) {
            return exact < 0 ? String(max(exact, minimum)) : String(min(UInt64(exact), maximum))
        }
        if let exact = UInt64(text) {
            return String(min(exact, maximum))
        }
        // An exponent, a fraction, or digits past 64 bits: go through Double, truncate, clamp.
        guard let number = Double(text) else { return nil }
        let truncated = number.rounded(.towardZero)
        if truncated < 0 {
            return truncated <= Double(minimum) ? String(minimum) : String(Int64(truncated))
        }
        return truncated >= Double(maximum) ? String(maximum) : String(UInt64(truncated))
    }

    private static func isBase64Character(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "+" || character == "/" || character == "=")
    }

    /// Standard base64 (`+/`), padding optional; nil for anything else.
    static func decodeStandardBase64(_ text: String) -> [UInt8]? {
        var padded = Substring(text)
        while padded.hasSuffix("=") { padded = padded.dropLast() }
        guard padded.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }),
            padded.count % 4 != 1
        else { return nil }
        let canonical = String(padded) + String(repeating: "=", count: (4 - padded.count % 4) % 4)
        guard let data = Data(base64Encoded: canonical) else { return nil }
        return Array(data)
    }

    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
