import Foundation

/// A JSON document compared by meaning: object keys in any order, numbers by their double value
/// (the master writes 17 significant digits, `1795323400.6231659`, where the shortest form is `…658`).
struct JSONTree: Equatable, CustomStringConvertible {
    let value: Any
    let description: String

    init(_ bytes: [UInt8]) throws {
        self.value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        self.description = String(decoding: bytes, as: UTF8.self)
    }

    static func == (lhs: JSONTree, rhs: JSONTree) -> Bool { same(lhs.value, rhs.value) }

    private static func same(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (let a as [String: Any], let b as [String: Any]):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { same(value, $0) } ?? false }
        case (let a as [Any], let b as [Any]):
            return a.count == b.count && zip(a, b).allSatisfy { same($0, $1) }
        case (let a as String, let b as String):
            return a == b
        case (let a as NSNumber, let b as NSNumber):
            let isBool = { (n: NSNumber) in String(cString: n.objCType) == "c" }
            if isBool(a) || isBool(b) { return isBool(a) && isBool(b) && a.boolValue == b.boolValue }
            let (x, y) = (a.doubleValue, b.doubleValue)
            return x == y || abs(x - y) <= abs(x) * 1e-15
        case (is NSNull, is NSNull):
            return true
        default:
            return false
        }
    }
}
