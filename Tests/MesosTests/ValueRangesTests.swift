import Mesos
import PropertyBased
import Testing

@Suite("ValueRanges")
struct ValueRangesTests {
    // MARK: Normalization

    @Test("sorts and merges overlapping, adjacent and repeated ranges")
    func normalization() {
        #expect(ValueRanges([4...5, 1...3]).ranges == [1...5])
        #expect(ValueRanges([1...5, 3...8]).ranges == [1...8])
        #expect(ValueRanges([10...12, 1...2, 1...2, 2...3]).ranges == [1...3, 10...12])
        #expect(ValueRanges([1...10, 2...3]).ranges == [1...10])
        #expect(ValueRanges([1...2, 4...5]).ranges == [1...2, 4...5])
        #expect(ValueRanges([]).isEmpty)
        let literal: ValueRanges = [7...7, 6...6]
        #expect(literal.ranges == [6...7])
    }

    @Test("prints as Mesos does")
    func description() {
        #expect(ValueRanges([31000...31005, 32000...32000]).description == "[31000-31005, 32000-32000]")
        #expect(ValueRanges().description == "[]")
    }

    @Test("converts to and from Value.Ranges; an inverted range makes the whole message invalid")
    func protobufConversion() throws {
        let ranges: ValueRanges = [1...2, 5...9]
        let message = ranges.protobuf
        #expect(message.range.map { [$0.begin, $0.end] } == [[1, 2], [5, 9]])
        #expect(ValueRanges(message) == ranges)

        var overlapping = Mesos_V1_Value.Ranges()
        overlapping.range = [Self.range(5, 9), Self.range(1, 6)]
        #expect(try #require(ValueRanges(overlapping)).ranges == [1...9])

        var inverted = Mesos_V1_Value.Ranges()
        inverted.range = [Self.range(1, 2), Self.range(31005, 31000)]
        #expect(ValueRanges(inverted) == nil)
    }

    // MARK: Arithmetic

    @Test("union coalesces adjacent ranges")
    func union() {
        #expect((ValueRanges([1...3]) + [4...5]).ranges == [1...5])
        #expect((ValueRanges([1...3]) + [5...6]).ranges == [1...3, 5...6])
        #expect((ValueRanges([1...3, 7...9]) + [4...6]).ranges == [1...9])
        var ranges = ValueRanges()
        ranges += [2...2]
        ranges += [1...1]
        #expect(ranges.ranges == [1...2])
    }

    @Test("subtracting the middle splits a range")
    func subtractMiddle() {
        #expect((ValueRanges([1...10]) - [4...6]).ranges == [1...3, 7...10])
        #expect((ValueRanges([1...10]) - [5...5]).ranges == [1...4, 6...10])
    }

    @Test("subtracting beyond what is there removes only what is there")
    func subtractBeyond() {
        #expect((ValueRanges([5...10]) - [1...7]).ranges == [8...10])
        #expect((ValueRanges([5...10]) - [8...20]).ranges == [5...7])
        #expect((ValueRanges([5...10]) - [0...100]).isEmpty)
        #expect((ValueRanges([5...10]) - [11...20]).ranges == [5...10])
        #expect((ValueRanges([1...3, 5...7, 9...11]) - [2...10]).ranges == [1...1, 11...11])
        var ranges: ValueRanges = [1...4]
        ranges -= [1...4]
        #expect(ranges.isEmpty)
    }

    @Test("works at 0 and UInt64.max without overflowing")
    func edges() {
        let max = UInt64.max
        #expect((ValueRanges([0...0]) + [1...1]).ranges == [0...1])
        #expect((ValueRanges([max...max]) + [(max - 1)...(max - 1)]).ranges == [(max - 1)...max])
        #expect(ValueRanges([0...max, 5...max]).ranges == [0...max])
        #expect(ValueRanges([(max - 3)...max, max...max]).ranges == [(max - 3)...max])
        #expect((ValueRanges([0...max]) - [0...0]).ranges == [1...max])
        #expect((ValueRanges([0...max]) - [max...max]).ranges == [0...(max - 1)])
        #expect((ValueRanges([0...max]) - [1...(max - 1)]).ranges == [0...0, max...max])
        #expect((ValueRanges([0...max]) - [0...max]).isEmpty)
        #expect(ValueRanges([0...max]).valueCount == max)  // saturates: 2^64 values
        #expect(ValueRanges([0...(max - 1)]).valueCount == max)
        #expect(ValueRanges([0...0, max...max]).valueCount == 2)
        #expect(ValueRanges([0...max]).contains(max))
        #expect(ValueRanges([0...max]).first(3)?.ranges == [0...2])
        #expect(ValueRanges([max...max]).first(1)?.ranges == [max...max])
        #expect(ValueRanges([max...max]).first(2) == nil)
        #expect(ValueRanges([0...max]).removingFirst(Int.max).ranges == [UInt64(Int.max)...max])
    }

    // MARK: Queries

    @Test("contains values and ranges")
    func contains() {
        let ranges: ValueRanges = [31000...31005, 32000...32000]
        #expect(ranges.contains(31000))
        #expect(ranges.contains(31005))
        #expect(ranges.contains(32000))
        #expect(!ranges.contains(31006))
        #expect(!ranges.contains(0))
        #expect(ranges.contains([31001...31003, 32000...32000]))
        #expect(ranges.contains([]))
        #expect(!ranges.contains([31004...31006]))
        #expect(!ranges.contains([31005...32000]))
        #expect(ranges.contains(31001...31004))
        #expect(!ranges.contains(31001...31006))
        #expect(ValueRanges().contains([]))
        #expect(!ValueRanges().contains([1...1]))
    }

    @Test("first(n) picks the lowest values, across ranges")
    func first() {
        let ranges: ValueRanges = [31000...31002, 31010...31020]
        #expect(ranges.first(0) == [])
        #expect(ranges.first(-1) == [])
        #expect(ranges.first(2)?.ranges == [31000...31001])
        #expect(ranges.first(3)?.ranges == [31000...31002])
        #expect(ranges.first(5)?.ranges == [31000...31002, 31010...31011])
        #expect(ranges.first(14) == ranges)
        #expect(ranges.first(15) == nil)
        #expect(ranges.removingFirst(5).ranges == [31012...31020])
        #expect(ranges.removingFirst(0) == ranges)
        #expect(ranges.removingFirst(100).isEmpty)
        #expect(ranges.valueCount == 14)
        #expect(ranges.lowerBound == 31000)
        #expect(ranges.upperBound == 31020)
    }

    @Test("intersection keeps the values in both")
    func intersection() {
        let ranges: ValueRanges = [1...10, 20...30]
        #expect(ranges.intersection([5...25]).ranges == [5...10, 20...25])
        #expect(ranges.intersection([11...19]).isEmpty)
        #expect(ranges.intersection([0...UInt64.max]) == ranges)
    }

    @Test("iterates the ranges, lowest first")
    func iteration() {
        let ranges: ValueRanges = [9...9, 1...2]
        #expect(Array(ranges) == [1...2, 9...9])
    }

    // MARK: Properties

    /// Up to five ranges within 0...45: small enough to model with a `Set<UInt64>`.
    static let smallRanges = zip(Gen.uint64(in: 0...40), Gen.uint64(in: 0...5))
        .map { start, length in start...(start + length) }
        .array(of: 0...5)

    static func model(_ ranges: [ClosedRange<UInt64>]) -> Set<UInt64> {
        ranges.reduce(into: Set()) { $0.formUnion($1) }
    }

    static func model(_ ranges: ValueRanges) -> Set<UInt64> { Self.model(ranges.ranges) }

    @Test("union, difference, intersection and contains agree with a Set<UInt64> model")
    func agreesWithSetModel() async {
        await propertyCheck(count: 300, input: Self.smallRanges, Self.smallRanges) { a, b in
            let left = ValueRanges(a)
            let right = ValueRanges(b)
            let (modelLeft, modelRight) = (Self.model(a), Self.model(b))
            #expect(Self.model(left) == modelLeft)
            #expect(Self.model(left + right) == modelLeft.union(modelRight))
            #expect(Self.model(left - right) == modelLeft.subtracting(modelRight))
            #expect(Self.model(left.intersection(right)) == modelLeft.intersection(modelRight))
            #expect(left.contains(right) == modelRight.isSubset(of: modelLeft))
            #expect(left.valueCount == UInt64(modelLeft.count))
            for value in UInt64(0)...47 { #expect(left.contains(value) == modelLeft.contains(value)) }
            // Normalized: sorted, and neither overlapping nor adjacent.
            for (lower, upper) in zip(left.ranges, left.ranges.dropFirst()) {
                #expect(lower.upperBound + 1 < upper.lowerBound)
            }
        }
    }

    @Test("first(n) is the n smallest values of the model")
    func firstAgreesWithModel() async {
        await propertyCheck(count: 200, input: Self.smallRanges, Gen.int(in: 0...40)) { a, count in
            let ranges = ValueRanges(a)
            let sorted = Self.model(a).sorted()
            if count > sorted.count {
                #expect(ranges.first(count) == nil)
                #expect(ranges.removingFirst(count).isEmpty)
            } else {
                #expect(ranges.first(count).map(Self.model) == Set(sorted.prefix(count)))
                #expect(Self.model(ranges.removingFirst(count)) == Set(sorted.dropFirst(count)))
            }
        }
    }

    static func range(_ begin: UInt64, _ end: UInt64) -> Mesos_V1_Value.Range {
        var range = Mesos_V1_Value.Range()
        range.begin = begin
        range.end = end
        return range
    }
}
