import FoundationEssentials
internal import SwiftProtobuf

/// The byte sink under the generated binary encoders. A nested message is written in one pass: one byte is set
/// aside for its length, and when the body turns out to need a longer varint the body is moved up (rare: bodies
/// of 128 bytes or more; a move of bytes just written, which is cheaper than sizing every message twice).
struct GeneratedBinaryWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether a required field was unset somewhere in what was written: the bytes are then not a valid message, and
    /// the reference encoder is left to say which field is missing.
    var incomplete = false

    init() { self.bytes.reserveCapacity(256) }

    @inline(__always) mutating func tag(_ b0: UInt8) { self.bytes.append(b0) }

    @inline(__always) mutating func tag(_ b0: UInt8, _ b1: UInt8) {
        self.bytes.append(b0)
        self.bytes.append(b1)
    }

    @inline(__always) mutating func tag(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8) {
        self.bytes.append(b0)
        self.bytes.append(b1)
        self.bytes.append(b2)
    }

    @inline(__always) mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// Sets aside a byte for a length; returns where.
    @inline(__always) mutating func beginLength() -> Int {
        self.bytes.append(0)
        return self.bytes.count
    }

    /// Writes the length of what followed `mark`.
    @inline(__always) mutating func endLength(_ mark: Int) {
        let length = self.bytes.count - mark
        if length < 0x80 {
            self.bytes[mark - 1] = UInt8(truncatingIfNeeded: length)
        } else {
            self.moveForLongLength(mark, length)
        }
    }

    private mutating func moveForLongLength(_ mark: Int, _ length: Int) {
        var prefix: [UInt8] = []
        var value = UInt64(length)
        while value >= 0x80 {
            prefix.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        prefix.append(UInt8(truncatingIfNeeded: value))
        self.bytes.replaceSubrange((mark - 1)..<mark, with: prefix)
    }

    @inline(__always) mutating func writeEnum(_ rawValue: Int) {
        self.writeVarint(UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: rawValue))))
    }

    @inline(__always) mutating func writeBool(_ value: Bool) { self.bytes.append(value ? 1 : 0) }
    @inline(__always) mutating func writeInt32(_ value: Int32) { self.writeVarint(UInt64(bitPattern: Int64(value))) }
    @inline(__always) mutating func writeInt64(_ value: Int64) { self.writeVarint(UInt64(bitPattern: value)) }
    @inline(__always) mutating func writeUInt32(_ value: UInt32) { self.writeVarint(UInt64(value)) }
    @inline(__always) mutating func writeUInt64(_ value: UInt64) { self.writeVarint(value) }

    @inline(__always) mutating func writeDouble(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { self.bytes.append(contentsOf: $0) }
    }

    @inline(__always) mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            self.writeVarint(UInt64(utf8.count))
            self.bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always) mutating func writeBytes(_ value: Data) {
        self.writeVarint(UInt64(value.count))
        value.withUnsafeBytes { self.bytes.append(contentsOf: $0) }
    }

    /// The fields a decoder kept without knowing them, written back unchanged.
    @inline(__always) mutating func writeUnknown(_ unknown: UnknownStorage) {
        if !unknown.data.isEmpty { unknown.data.withUnsafeBytes { self.bytes.append(contentsOf: $0) } }
    }
}
