import FoundationEssentials
internal import SwiftProtobuf

/// The wire reader under the generated binary decoders: a bounds-checked cursor over the bytes of one message.
///
/// The generated decoder switches on the whole tag (field number and wire type), so a field arrives in the one
/// encoding its type has, or the message is not one the fast path reads. Everything else (unknown fields, which
/// proto2 keeps; an enum number the schema does not name, which also goes to unknown fields; packed or mistyped
/// encodings; groups; malformed bytes) is `.fallback`: that message alone is decoded again by swift-protobuf, into
/// the value it held before, so the outcome is the reference's by construction. Strings are checked as UTF-8 and
/// copied once; bytes are copied once into `Data`; nothing else allocates.
struct GeneratedBinaryReader {
    /// swift-protobuf's default `messageDepthLimit`.
    static let maximumDepth = 100

    private let base: UnsafeRawPointer
    private var index: Int
    private let end: Int
    /// This thread's recent strings (``StringInterner``); its owner is held by the caller of the top-level decode.
    private let strings: StringInterner.Table
    /// The nesting of this message, the top one being 1.
    let depth: Int
    /// Whether a message read so far lacks a required field. Not an error yet: a later occurrence of the same
    /// field merges into it and may supply the field, so the whole value is checked at the end, as the reference does.
    var incomplete = false

    /// The `StringInterner` that owns `strings` must outlive the reader and every reader it makes.
    init(_ bytes: UnsafeRawBufferPointer, depth: Int, strings: StringInterner.Table) {
        self.base = bytes.baseAddress ?? generatedEmptyBase
        self.index = 0
        self.end = bytes.count
        self.depth = depth
        self.strings = strings
    }

    private init(base: UnsafeRawPointer, start: Int, end: Int, depth: Int, strings: StringInterner.Table) {
        self.base = base
        self.index = start
        self.end = end
        self.depth = depth
        self.strings = strings
    }

    @inline(__always) var hasMore: Bool { self.index < self.end }

    @inline(__always) mutating func readVarint() throws(GeneratedCodecFailure) -> UInt64 {
        guard self.index < self.end else { throw .fallback }
        let first = self.base.load(fromByteOffset: self.index, as: UInt8.self)
        self.index += 1
        if first < 0x80 { return UInt64(first) }
        return try self.readVarintSlow(first)
    }

    private mutating func readVarintSlow(_ first: UInt8) throws(GeneratedCodecFailure) -> UInt64 {
        var value = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard self.index < self.end, shift <= 63 else { throw .fallback }
            let c = self.base.load(fromByteOffset: self.index, as: UInt8.self)
            self.index += 1
            value |= UInt64(c & 0x7F) &<< shift
            if c < 0x80 { return value }
            shift += 7
        }
    }

    /// The whole tag. Read as swift-protobuf reads one: at most 5 bytes, the fifth at most 15; anything longer
    /// (even an overlong spelling of a small tag, which a general varint would allow) is `.fallback`, where the
    /// reference refuses it. FuzzProtobuf found the 6-byte spelling accepted here and refused there.
    @inline(__always) mutating func readTag() throws(GeneratedCodecFailure) -> UInt32 {
        guard self.index < self.end else { throw .fallback }
        let first = self.base.load(fromByteOffset: self.index, as: UInt8.self)
        if first < 0x80 {
            self.index += 1
            return UInt32(first)
        }
        return try self.readTagSlow(first)
    }

    private mutating func readTagSlow(_ first: UInt8) throws(GeneratedCodecFailure) -> UInt32 {
        var tag = UInt32(first & 0x7F)
        var at = self.index + 1
        for position in 1..<5 {
            guard at < self.end else { throw .fallback }
            let byte = self.base.load(fromByteOffset: at, as: UInt8.self)
            at += 1
            if position == 4 {
                guard byte <= 15 else { throw .fallback }
            }
            tag |= UInt32(byte & 0x7F) &<< UInt32(7 * position)
            if byte < 0x80 {
                self.index = at
                return tag
            }
        }
        throw .fallback
    }

    @inline(__always) private mutating func readLength() throws(GeneratedCodecFailure) -> Int {
        let length = try self.readVarint()
        guard length < 0x7fff_ffff, length <= UInt64(self.end - self.index) else { throw .fallback }
        return Int(length)
    }

    /// How many length-delimited fields with `tag` follow one another from the cursor (which is at the length of
    /// one, just past its tag): the capacity a repeated field's list needs. Encoders write a repeated field's
    /// elements together (protobuf's C++ and Go ones do), so the count stops at the first other field instead of
    /// skipping the rest of the message. Only a hint: elements further on, or anything malformed (which the decoding
    /// itself then meets), leave the list to grow as it is appended to.
    func countAhead(tag: UInt32) -> Int {
        var probe = self
        var count = 0
        while true {
            guard let length = try? probe.readLength() else { return max(count, 1) }
            probe.index += length
            count += 1
            guard probe.hasMore, let next = try? probe.readTag(), next == tag else { return count }
        }
    }

    /// A reader over the next length-delimited field's body (a map entry).
    mutating func subReader() throws(GeneratedCodecFailure) -> GeneratedBinaryReader {
        let length = try self.readLength()
        let start = self.index
        self.index += length
        return GeneratedBinaryReader(
            base: self.base, start: start, end: start + length, depth: self.depth, strings: self.strings
        )
    }

    /// Reads a length-delimited message into `message`, merging into what it holds (as protobuf does for a field
    /// that occurs twice). `fresh` says `message` is a new value, so a fallback needs no copy of it to start again.
    @inline(__always) mutating func readMessage<M: SwiftProtobuf.Message>(
        _ message: inout M,
        fresh: Bool,
        _ read: (inout GeneratedBinaryReader, inout M) throws(GeneratedCodecFailure) -> Void
    ) throws(GeneratedCodecFailure) {
        let length = try self.readLength()
        let start = self.index
        self.index += length
        let depth = self.depth + 1
        guard depth <= Self.maximumDepth else { throw .fallback }
        var reader = GeneratedBinaryReader(
            base: self.base, start: start, end: start + length, depth: depth, strings: self.strings
        )
        let before: M? = fresh ? nil : message
        do {
            try read(&reader, &message)
            if reader.incomplete { self.incomplete = true }
        } catch .fallback {
            message = before ?? M()
            try Self.referenceMerge(&message, UnsafeRawBufferPointer(start: self.base + start, count: length), depth: depth)
            if !message.isInitialized { self.incomplete = true }
        }
    }

    /// Decodes one message with swift-protobuf (`partial: true`), merged into `message`, with the depth budget left
    /// at `depth`.
    static func referenceMerge<M: SwiftProtobuf.Message>(
        _ message: inout M,
        _ bytes: UnsafeRawBufferPointer,
        depth: Int
    ) throws(GeneratedCodecFailure) {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = Self.maximumDepth + 1 - depth
        do {
            try message.merge(serializedBytes: BorrowedBytes(bytes), partial: true, options: options)
        } catch {
            throw .invalid
        }
    }

    @inline(__always) mutating func readEnumNumber() throws(GeneratedCodecFailure) -> Int32 {
        Int32(truncatingIfNeeded: try self.readVarint())
    }

    @inline(__always) mutating func readBool() throws(GeneratedCodecFailure) -> Bool { try self.readVarint() != 0 }
    @inline(__always) mutating func readInt32() throws(GeneratedCodecFailure) -> Int32 {
        Int32(truncatingIfNeeded: try self.readVarint())
    }
    @inline(__always) mutating func readInt64() throws(GeneratedCodecFailure) -> Int64 {
        Int64(bitPattern: try self.readVarint())
    }
    @inline(__always) mutating func readUInt32() throws(GeneratedCodecFailure) -> UInt32 {
        UInt32(truncatingIfNeeded: try self.readVarint())
    }
    @inline(__always) mutating func readUInt64() throws(GeneratedCodecFailure) -> UInt64 { try self.readVarint() }

    @inline(__always) mutating func readDouble() throws(GeneratedCodecFailure) -> Double {
        guard self.end - self.index >= 8 else { throw .fallback }
        let bits = UInt64(littleEndian: self.base.loadUnaligned(fromByteOffset: self.index, as: UInt64.self))
        self.index += 8
        return Double(bitPattern: bits)
    }

    /// A UTF-8 string; anything not valid UTF-8 is the reference's to refuse. A string seen lately on this thread
    /// is shared rather than made again (``StringInterner``).
    @inline(__always) mutating func readString() throws(GeneratedCodecFailure) -> String {
        let length = try self.readLength()
        let bytes = UnsafeBufferPointer(start: (self.base + self.index).assumingMemoryBound(to: UInt8.self), count: length)
        self.index += length
        guard let string = self.strings.string(bytes) else { throw .fallback }
        return string
    }

    @inline(__always) mutating func readBytes() throws(GeneratedCodecFailure) -> Data {
        let length = try self.readLength()
        let data = Data(bytes: self.base + self.index, count: length)
        self.index += length
        return data
    }
}

/// UTF-8 validation as Unicode defines well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF, no
/// truncated sequences): ASCII eight bytes at a time, other sequences by the JSON parser's check. Public only to the
/// benchmarks (SPI `Benchmarks`), whose prototype checks strings the same way.
@_spi(Benchmarks) public enum UTF8Check {
    @inline(__always) public static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index + 8 <= count {
            if UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
                return self.isValidMultibyte(UnsafeRawBufferPointer(bytes), from: index)
            }
            index += 8
        }
        return self.isValidMultibyte(UnsafeRawBufferPointer(bytes), from: index)
    }

    static func isValidMultibyte(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var index = start
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
            } else {
                guard let length = JSONParser.validUTF8Sequence(bytes, at: index) else { return false }
                index += length
            }
        }
        return true
    }
}
