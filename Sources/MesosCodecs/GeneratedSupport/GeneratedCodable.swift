import FoundationEssentials
internal import SwiftProtobuf

/// Why a generated codec stopped.
enum GeneratedCodecFailure: Error {
    /// The input is not a valid message: the reference codec reads it again to say exactly why, in its own words
    /// (the same ``MesosCodecError``), so the generated codecs never have to reproduce error texts.
    case invalid
    /// Binary only: the message holds something the generated decoder leaves to swift-protobuf (unknown fields,
    /// an unknown enum number, a packed or mistyped field, groups). That one message is decoded again by the
    /// reference, merged into what it held before, and decoding goes on.
    case fallback
}

/// A message the generated codecs cover: every message reachable from `scheduler.Call`/`Event` and
/// `executor.Call`/`Event`. The conformances are generated (`GeneratedConformances.swift`).
protocol GeneratedCodable: SwiftProtobuf.Message {
    static func generatedReadJSON(_ reader: inout GeneratedJSONReader, _ m: inout Self) throws(GeneratedCodecFailure)
    static func generatedReadBinary(_ reader: inout GeneratedBinaryReader, _ m: inout Self) throws(GeneratedCodecFailure)
    static func generatedWriteJSON(_ m: Self, _ writer: inout GeneratedJSONWriter)
    static func generatedWriteBinary(_ m: Self, _ writer: inout GeneratedBinaryWriter)
    /// A new, empty message to fill. swift-protobuf's storage-backed messages give one with an empty storage of its
    /// own (`init(mesosFresh:)`, added by scripts/generate-protos.sh), so the first field set does not copy the
    /// shared default storage; the others are `init()`.
    init(mesosFresh: Void)
}

extension GeneratedCodable {
    init(mesosFresh: Void) { self.init() }

    /// Decodes one whole JSON document of this type, exactly as the Mesos reader does.
    static func generatedDecodeJSON(_ bytes: UnsafeRawBufferPointer) throws(GeneratedCodecFailure) -> Self {
        try Self.generatedDecodeJSON(bytes, interner: StringInterner.current)
    }

    /// `interner` is a parameter so that it stays alive while the reader, which does not retain it, runs.
    private static func generatedDecodeJSON(
        _ bytes: UnsafeRawBufferPointer,
        interner: StringInterner
    ) throws(GeneratedCodecFailure) -> Self {
        var reader = GeneratedJSONReader(bytes, strings: interner.table)
        var message = Self(mesosFresh: ())
        try Self.generatedReadJSON(&reader, &message)
        try reader.finish()
        if reader.incomplete && !message.isInitialized { throw .invalid }
        return message
    }

    /// Decodes one binary message of this type, exactly as swift-protobuf does (`partial: true`, then the check of
    /// required fields).
    static func generatedDecodeBinary(_ bytes: UnsafeRawBufferPointer) throws(GeneratedCodecFailure) -> Self {
        try Self.generatedDecodeBinary(bytes, interner: StringInterner.current)
    }

    /// `interner` is a parameter so that it stays alive while the readers, which do not retain it, run.
    private static func generatedDecodeBinary(
        _ bytes: UnsafeRawBufferPointer,
        interner: StringInterner
    ) throws(GeneratedCodecFailure) -> Self {
        var reader = GeneratedBinaryReader(bytes, depth: 1, strings: interner.table)
        var message = Self(mesosFresh: ())
        do {
            try Self.generatedReadBinary(&reader, &message)
        } catch .fallback {
            message = Self(mesosFresh: ())
            try GeneratedBinaryReader.referenceMerge(&message, bytes, depth: 1)
            reader.incomplete = true
        }
        if reader.incomplete && !message.isInitialized { throw .invalid }
        return message
    }

    /// The message's JSON, or nil if a required field is unset in it or in anything it holds (not `isInitialized`).
    static func generatedEncodeJSON(_ message: Self) -> [UInt8]? {
        var writer = GeneratedJSONWriter()
        Self.generatedWriteJSON(message, &writer)
        return writer.incomplete ? nil : writer.bytes
    }

    /// The message's protobuf bytes, or nil if a required field is unset in it or in anything it holds.
    static func generatedEncodeBinary(_ message: Self) -> [UInt8]? {
        var writer = GeneratedBinaryWriter()
        Self.generatedWriteBinary(message, &writer)
        return writer.incomplete ? nil : writer.bytes
    }
}

// MARK: - Little-endian loads for the generated name matchers (the caller has checked the length)

@inline(__always) func load8(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    p.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always) func load16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
    UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inline(__always) func load32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always) func load64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

/// What an empty buffer's (nil) base address is replaced by; never read, since every read checks the count first.
nonisolated(unsafe) let generatedEmptyBase = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8))
