import FoundationEssentials

/// The byte sink under the generated JSON encoders: what the master writes (snake_case proto names, enums by name,
/// 64-bit integers as numbers, standard padded base64, `"Infinity"` for infinite doubles), with no spaces.
struct GeneratedJSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether a required field was unset somewhere in what was written: the bytes are then not a valid message, and
    /// the reference encoder is left to say which field is missing.
    var incomplete = false
    /// Whether the next key or element needs a comma before it.
    private var comma = false

    init() { self.bytes.reserveCapacity(256) }

    @inline(__always) mutating func raw(_ text: StaticString) {
        self.bytes.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        self.comma = true
    }

    @inline(__always) mutating func beginObject() {
        self.bytes.append(UInt8(ascii: "{"))
        self.comma = false
    }

    @inline(__always) mutating func endObject() {
        self.bytes.append(UInt8(ascii: "}"))
        self.comma = true
    }

    @inline(__always) mutating func beginArray() {
        self.bytes.append(UInt8(ascii: "["))
        self.comma = false
    }

    @inline(__always) mutating func endArray() {
        self.bytes.append(UInt8(ascii: "]"))
        self.comma = true
    }

    /// A key with its quotes and colon, as the generator spells it (`"name":`).
    @inline(__always) mutating func key(_ quoted: StaticString) {
        if self.comma { self.bytes.append(UInt8(ascii: ",")) }
        self.bytes.append(contentsOf: UnsafeRawBufferPointer(start: quoted.utf8Start, count: quoted.utf8CodeUnitCount))
        self.comma = false
    }

    @inline(__always) mutating func mapKey(_ key: String) {
        if self.comma { self.bytes.append(UInt8(ascii: ",")) }
        self.writeString(key)
        self.bytes.append(UInt8(ascii: ":"))
        self.comma = false
    }

    @inline(__always) mutating func element() {
        if self.comma { self.bytes.append(UInt8(ascii: ",")) }
        self.comma = false
    }

    mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            self.bytes.append(UInt8(ascii: "\""))
            var runStart = 0
            for (at, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<at]))
                self.escape(c)
                runStart = at + 1
            }
            self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            self.bytes.append(UInt8(ascii: "\""))
        }
        self.comma = true
    }

    private mutating func escape(_ c: UInt8) {
        switch c {
        case UInt8(ascii: "\""): self.bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): self.bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case UInt8(ascii: "\n"): self.bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case UInt8(ascii: "\t"): self.bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        case UInt8(ascii: "\r"): self.bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        default:
            let hex = Base64.hexDigits
            self.bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 15)]]
        }
    }

    mutating func writeBytes(_ value: Data) {
        self.bytes.append(UInt8(ascii: "\""))
        Base64.encode(value, into: &self.bytes)
        self.bytes.append(UInt8(ascii: "\""))
        self.comma = true
    }

    @inline(__always) mutating func writeBool(_ value: Bool) {
        if value { self.raw("true") } else { self.raw("false") }
    }

    @inline(__always) mutating func writeInt32(_ value: Int32) { self.writeSigned(Int64(value)) }
    @inline(__always) mutating func writeInt64(_ value: Int64) { self.writeSigned(value) }
    @inline(__always) mutating func writeUInt32(_ value: UInt32) { self.writeUnsigned(UInt64(value)) }
    @inline(__always) mutating func writeUInt64(_ value: UInt64) { self.writeUnsigned(value) }

    private mutating func writeSigned(_ value: Int64) {
        if value < 0 {
            self.bytes.append(UInt8(ascii: "-"))
            self.writeDigits(value.magnitude)
        } else {
            self.writeDigits(UInt64(value))
        }
        self.comma = true
    }

    private mutating func writeUnsigned(_ value: UInt64) {
        self.writeDigits(value)
        self.comma = true
    }

    private mutating func writeDigits(_ value: UInt64) {
        if value < 10 {
            self.bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 20 digits at most, written backwards
        let written = withUnsafeMutableBytes(of: &digits) { buffer -> Int in
            var value = value
            var at = 20
            while value > 0 {
                at -= 1
                buffer[at] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            self.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[at..<20]))
            return 20 - at
        }
        _ = written
    }

    /// Swift's shortest round-trip text for finite doubles (valid JSON), strings for the others.
    mutating func writeDouble(_ value: Double) {
        if value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                self.writeSigned(Int64(value))
                if value == 0 && value.sign == .minus { self.bytes.insert(UInt8(ascii: "-"), at: self.bytes.count - 1) }
                return
            }
            self.bytes.append(contentsOf: value.description.utf8)
        } else if value.isNaN {
            self.bytes.append(contentsOf: "\"NaN\"".utf8)
        } else {
            self.bytes.append(contentsOf: (value > 0 ? "\"Infinity\"" : "\"-Infinity\"").utf8)
        }
        self.comma = true
    }
}

extension Base64 {
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
