#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The strings the generated decoders made most recently on this thread, so that an ID seen again is not allocated,
/// checked and copied again.
///
/// A scheduler's event stream repeats itself: every update of a task carries its task ID, executor ID, agent ID and
/// container ID again, every offer from an agent carries its agent ID and hostname, and status messages come from a
/// handful of texts. Decoding each of them into a new heap string cost an allocation, a UTF-8 check, a copy and a
/// free per field. Here a string of the same bytes seen lately is returned instead (a retain), so equal IDs share one
/// buffer, which also keeps a scheduler's own task table smaller.
///
/// - One cache per thread (no locks; the decoders run wherever their caller does), direct-mapped: a slot holds the
///   last string whose bytes hashed to it, and a miss replaces it. Its size is bounded: `slotCount` strings of at
///   most `maximumLength` bytes and a copy of their bytes, under 1 MiB with every slot at the longest.
/// - A hit is decided by comparing the bytes, never by the hash alone, so the value is always exactly the input's.
/// - Public only to the benchmarks (SPI `Benchmarks`), which measure it in a prototype.
/// - Strings of fewer than 16 bytes live inside the `String` value, with no allocation to save, but making one still
///   costs a UTF-8 check and the standard library's construction, about 130 instructions: an offers event makes some
///   230 of them (roles, resource and attribute names, schemes). A second table keyed by the bytes themselves (two
///   words, so a hit needs no byte comparison) returns the one made last time. Longer ones than `maximumLength` (free
///   text, mostly) are made as before.
@_spi(Benchmarks) public final class StringInterner {
    static let slotCount = 4096
    static let minimumLength = 16
    static let maximumLength = 96
    static let shortSlotCount = 1024

    /// The cache itself, which the readers hold: plain pointers, so passing it around and calling it costs no
    /// reference counting. It is valid while this object lives.
    public let table: Table

    private init() {
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: Self.slotCount)
        hashes.initialize(repeating: 0, count: Self.slotCount)
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: Self.slotCount)
        lengths.initialize(repeating: 0, count: Self.slotCount)
        let strings = UnsafeMutablePointer<String>.allocate(capacity: Self.slotCount)
        strings.initialize(repeating: "", count: Self.slotCount)
        let shortKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * Self.shortSlotCount)
        shortKeys.initialize(repeating: 0, count: 2 * Self.shortSlotCount)
        let shortStrings = UnsafeMutablePointer<String>.allocate(capacity: Self.shortSlotCount)
        shortStrings.initialize(repeating: "", count: Self.shortSlotCount)
        self.table = Table(
            hashes: hashes,
            lengths: lengths,
            bytes: .allocate(byteCount: Self.slotCount * Self.maximumLength, alignment: 16),
            strings: strings,
            shortKeys: shortKeys,
            shortStrings: shortStrings
        )
    }

    deinit {
        self.table.shortStrings.deinitialize(count: Self.shortSlotCount)
        self.table.shortStrings.deallocate()
        self.table.shortKeys.deallocate()
        self.table.strings.deinitialize(count: Self.slotCount)
        self.table.strings.deallocate()
        self.table.bytes.deallocate()
        self.table.lengths.deallocate()
        self.table.hashes.deallocate()
    }

    /// Per slot: the hash of its string's bytes (0 when empty), their length, the bytes themselves (`maximumLength`
    /// apiece, so a hit is checked without touching the string), and the string.
    public struct Table {
        fileprivate let hashes: UnsafeMutablePointer<UInt64>
        fileprivate let lengths: UnsafeMutablePointer<Int>
        fileprivate let bytes: UnsafeMutableRawPointer
        fileprivate let strings: UnsafeMutablePointer<String>
        /// Per short slot (strings under `minimumLength` bytes): its key, two words (the bytes and their count, see
        /// `short`; both 0 when empty, which no key is), and the string.
        fileprivate let shortKeys: UnsafeMutablePointer<UInt64>
        fileprivate let shortStrings: UnsafeMutablePointer<String>

        /// The string of `bytes`, or nil if they are not well-formed UTF-8.
        @inline(__always) public func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
            self.string(bytes, checked: false)
        }

        /// The string of `bytes`, which the caller has already checked as UTF-8 (the JSON reader does as it scans).
        @inline(__always) func string(validUTF8 bytes: UnsafeBufferPointer<UInt8>) -> String {
            // Only a check can refuse; without one the string is always made.
            self.string(bytes, checked: true) ?? String(decoding: bytes, as: UTF8.self)
        }

        @inline(__always) private func string(_ bytes: UnsafeBufferPointer<UInt8>, checked: Bool) -> String? {
            let count = bytes.count
            guard let base = bytes.baseAddress, count > 0 else { return "" }
            if count < StringInterner.minimumLength { return self.short(UnsafeRawPointer(base), count, checked: checked) }
            guard count <= StringInterner.maximumLength else { return StringInterner.make(bytes, checked: checked) }
            return self.cached(UnsafeRawPointer(base), count, checked: checked)
        }

        /// 1 to 15 bytes: the key is the bytes themselves, zero-padded, with the count in the top byte, so equal keys
        /// are equal bytes.
        private func short(_ base: UnsafeRawPointer, _ count: Int, checked: Bool) -> String? {
            // The bytes as two little-endian words, read with (overlapping) loads that stay inside the string.
            var low: UInt64
            var high = UInt64(truncatingIfNeeded: count) << 56
            if count >= 8 {
                low = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
                if count > 8 {
                    // Bytes count-8 ..< count; the top count-8 of them are bytes 8 ..< count.
                    let last = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
                    high |= last >> (8 &* UInt64(16 - count))
                }
            } else if count >= 4 {
                let first = UInt64(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
                let last = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
                low = first | (last >> (8 &* UInt64(8 - count))) << 32
            } else {
                low = UInt64(base.load(as: UInt8.self))
                if count > 1 { low |= UInt64(base.load(fromByteOffset: 1, as: UInt8.self)) << 8 }
                if count > 2 { low |= UInt64(base.load(fromByteOffset: 2, as: UInt8.self)) << 16 }
            }
            var mixed = (low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD
            mixed ^= mixed >> 32
            let slot = Int(truncatingIfNeeded: mixed) & (StringInterner.shortSlotCount - 1)
            if self.shortKeys[2 &* slot] == low, self.shortKeys[2 &* slot &+ 1] == high {
                return self.shortStrings[slot]
            }
            let text = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
            guard let made = StringInterner.make(text, checked: checked) else { return nil }
            self.shortKeys[2 &* slot] = low
            self.shortKeys[2 &* slot &+ 1] = high
            self.shortStrings[slot] = made
            return made
        }

        private func cached(_ base: UnsafeRawPointer, _ count: Int, checked: Bool) -> String? {
            let hash = StringInterner.hash(base, count)
            let slot = Int(truncatingIfNeeded: hash) & (StringInterner.slotCount - 1)
            let stored = self.bytes + slot * StringInterner.maximumLength
            if self.hashes[slot] == hash, self.lengths[slot] == count, memcmp(stored, base, count) == 0 {
                return self.strings[slot]
            }
            let text = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
            guard let made = StringInterner.make(text, checked: checked) else { return nil }
            self.hashes[slot] = hash
            self.lengths[slot] = count
            stored.copyMemory(from: base, byteCount: count)
            self.strings[slot] = made
            return made
        }
    }

    /// A new string of `bytes`; nil if they are not well-formed UTF-8 (unless `checked` says the caller knows).
    @inline(__always) fileprivate static func make(_ bytes: UnsafeBufferPointer<UInt8>, checked: Bool) -> String? {
        guard checked || UTF8Check.isValid(bytes) else { return nil }
        // Valid, so nothing is repaired; `String(decoding:as:)` is specialized for UTF-8 where the generic
        // `String(validating:as:)` looked up type metadata on every call.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A 64-bit hash of 16 to `maximumLength` bytes, eight at a time (the last word overlaps the one before it),
    /// with the length mixed in. Never 0, which marks an empty slot.
    @inline(__always) fileprivate static func hash(_ base: UnsafeRawPointer, _ count: Int) -> UInt64 {
        var hash = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        var offset = 0
        while offset + 8 < count {
            hash = (hash ^ base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
            offset += 8
        }
        hash = (hash ^ base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 32
        return hash | 1
    }

    /// This thread's cache, made on first use and freed when the thread ends.
    public static var current: StringInterner {
        if let stored = pthread_getspecific(threadKey) {
            return Unmanaged<StringInterner>.fromOpaque(stored).takeUnretainedValue()
        }
        let interner = StringInterner()
        pthread_setspecific(threadKey, Unmanaged.passRetained(interner).toOpaque())
        return interner
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { stored in
            #if canImport(Darwin)
            Unmanaged<StringInterner>.fromOpaque(stored).release()
            #else
            if let stored { Unmanaged<StringInterner>.fromOpaque(stored).release() }
            #endif
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()
}
