/// A scalar resource amount in Mesos's fixed point: thousandths, as an integer.
///
/// Mesos rounds every scalar to three decimals (`llround(value * 1000)`) before adding, subtracting or comparing,
/// so `0.1 + 0.2` is exactly `0.3` and a thousand tasks of `0.001` cpus fit in one cpu. Never sum raw `Double`s.
public struct ScalarQuantity: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByFloatLiteral,
    ExpressibleByIntegerLiteral, AdditiveArithmetic
{
    /// The amount in thousandths.
    public var milli: Int64

    public init(milli: Int64) { self.milli = milli }

    /// Rounds `value` to three decimals, as Mesos does. Non-finite values and values past ±9.2e15 saturate.
    public init(_ value: Double) {
        let scaled = (value * 1000).rounded(.toNearestOrAwayFromZero)
        if scaled.isNaN {
            self.milli = 0
        } else if scaled >= 9.2e18 {
            self.milli = .max
        } else if scaled <= -9.2e18 {
            self.milli = .min
        } else {
            self.milli = Int64(scaled)
        }
    }

    public init(floatLiteral value: Double) { self.init(value) }
    public init(integerLiteral value: Int64) { self.init(milli: value &* 1000) }

    public static let zero = ScalarQuantity(milli: 0)

    /// The value Mesos writes in a `Value.Scalar`.
    public var doubleValue: Double { Double(self.milli) / 1000 }

    public static func + (lhs: Self, rhs: Self) -> Self { Self(milli: lhs.milli &+ rhs.milli) }
    public static func - (lhs: Self, rhs: Self) -> Self { Self(milli: lhs.milli &- rhs.milli) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milli < rhs.milli }

    /// `1`, `0.5`, `0.001`: the shortest decimal text, as Mesos prints scalars.
    public var description: String {
        let sign = self.milli < 0 ? "-" : ""
        let magnitude = self.milli.magnitude
        let whole = magnitude / 1000
        let fraction = magnitude % 1000
        guard fraction != 0 else { return sign + String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return sign + String(whole) + "." + digits
    }
}

extension Mesos_V1_Value.Scalar {
    /// The scalar in Mesos's fixed point.
    public var quantity: ScalarQuantity { ScalarQuantity(self.value) }

    public init(_ quantity: ScalarQuantity) {
        self.init()
        self.value = quantity.doubleValue
    }
}
