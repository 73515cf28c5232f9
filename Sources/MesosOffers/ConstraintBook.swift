import Mesos

/// What constraints count: for each group and constrained field, how many tasks run (or were placed this round)
/// on each value of the field. Also evaluates constraints against an agent.
struct ConstraintBook {
    /// group → field → value → tasks.
    private(set) var counts: [String: [String: [String: Int]]] = [:]
    /// field → every value seen on the round's agents and the running tasks' agents.
    private var knownValues: [String: Set<String>] = [:]
    /// The fields some constraint of the round names.
    let fields: [String]
    private var regexes: [String: Regex<AnyRegexOutput>] = [:]

    init(fields: Set<String>, agents: [AgentState], running: [RunningTask]) {
        self.fields = fields.sorted()
        for field in self.fields {
            var values = Set<String>()
            for agent in agents {
                if let value = Self.value(of: field, hostname: agent.hostname, attributes: agent.attributes, domain: agent.domain) {
                    values.insert(value)
                }
            }
            self.knownValues[field] = values
        }
        for task in running {
            let domain = task.agent.hasDomain ? task.agent.domain : nil
            for field in self.fields {
                guard let value = Self.value(of: field, hostname: task.agent.hostname, attributes: task.agent.attributes, domain: domain)
                else { continue }
                self.knownValues[field, default: []].insert(value)
                self.counts[task.group, default: [:]][field, default: [:]][value, default: 0] += 1
            }
        }
    }

    /// The value of a constraint field on an agent: hostname, fault domain, or attribute as Mesos prints it.
    static func value(of field: String, hostname: String, attributes: [Attribute], domain: DomainInfo?) -> String? {
        switch field {
        case "hostname", "@hostname": return hostname
        case "@region": return domain.flatMap { $0.hasFaultDomain ? $0.faultDomain.region.name : nil }
        case "@zone": return domain.flatMap { $0.hasFaultDomain ? $0.faultDomain.zone.name : nil }
        default:
            guard let attribute = attributes.first(where: { $0.name == field }) else { return nil }
            switch attribute.type {
            case .text: return attribute.text.value
            case .scalar: return attribute.scalar.quantity.description
            case .ranges: return "[" + attribute.ranges.range.map { "\($0.begin)-\($0.end)" }.joined(separator: ",") + "]"
            case .set: return "{" + attribute.set.item.joined(separator: ",") + "}"
            }
        }
    }

    /// Counts a task of `group` placed on an agent whose field values are given; returns what to undo.
    mutating func record(group: String, values: [String: String]) -> [(String, String)] {
        var recorded: [(String, String)] = []
        for (field, value) in values {
            self.counts[group, default: [:]][field, default: [:]][value, default: 0] += 1
            recorded.append((field, value))
        }
        return recorded
    }

    mutating func undo(group: String, _ recorded: [(String, String)]) {
        for (field, value) in recorded { self.counts[group, default: [:]][field, default: [:]][value, default: 0] -= 1 }
    }

    /// Whether the constraint holds for one more task of `group` on an agent where the field has `value`.
    mutating func holds(_ constraint: PlacementConstraint, group: String, value: String?) -> Bool {
        let counts = self.counts[group]?[constraint.field] ?? [:]
        switch constraint.operator {
        case .unique:
            guard let value else { return false }
            return counts[value, default: 0] == 0
        case .cluster(let wanted):
            guard let value else { return false }
            if let wanted { return value == wanted }
            let used = counts.filter { $0.value > 0 }.keys
            return used.isEmpty || used.contains(value)
        case .groupBy(let expected):
            guard let value else { return false }
            let known = self.knownValues[constraint.field] ?? []
            var minimum = known.map { counts[$0, default: 0] }.min() ?? 0
            if let expected, known.count < expected { minimum = 0 }
            return counts[value, default: 0] <= minimum
        case .like(let pattern):
            guard let value, let regex = self.regex(pattern) else { return false }
            return (try? regex.wholeMatch(in: value)) != nil
        case .unlike(let pattern):
            guard let value else { return true }
            guard let regex = self.regex(pattern) else { return false }
            return (try? regex.wholeMatch(in: value)) == nil
        case .maxPer(let limit):
            guard let value else { return false }
            return counts[value, default: 0] < limit
        case .is(let wanted):
            guard let value else { return false }
            if value == wanted { return true }
            if let a = Double(value), let b = Double(wanted) { return ScalarQuantity(a) == ScalarQuantity(b) }
            return false
        }
    }

    private mutating func regex(_ pattern: String) -> Regex<AnyRegexOutput>? {
        if let cached = self.regexes[pattern] { return cached }
        guard let regex = try? Regex(pattern) else { return nil }
        self.regexes[pattern] = regex
        return regex
    }
}
