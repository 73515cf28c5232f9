/// A set of `UInt64` values kept as sorted, disjoint closed ranges: the value of a Mesos `RANGES` resource
/// such as `ports`.
///
/// The ranges are always normalized the way Mesos coalesces them: sorted, with overlapping *and* adjacent ranges
/// merged, so `[1-3] + [4-5]` is `[1-5]` and two `ValueRanges` are equal exactly when they hold the same values.
/// Iterating yields the ranges, lowest first.
///
/// ```swift
/// let offered: ValueRanges = [31000...31005, 32000...32000]
/// let two = offered.first(2)          // [31000-31001]
/// let rest = offered - (two ?? [])    // [31002-31005, 32000-32000]
/// ```
public struct ValueRanges: Hashable, Sendable, Sequence, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The normalized ranges: sorted by lower bound, pairwise disjoint and never adjacent.
    public private(set) var ranges: [ClosedRange<UInt64>]

    /// No values.
    public init() { self.ranges = [] }

    /// The union of `ranges`, which may be unsorted, overlapping or adjacent.
    public init(_ ranges: some Sequence<ClosedRange<UInt64>>) {
        self.ranges = Self.normalized(Array(ranges))
    }

    public init(arrayLiteral elements: ClosedRange<UInt64>...) { self.init(elements) }

    /// The values of a `Value.Ranges` message, or `nil` when one of its ranges is inverted (`begin > end`).
    ///
    /// Mesos rejects a resource with an inverted range as invalid ("begin > end") rather than guessing what it
    /// meant, so this does too. Overlapping or adjacent ranges are fine: they are merged.
    public init?(_ ranges: Mesos_V1_Value.Ranges) {
        var bounds: [ClosedRange<UInt64>] = []
        bounds.reserveCapacity(ranges.range.count)
        for range in ranges.range {
            guard range.begin <= range.end else { return nil }
            bounds.append(range.begin...range.end)
        }
        self.init(bounds)
    }

    /// The ranges as a `Value.Ranges` message, lowest first.
    public var protobuf: Mesos_V1_Value.Ranges { Mesos_V1_Value.Ranges(self) }

    public var isEmpty: Bool { self.ranges.isEmpty }

    /// How many values the ranges hold. Saturates at `UInt64.max`: `0...UInt64.max` holds one value more than that.
    public var valueCount: UInt64 {
        var total: UInt64 = 0
        for range in self.ranges {
            let (size, sizeOverflow) = (range.upperBound - range.lowerBound).addingReportingOverflow(1)
            let (sum, sumOverflow) = total.addingReportingOverflow(size)
            if sizeOverflow || sumOverflow { return .max }
            total = sum
        }
        return total
    }

    /// The lowest value, if any.
    public var lowerBound: UInt64? { self.ranges.first?.lowerBound }

    /// The highest value, if any.
    public var upperBound: UInt64? { self.ranges.last?.upperBound }

    public func makeIterator() -> IndexingIterator<[ClosedRange<UInt64>]> { self.ranges.makeIterator() }

    public var underestimatedCount: Int { self.ranges.count }

    /// `[31000-31005, 32000-32000]`, as Mesos prints ranges; `[]` when empty.
    public var description: String {
        "[" + self.ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ") + "]"
    }
}

// MARK: - Queries

extension ValueRanges {
    /// Whether `value` is one of the values.
    public func contains(_ value: UInt64) -> Bool {
        var low = 0
        var high = self.ranges.count
        while low < high {
            let middle = (low + high) / 2
            let range = self.ranges[middle]
            if value < range.lowerBound {
                high = middle
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Whether every value of `range` is one of these values (not whether `range` is one of the stored ranges).
    public func contains(_ range: ClosedRange<UInt64>) -> Bool {
        self.contains(ValueRanges(normalized: [range]))
    }

    /// Whether every value of `other` is one of these values (Mesos `<=` on ranges, reversed).
    public func contains(_ other: ValueRanges) -> Bool {
        // Both sides are coalesced, so each range of `other` must sit inside a single range of `self`.
        var index = 0
        for wanted in other.ranges {
            while index < self.ranges.count && self.ranges[index].upperBound < wanted.lowerBound { index += 1 }
            guard index < self.ranges.count,
                self.ranges[index].lowerBound <= wanted.lowerBound,
                wanted.upperBound <= self.ranges[index].upperBound
            else { return false }
        }
        return true
    }

    /// The `count` lowest values, or `nil` when there are fewer than `count` (the way to pick ports from an offer).
    /// A `count` of zero or less gives no values.
    public func first(_ count: Int) -> ValueRanges? {
        guard count > 0 else { return ValueRanges() }
        var remaining = UInt64(count)
        var taken: [ClosedRange<UInt64>] = []
        for range in self.ranges {
            let span = range.upperBound - range.lowerBound  // one less than the range's size, so it cannot overflow
            if remaining - 1 <= span {
                taken.append(range.lowerBound...(range.lowerBound + (remaining - 1)))
                return ValueRanges(normalized: taken)
            }
            taken.append(range)
            remaining -= span + 1  // span + 1 < remaining here, so neither side overflows
        }
        return nil
    }

    /// These values without the `count` lowest; empty when there are no more than `count`.
    public func removingFirst(_ count: Int) -> ValueRanges {
        guard count > 0 else { return self }
        guard let head = self.first(count) else { return ValueRanges() }
        return self - head
    }

    /// The values in both.
    public func intersection(_ other: ValueRanges) -> ValueRanges {
        var result: [ClosedRange<UInt64>] = []
        var left = 0
        var right = 0
        while left < self.ranges.count && right < other.ranges.count {
            let a = self.ranges[left]
            let b = other.ranges[right]
            let lower = Swift.max(a.lowerBound, b.lowerBound)
            let upper = Swift.min(a.upperBound, b.upperBound)
            if lower <= upper { result.append(lower...upper) }
            if a.upperBound < b.upperBound { left += 1 } else { right += 1 }
        }
        return ValueRanges(normalized: result)
    }
}

// MARK: - Arithmetic

extension ValueRanges {
    /// The union: every value in either, coalesced.
    public static func + (lhs: ValueRanges, rhs: ValueRanges) -> ValueRanges {
        if lhs.isEmpty { return rhs }
        if rhs.isEmpty { return lhs }
        return ValueRanges(lhs.ranges + rhs.ranges)
    }

    /// The values of `lhs` that are not in `rhs`. Values of `rhs` that `lhs` lacks are ignored, as in Mesos;
    /// removing the middle of a range splits it in two.
    public static func - (lhs: ValueRanges, rhs: ValueRanges) -> ValueRanges {
        if lhs.isEmpty || rhs.isEmpty { return lhs }
        var result: [ClosedRange<UInt64>] = []
        var cut = 0
        for range in lhs.ranges {
            // Cuts that end below this range can't touch it or any later one.
            while cut < rhs.ranges.count && rhs.ranges[cut].upperBound < range.lowerBound { cut += 1 }
            var lower = range.lowerBound
            var next = cut
            var remains = true
            while remains && next < rhs.ranges.count && rhs.ranges[next].lowerBound <= range.upperBound {
                let hole = rhs.ranges[next]
                // `hole.lowerBound > lower >= 0`, so subtracting one is safe.
                if hole.lowerBound > lower { result.append(lower...(hole.lowerBound - 1)) }
                if hole.upperBound >= range.upperBound {
                    remains = false
                } else {
                    // `hole.upperBound < range.upperBound <= UInt64.max`, so adding one is safe.
                    lower = hole.upperBound + 1
                    next += 1
                }
            }
            if remains { result.append(lower...range.upperBound) }
        }
        return ValueRanges(normalized: result)
    }

    public static func += (lhs: inout ValueRanges, rhs: ValueRanges) { lhs = lhs + rhs }

    public static func -= (lhs: inout ValueRanges, rhs: ValueRanges) { lhs = lhs - rhs }
}

// MARK: - Normalization

extension ValueRanges {
    /// Wraps ranges that are already sorted, disjoint and non-adjacent.
    private init(normalized ranges: [ClosedRange<UInt64>]) { self.ranges = ranges }

    /// Sorts and merges overlapping or adjacent ranges.
    private static func normalized(_ input: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
        guard input.count > 1 else { return input }
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var result: [ClosedRange<UInt64>] = []
        result.reserveCapacity(sorted.count)
        var current = sorted[0]
        for range in sorted.dropFirst() {
            // Merge when the next range overlaps or starts right after; `UInt64.max` has no successor.
            if current.upperBound == .max || range.lowerBound <= current.upperBound + 1 {
                current = current.lowerBound...Swift.max(current.upperBound, range.upperBound)
            } else {
                result.append(current)
                current = range
            }
        }
        result.append(current)
        return result
    }
}

extension Mesos_V1_Value.Ranges {
    /// A `Value.Ranges` message holding `ranges`, lowest first.
    public init(_ ranges: ValueRanges) {
        self.init()
        self.range = ranges.ranges.map { bounds in
            var range = Mesos_V1_Value.Range()
            range.begin = bounds.lowerBound
            range.end = bounds.upperBound
            return range
        }
    }
}
