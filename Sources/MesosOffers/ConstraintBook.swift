import Mesos

/// What constraints count, kept in arrays for speed: every value a constrained field takes (on the round's agents
/// and on running tasks' agents) gets a small integer, and for each group and field the book counts the tasks on
/// each value. A constraint is prepared once per task (its counts, GROUP_BY minimum, regular expression results per
/// value), then checked against each agent with a couple of array reads.
struct ConstraintBook {
    let fields: [String]
    private let fieldIndex: [String: Int]
    /// field → agent → value id, -1 when the agent lacks the field.
    private let agentValues: [[Int32]]
    /// field → value id → the value's text.
    private let valueNames: [[String]]
    /// group → field → value id → tasks.
    private var counts: [String: [[Int32]]] = [:]
    private let emptyCounts: [[Int32]]
    /// "field NUL pattern" → value id → whether the value matches (whole match).
    private var matches: [String: [Bool]] = [:]

    init(fields: Set<String>, agents: [AgentState], running: [RunningTask]) {
        self.fields = fields.sorted()
        var fieldIndex: [String: Int] = [:]
        for (index, field) in self.fields.enumerated() { fieldIndex[field] = index }
        self.fieldIndex = fieldIndex
        var ids = Array(repeating: [String: Int32](), count: self.fields.count)
        var names = Array(repeating: [String](), count: self.fields.count)
        func intern(_ value: String, _ field: Int) -> Int32 {
            if let id = ids[field][value] { return id }
            let id = Int32(names[field].count)
            ids[field][value] = id
            names[field].append(value)
            return id
        }
        var agentValues = Array(repeating: [Int32](repeating: -1, count: agents.count), count: self.fields.count)
        for (field, name) in self.fields.enumerated() {
            for (number, agent) in agents.enumerated() {
                if let value = Self.value(of: name, hostname: agent.hostname, attributes: agent.attributes, domain: agent.domain) {
                    agentValues[field][number] = intern(value, field)
                }
            }
        }
        var runningValues: [(group: String, field: Int, id: Int32)] = []
        for task in running {
            let domain = task.agent.hasDomain ? task.agent.domain : nil
            for (field, name) in self.fields.enumerated() {
                guard let value = Self.value(of: name, hostname: task.agent.hostname, attributes: task.agent.attributes, domain: domain)
                else { continue }
                runningValues.append((task.group, field, intern(value, field)))
            }
        }
        self.agentValues = agentValues
        self.valueNames = names
        self.emptyCounts = names.map { [Int32](repeating: 0, count: $0.count) }
        for (group, field, id) in runningValues { self[counts: group][field][Int(id)] += 1 }
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

    /// One group's counts, all zero until its first task is recorded; modified in place.
    private subscript(counts group: String) -> [[Int32]] {
        get { self.counts[group] ?? self.emptyCounts }
        _modify {
            if self.counts[group] == nil { self.counts[group] = self.emptyCounts }
            yield &self.counts[group]!
        }
    }

    /// Counts one task of `group` placed on `agent`.
    mutating func record(group: String, agent: Int) {
        guard !self.fields.isEmpty else { return }
        for field in self.fields.indices {
            let id = self.agentValues[field][agent]
            if id >= 0 { self[counts: group][field][Int(id)] += 1 }
        }
    }

    /// A constraint ready to check against agents, for `members` more tasks of `group`.
    struct Prepared {
        enum Check {
            case countAtMost(Int32)  // UNIQUE, MAX_PER, GROUP_BY: counts[value] must stay within
            case clusterOn(Set<Int32>)  // CLUSTER: one of these values (empty: any)
            case table([Bool], absentPasses: Bool)  // LIKE, UNLIKE, IS: by value id
            case never
        }
        let field: Int
        let counts: [Int32]
        let check: Check

        func holds(onAgentValue id: Int32) -> Bool {
            switch self.check {
            case .never: return false
            case .table(let table, let absentPasses): return id < 0 ? absentPasses : table[Int(id)]
            case .clusterOn(let values): return id >= 0 && (values.isEmpty || values.contains(id))
            case .countAtMost(let limit): return id >= 0 && self.counts[Int(id)] <= limit
            }
        }
    }

    mutating func prepare(_ constraint: PlacementConstraint, group: String, members: Int) -> Prepared {
        guard let field = self.fieldIndex[constraint.field] else { return Prepared(field: 0, counts: [], check: .never) }
        let counts = self[counts: group][field]
        let extra = Int32(members - 1)
        let check: Prepared.Check
        switch constraint.operator {
        case .unique:
            check = .countAtMost(0 - extra)
        case .maxPer(let limit):
            check = .countAtMost(Int32(clamping: limit) - 1 - extra)
        case .groupBy(let expected):
            let known = counts.count
            var minimum = counts.min() ?? 0
            if let expected, known < expected { minimum = 0 }
            check = .countAtMost(minimum)
        case .cluster(let wanted):
            if let wanted {
                let id = self.valueNames[field].firstIndex(of: wanted).map { Int32($0) }
                check = id.map { .clusterOn([$0]) } ?? .never
            } else {
                check = .clusterOn(Set(counts.indices.filter { counts[$0] > 0 }.map { Int32($0) }))
            }
        case .like(let pattern):
            check = self.table(field, pattern).map { .table($0, absentPasses: false) } ?? .never
        case .unlike(let pattern):
            check = self.table(field, pattern).map { .table($0.map { !$0 }, absentPasses: true) } ?? .never
        case .is(let wanted):
            let number = Double(wanted).map { ScalarQuantity($0) }
            let table = self.valueNames[field].map { value in
                value == wanted || (number != nil && Double(value).map { ScalarQuantity($0) } == number)
            }
            check = .table(table, absentPasses: false)
        }
        return Prepared(field: field, counts: counts, check: check)
    }

    func value(ofField field: Int, agent: Int) -> Int32 { self.agentValues[field][agent] }

    private mutating func table(_ field: Int, _ pattern: String) -> [Bool]? {
        let key = self.fields[field] + "\u{0}" + pattern
        if let cached = self.matches[key] { return cached }
        guard let regex = try? Regex(pattern) else { return nil }
        let table = self.valueNames[field].map { (try? regex.wholeMatch(in: $0)) != nil }
        self.matches[key] = table
        return table
    }
}
