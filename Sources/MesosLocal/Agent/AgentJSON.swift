/// A small JSON writer for the agent's own endpoints (`/files`, `/state`), which answer with plain JSON objects
/// rather than protobuf messages. Keys keep their order; protobuf messages are embedded as raw JSON.
indirect enum AgentJSON: Sendable {
    case object([(String, AgentJSON)])
    case array([AgentJSON])
    case string(String)
    /// A string of bytes as they are, valid UTF-8 or not (a file's contents in `/files/read`): written as stout's
    /// rapidjson writer writes it, escaping only quotes, backslashes and control characters.
    case byteString([UInt8])
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    /// Already-encoded JSON (a protobuf message written by `MessageCodec(.json)`).
    case raw([UInt8])

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        self.write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text):
            Self.writeString(text.utf8, into: &out)
        case .byteString(let bytes):
            Self.writeString(bytes, into: &out)
        case .int(let value):
            out.append(contentsOf: Array(String(value).utf8))
        case .double(let value):
            if value.isFinite {
                if value == value.rounded() && abs(value) < 1e15 {
                    out.append(contentsOf: Array(String(Int64(value)).utf8))
                } else {
                    out.append(contentsOf: Array(String(value).utf8))
                }
            } else {
                out.append(contentsOf: Array("null".utf8))
            }
        case .bool(let value):
            out.append(contentsOf: Array((value ? "true" : "false").utf8))
        case .null:
            out.append(contentsOf: Array("null".utf8))
        case .raw(let bytes):
            out.append(contentsOf: bytes)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ text: String, into out: inout [UInt8]) {
        Self.writeString(text.utf8, into: &out)
    }

    /// Escapes as rapidjson's writer (stout's): `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control
    /// characters as `\u00XX`; every other byte as it is.
    static func writeString(_ bytes: some Sequence<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(Self.hex[Int(byte >> 4)])
                out.append(Self.hex[Int(byte & 0xf)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var agentTrimmed: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
