/// A placement rule in Marathon's terms: `field:OPERATOR[:value]`.
///
/// The field is `hostname` (or `@hostname`), `@region` or `@zone` (the agent's fault domain), or the name of an
/// agent attribute; attribute values compare as Mesos prints them (`rack-1`, `2.5`, `[1-4]`, `{a,b}`).
/// A hard constraint excludes agents; a soft one only orders the agents that pass the hard ones.
public struct PlacementConstraint: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: Sendable, Hashable {
        /// At most one task of the group per value of the field.
        case unique
        /// Every task of the group on the same value: the one given, or the one the first task landed on.
        case cluster(String?)
        /// Spread the group evenly over the field's values (optionally: over this many values).
        case groupBy(Int?)
        /// The field's value matches the regular expression (whole value).
        case like(String)
        /// The field's value does not match the regular expression (an agent without the field passes).
        case unlike(String)
        /// At most this many tasks of the group per value.
        case maxPer(Int)
        /// The field's value is exactly this (scalars compare as numbers).
        case `is`(String)
    }

    public var field: String
    public var `operator`: Operator
    /// Hard (the default) or a preference.
    public var isSoft: Bool

    public init(_ field: String, _ op: Operator, soft: Bool = false) {
        self.field = field
        self.operator = op
        self.isSoft = soft
    }

    /// Parses Marathon's notation: `hostname:UNIQUE`, `rack:GROUP_BY:3`, `@zone:LIKE:us-east-1[ab]`,
    /// `hostname:MAX_PER:2`, `rack:CLUSTER:rack-1`, `os:IS:linux`.
    ///
    /// - Throws: ``PlacementConstraintError`` naming the bad part.
    public init(parsing text: String, soft: Bool = false) throws(PlacementConstraintError) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, !parts[0].isEmpty else {
            throw PlacementConstraintError(text: text, message: "expected field:OPERATOR[:value]")
        }
        let value = parts.count == 3 ? parts[2] : nil
        func number() throws(PlacementConstraintError) -> Int {
            guard let value, let n = Int(value), n > 0 else {
                throw PlacementConstraintError(text: text, message: "\(parts[1]) needs a positive count")
            }
            return n
        }
        func required() throws(PlacementConstraintError) -> String {
            guard let value, !value.isEmpty else {
                throw PlacementConstraintError(text: text, message: "\(parts[1]) needs a value")
            }
            return value
        }
        let op: Operator
        switch parts[1].uppercased() {
        case "UNIQUE": op = .unique
        case "CLUSTER": op = .cluster(value.flatMap { $0.isEmpty ? nil : $0 })
        case "GROUP_BY": op = .groupBy(value == nil || value == "" ? nil : try number())
        case "LIKE": op = .like(try required())
        case "UNLIKE": op = .unlike(try required())
        case "MAX_PER": op = .maxPer(try number())
        case "IS": op = .is(try required())
        default: throw PlacementConstraintError(text: text, message: "unknown operator '\(parts[1])'")
        }
        if case .like(let pattern) = op, (try? Regex(pattern)) == nil {
            throw PlacementConstraintError(text: text, message: "invalid regular expression '\(pattern)'")
        }
        if case .unlike(let pattern) = op, (try? Regex(pattern)) == nil {
            throw PlacementConstraintError(text: text, message: "invalid regular expression '\(pattern)'")
        }
        self.init(parts[0], op, soft: soft)
    }

    public var description: String {
        let text: String
        switch self.operator {
        case .unique: text = "UNIQUE"
        case .cluster(let value): text = "CLUSTER" + (value.map { ":" + $0 } ?? "")
        case .groupBy(let count): text = "GROUP_BY" + (count.map { ":\($0)" } ?? "")
        case .like(let pattern): text = "LIKE:" + pattern
        case .unlike(let pattern): text = "UNLIKE:" + pattern
        case .maxPer(let count): text = "MAX_PER:\(count)"
        case .is(let value): text = "IS:" + value
        }
        return self.field + ":" + text + (self.isSoft ? " (soft)" : "")
    }
}

/// A constraint that cannot be parsed.
public struct PlacementConstraintError: Error, Hashable, CustomStringConvertible {
    /// The constraint as written.
    public var text: String
    public var message: String
    public var description: String { "invalid constraint '\(self.text)': \(self.message)" }
}
