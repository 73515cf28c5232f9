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
/// - One cache per thread (no locks; the decoders run wherever their caller does). Strings of 16 to `maximumLength`
///   bytes go in a two-way set-associative table of `entryCount` entries: a set holds the last two strings whose
///   bytes hashed to it, the newer first, and a miss makes the newer the older and drops the older one. Sets come
///   from the hash's top bits. The table was direct-mapped and took its slot from the low bits, which IDs that differ
///   only at the end (a master's agent IDs: its own ID, `-S` and a number) hardly reach: on the peers' updates
///   corpus (2,000 live tasks), 2.2 of an UPDATE's 4.7 long strings were made anew; now 1.1 are, of which 0.59 had
///   never been seen.
/// - Its size is bounded: the table is 24 bytes an entry (96 KiB), and the strings it keeps alive are at most
///   `maximumLength` bytes each (under 0.6 MiB with every entry at the longest). Four times the entries made 40%
///   fewer strings and ran up to 3% fewer instructions, but decoded 3-7% slower by the clock on every protobuf
///   corpus; most likely because the strings it keeps are spread over four times the memory.
/// - A hit is decided by comparing the bytes with the stored string's own, never by the hash alone, so the value is
///   always exactly the input's.
/// - Public only to the benchmarks (SPI `Benchmarks`), which measure it in a prototype.
/// - Strings of fewer than 16 bytes live inside the `String` value, with no allocation to save, but making one still
///   costs a UTF-8 check and the standard library's construction, about 130 instructions: an offers event makes some
///   230 of them (roles, resource and attribute names, schemes). A second table keyed by the bytes themselves (two
///   words, so a hit needs no byte comparison) returns the one made last time. Longer ones than `maximumLength` (free
///   text, mostly) are made as before.
@_spi(Benchmarks) public final class StringInterner {
    static let entryCount = 4096
    static let minimumLength = 16
    static let maximumLength = 96
    static let shortSlotCount = 1024
    /// Shifts that take a slot (a set) from a 64-bit hash's top bits.
    static let shortSlotShift = UInt64(64 - shortSlotCount.trailingZeroBitCount)
    static let setShift = UInt64(64 - (entryCount / 2).trailingZeroBitCount)

    /// The cache itself, which the readers hold: plain pointers, so passing it around and calling it costs no
    /// reference counting. It is valid while this object lives.
    public let table: Table

    private init() {
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: Self.entryCount)
        hashes.initialize(repeating: 0, count: Self.entryCount)
        let strings = UnsafeMutablePointer<String>.allocate(capacity: Self.entryCount)
        strings.initialize(repeating: "", count: Self.entryCount)
        let shortKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * Self.shortSlotCount)
        shortKeys.initialize(repeating: 0, count: 2 * Self.shortSlotCount)
        let shortStrings = UnsafeMutablePointer<String>.allocate(capacity: Self.shortSlotCount)
        shortStrings.initialize(repeating: "", count: Self.shortSlotCount)
        self.table = Table(hashes: hashes, strings: strings, shortKeys: shortKeys, shortStrings: shortStrings)
    }

    deinit {
        self.table.shortStrings.deinitialize(count: Self.shortSlotCount)
        self.table.shortStrings.deallocate()
        self.table.shortKeys.deallocate()
        self.table.strings.deinitialize(count: Self.entryCount)
        self.table.strings.deallocate()
        self.table.hashes.deallocate()
    }

    /// Per entry (entries 2k and 2k+1 are set k, the newer first): the hash of its string's bytes (0 when empty) and
    /// the string.
    public struct Table {
        fileprivate let hashes: UnsafeMutablePointer<UInt64>
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
            // The slot comes from the product's top bits, which every bit of the key reaches; its low bits depend
            // on the key's low bits alone, where names and addresses differ little (replaying the short strings of
            // the peers' first 1,000 offers events: 3.2k misses with the top bits, 33k with the low ones).
            let mixed = (low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD
            let slot = Int(truncatingIfNeeded: mixed >> StringInterner.shortSlotShift)
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
            // The set comes from the hash's top bits (see `hash`).
            let newer = Int(truncatingIfNeeded: hash >> StringInterner.setShift) &* 2
            if self.hashes[newer] == hash, StringInterner.holds(self.strings[newer], base, count) {
                return self.strings[newer]
            }
            if self.hashes[newer &+ 1] == hash, StringInterner.holds(self.strings[newer &+ 1], base, count) {
                return self.strings[newer &+ 1]
            }
            let text = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
            guard let made = StringInterner.make(text, checked: checked) else { return nil }
            // The newer becomes the older, and the older (now in the newer's place) is replaced.
            swap(&self.hashes[newer], &self.hashes[newer &+ 1])
            swap(&self.strings[newer], &self.strings[newer &+ 1])
            self.hashes[newer] = hash
            self.strings[newer] = made
            return made
        }
    }

    /// Whether `string` is the `count` (16 or more) bytes at `base`: compared eight bytes at a time, the last word
    /// overlapping the one before it, in the string's own storage (which the hit's retain touches anyway).
    @inline(__always) static func holds(_ string: String, _ base: UnsafeRawPointer, _ count: Int) -> Bool {
        let same = string.utf8.withContiguousStorageIfAvailable { stored -> Bool in
            guard stored.count == count, let storedBase = stored.baseAddress else { return false }
            let other = UnsafeRawPointer(storedBase)
            var offset = 0
            while offset &+ 8 < count {
                if other.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    != base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
                offset &+= 8
            }
            return other.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
                == base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        }
        return same ?? false
    }

    /// A new string of `bytes`; nil if they are not well-formed UTF-8 (unless `checked` says the caller knows).
    @inline(__always) fileprivate static func make(_ bytes: UnsafeBufferPointer<UInt8>, checked: Bool) -> String? {
        guard checked || UTF8Check.isValid(bytes) else { return nil }
        // Valid, so nothing is repaired; `String(decoding:as:)` is specialized for UTF-8 where the generic
        // `String(validating:as:)` looked up type metadata on every call.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A 64-bit hash of 16 to `maximumLength` bytes, eight at a time (the last word overlaps the one before it),
    /// with the length mixed in. Never 0, which marks an empty entry. Its top bits are the well-mixed ones: sets
    /// taken from its low bits missed half as often again on the peers' updates corpus (33.5k against 21.8k in
    /// 20,000 events, of which 11.7k are strings seen for the first time).
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
