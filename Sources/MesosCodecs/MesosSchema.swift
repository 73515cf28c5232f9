import FoundationEssentials
internal import Mesos
internal import SwiftProtobuf

/// The Mesos v1 schema as data (from the descriptor set generated beside the messages), for what swift-protobuf's
/// generated code cannot tell: which required fields are missing and where, and how Mesos reads JSON.
struct MesosSchema: Sendable {
    struct Field: Sendable {
        enum Kind: Sendable, Equatable {
            case message(String)
            case enumeration(String)
            case string, bytes, bool
            case signed(bits: Int)
            case unsigned(bits: Int)
            case floating
        }
        var name: String
        var number: Int
        var kind: Kind
        var isRequired: Bool
        var isRepeated: Bool
    }

    struct MessageInfo: Sendable {
        var fullName: String
        var fields: [Field]
        var byName: [String: Int]
        var byNumber: [Int: Int]
        var isMapEntry: Bool
        var required: [Int] { self.fields.indices.filter { self.fields[$0].isRequired } }
    }

    struct EnumInfo: Sendable {
        var numberByName: [String: Int32]
    }

    private(set) var messages: [String: MessageInfo] = [:]
    private(set) var enums: [String: EnumInfo] = [:]

    static let shared: MesosSchema = {
        // The descriptor set is generated from Protos/ with the messages; failing to read it is a build defect.
        guard let data = Data(base64Encoded: mesosDescriptorSetBase64, options: .ignoreUnknownCharacters),
            let set = try? Google_Protobuf_FileDescriptorSet(serializedBytes: data)
        else { preconditionFailure("the generated Mesos descriptor set is corrupt: run 'make protos'") }
        return MesosSchema(set)
    }()

    init(_ set: Google_Protobuf_FileDescriptorSet) {
        for file in set.file {
            let package = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType { self.add(message, prefix: package) }
            for enumeration in file.enumType { self.add(enumeration, prefix: package) }
        }
    }

    private mutating func add(_ message: Google_Protobuf_DescriptorProto, prefix: String) {
        let fullName = prefix + message.name
        var fields: [Field] = []
        for field in message.field {
            let kind: Field.Kind
            let typeName = field.typeName.hasPrefix(".") ? String(field.typeName.dropFirst()) : field.typeName
            switch field.type {
            case .message, .group: kind = .message(typeName)
            case .enum: kind = .enumeration(typeName)
            case .string: kind = .string
            case .bytes: kind = .bytes
            case .bool: kind = .bool
            case .int32, .sint32, .sfixed32: kind = .signed(bits: 32)
            case .int64, .sint64, .sfixed64: kind = .signed(bits: 64)
            case .uint32, .fixed32: kind = .unsigned(bits: 32)
            case .uint64, .fixed64: kind = .unsigned(bits: 64)
            case .double, .float: kind = .floating
            }
            fields.append(
                Field(
                    name: field.name,
                    number: Int(field.number),
                    kind: kind,
                    isRequired: field.label == .required,
                    isRepeated: field.label == .repeated
                )
            )
        }
        var byName: [String: Int] = [:]
        var byNumber: [Int: Int] = [:]
        for (index, field) in fields.enumerated() {
            byName[field.name] = index
            byNumber[field.number] = index
        }
        self.messages[fullName] = MessageInfo(
            fullName: fullName,
            fields: fields,
            byName: byName,
            byNumber: byNumber,
            isMapEntry: message.options.mapEntry
        )
        for nested in message.nestedType { self.add(nested, prefix: fullName + ".") }
        for enumeration in message.enumType { self.add(enumeration, prefix: fullName + ".") }
    }

    private mutating func add(_ enumeration: Google_Protobuf_EnumDescriptorProto, prefix: String) {
        var numbers: [String: Int32] = [:]
        for value in enumeration.value { numbers[value.name] = value.number }
        self.enums[prefix + enumeration.name] = EnumInfo(numberByName: numbers)
    }

    func message(_ fullName: String) -> MessageInfo? { self.messages[fullName] }

    /// The map entry type of a field, if the field is a map.
    func mapEntry(of field: Field) -> MessageInfo? {
        guard field.isRepeated, case .message(let name) = field.kind, let entry = self.messages[name], entry.isMapEntry
        else { return nil }
        return entry
    }
}

// MARK: - Missing required fields, by path

extension MesosSchema {
    /// The paths of the required fields absent from `message`, in Mesos's notation (`a.b[0].c`).
    func missingRequiredFields(in message: some SwiftProtobuf.Message) -> [String] {
        guard let bytes: [UInt8] = try? message.serializedBytes(partial: true) else { return [] }
        var paths: [String] = []
        bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            self.collectMissing(type: type(of: message).protoMessageName, reader: &reader, prefix: "", into: &paths)
        }
        return paths
    }

    /// Whether every required field `message` lacks is an enum field: one a newer master filled with a value this
    /// schema does not name (in protobuf the value stays in the unknown fields, so the field is not even reported
    /// missing; in JSON the name was dropped).
    func onlyEnumsMissing(in message: some SwiftProtobuf.Message) -> Bool {
        guard let bytes: [UInt8] = try? message.serializedBytes(partial: true) else { return false }
        var kinds: [Field.Kind] = []
        bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            var paths: [String] = []
            self.collectMissing(type: type(of: message).protoMessageName, reader: &reader, prefix: "", into: &paths, kinds: &kinds)
        }
        return kinds.allSatisfy { if case .enumeration = $0 { true } else { false } }
    }

    private func collectMissing(type: String, reader: inout WireReader, prefix: String, into paths: inout [String]) {
        var kinds: [Field.Kind] = []
        self.collectMissing(type: type, reader: &reader, prefix: prefix, into: &paths, kinds: &kinds)
    }

    private func collectMissing(
        type: String,
        reader: inout WireReader,
        prefix: String,
        into paths: inout [String],
        kinds: inout [Field.Kind]
    ) {
        guard let info = self.messages[type] else { return }
        var seen = Set<Int>()
        var counts: [Int: Int] = [:]
        while !reader.isAtEnd {
            guard let (number, wireType) = reader.readTag() else { return }
            seen.insert(number)
            if wireType == 2, let index = info.byNumber[number], case .message(let child) = info.fields[index].kind {
                guard let payload = reader.readLengthDelimited() else { return }
                let field = info.fields[index]
                var path = prefix + field.name
                if field.isRepeated {
                    let position = counts[number, default: 0]
                    counts[number] = position + 1
                    path += "[\(position)]"
                }
                var nested = WireReader(payload)
                self.collectMissing(type: child, reader: &nested, prefix: path + ".", into: &paths, kinds: &kinds)
            } else if !reader.skip(wireType: wireType) {
                return
            }
        }
        for index in info.required where !seen.contains(info.fields[index].number) {
            paths.append(prefix + info.fields[index].name)
            kinds.append(info.fields[index].kind)
        }
    }
}

/// Reads the protobuf wire format: just enough to walk a message whose bytes swift-protobuf wrote.
struct WireReader {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { self.index >= self.bytes.count }

    mutating func readVarint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while self.index < self.bytes.count, shift < 64 {
            let byte = self.bytes[self.index]
            self.index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    mutating func readTag() -> (number: Int, wireType: Int)? {
        guard let tag = self.readVarint(), tag >> 3 > 0, tag >> 3 <= UInt64(Int32.max) else { return nil }
        return (Int(tag >> 3), Int(tag & 7))
    }

    mutating func readLengthDelimited() -> UnsafeRawBufferPointer? {
        guard let length = self.readVarint(), length <= UInt64(self.bytes.count - self.index) else { return nil }
        let start = self.index
        self.index += Int(length)
        return UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.index])
    }

    mutating func skip(wireType: Int) -> Bool {
        switch wireType {
        case 0: return self.readVarint() != nil
        case 1: return self.advance(8)
        case 2: return self.readLengthDelimited() != nil
        case 5: return self.advance(4)
        default: return false  // groups: not used by Mesos
        }
    }

    private mutating func advance(_ count: Int) -> Bool {
        guard self.bytes.count - self.index >= count else { return false }
        self.index += count
        return true
    }
}
