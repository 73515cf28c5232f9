import Mesos
import MesosOffers
import PropertyBased
import Testing

/// Invariants that hold for any offers and any tasks.
@Suite("Offer matcher properties")
struct OfferMatcherPropertyTests {
    /// Agents: (cpus, GB of mem, ports offered); tasks: (tenths of a cpu, 128 MB units, ports, constraint kind).
    static let agents = zip(Gen.int(in: 1...16), Gen.int(in: 1...32), Gen.int(in: 0...8)).array(of: 1...12)
    static let tasks = zip(Gen.int(in: 1...40), Gen.int(in: 1...64), Gen.int(in: 0...3), Gen.int(in: 0...3)).array(of: 0...60)

    static func scenario(_ agents: [(Int, Int, Int)], _ tasks: [(Int, Int, Int, Int)]) -> ([Offer], [TaskRequest]) {
        var offers: [Offer] = []
        for (number, agent) in agents.enumerated() {
            // Two offers per agent, splitting its resources, to exercise combining.
            let ports = UInt64(31000 + number * 100)
            offers.append(
                F.offer(
                    "o\(number)-a",
                    agent: "a\(number)",
                    host: "h\(number % 5)",
                    cpus: Double(agent.0) / 2,
                    mem: Double(agent.1 * 512),
                    ports: agent.2 == 0 ? [] : [ports...(ports + UInt64(agent.2) - 1)],
                    attributes: [F.text("rack", "r\(number % 3)")]
                )
            )
            offers.append(
                F.offer("o\(number)-b", agent: "a\(number)", host: "h\(number % 5)", cpus: Double(agent.0) / 2, mem: Double(agent.1 * 512), ports: [])
            )
        }
        let requests = tasks.enumerated().map { number, task in
            let constraints: [PlacementConstraint] =
                switch task.3 {
                case 1: [PlacementConstraint("hostname", .unique)]
                case 2: [PlacementConstraint("rack", .maxPer(2))]
                default: []
                }
            return F.task(
                "t\(number)",
                cpus: ScalarQuantity(Double(task.0) / 10),
                mem: ScalarQuantity(Double(task.1 * 128)),
                ports: task.2,
                group: "g\(number % 3)",
                constraints: constraints
            )
        }
        return (offers, requests)
    }

    static let strategies: [MatchingStrategy] = [.binPacking, .spreading, .fitness { _, agent in agent.freeCPUs.doubleValue / 100 }]

    @Test("never takes more than an agent offered; every resource and port comes from that agent's offers")
    func noOverAllocation() async {
        await propertyCheck(count: 200, input: Self.agents, Self.tasks) { agents, tasks in
            let (offers, requests) = Self.scenario(agents, tasks)
            for strategy in Self.strategies {
                let result = OfferMatcher(configuration: MatchingConfiguration(strategy: strategy)).match(tasks: requests, offers: offers)
                var offeredScalars: [String: [String: Double]] = [:]
                var offeredPorts: [String: Set<UInt64>] = [:]
                for offer in offers {
                    for resource in offer.resources {
                        if resource.type == .scalar { offeredScalars[offer.agentID.value, default: [:]][resource.name, default: 0] += resource.scalar.value }
                        for range in resource.ranges.range { offeredPorts[offer.agentID.value, default: []].formUnion(range.begin...range.end) }
                    }
                }
                var usedPorts: [String: [UInt64]] = [:]
                var usedScalars: [String: [String: ScalarQuantity]] = [:]
                for placement in result.placements {
                    let agent = placement.agentID.value
                    #expect(placement.offerIDs.allSatisfy { $0.value.hasPrefix("o\(agent.dropFirst())-") })
                    for resource in placement.resources {
                        if resource.type == .scalar { usedScalars[agent, default: [:]][resource.name, default: 0] += resource.scalar.quantity }
                        for range in resource.ranges.range { usedPorts[agent, default: []] += Array(range.begin...range.end) }
                        #expect(resource.allocationInfo.role == "*")
                    }
                    let request = requests.first { $0.taskID == placement.taskID }!
                    let cpus = placement.resources.filter { $0.name == "cpus" }.reduce(ScalarQuantity.zero) { $0 + $1.scalar.quantity }
                    #expect(cpus == request.resources.cpus)
                    #expect(placement.resources.filter { $0.name == "ports" }.flatMap(\.ranges.range).reduce(0) { $0 + Int($1.end - $1.begin + 1) } == request.resources.ports)
                }
                for (agent, scalars) in usedScalars {
                    for (name, used) in scalars { #expect(used <= ScalarQuantity(offeredScalars[agent]?[name] ?? 0), "\(agent) \(name)") }
                }
                for (agent, ports) in usedPorts {
                    #expect(Set(ports).count == ports.count, "a port given twice on \(agent)")
                    #expect(Set(ports).isSubset(of: offeredPorts[agent] ?? []))
                }
                #expect(result.placements.count + result.unplaced.count == requests.count)
            }
        }
    }

    @Test("hard constraints hold: UNIQUE hostname and MAX_PER rack within each group")
    func constraintsHold() async {
        await propertyCheck(count: 200, input: Self.agents, Self.tasks) { agents, tasks in
            let (offers, requests) = Self.scenario(agents, tasks)
            let hostOf = Dictionary(offers.map { ($0.agentID.value, $0.hostname) }, uniquingKeysWith: { a, _ in a })
            let rackOf = Dictionary(
                offers.compactMap { offer in offer.attributes.first.map { (offer.agentID.value, $0.text.value) } },
                uniquingKeysWith: { a, _ in a }
            )
            for strategy in Self.strategies {
                let result = OfferMatcher(configuration: MatchingConfiguration(strategy: strategy)).match(tasks: requests, offers: offers)
                var unique: [String: Set<String>] = [:]
                var perRack: [String: Int] = [:]
                for placement in result.placements {
                    let request = requests.first { $0.taskID == placement.taskID }!
                    for constraint in request.constraints {
                        let agent = placement.agentID.value
                        switch constraint.operator {
                        case .unique:
                            let host = hostOf[agent]!
                            #expect(!unique[request.group, default: []].contains(host), "UNIQUE broken on \(host)")
                            unique[request.group, default: []].insert(host)
                        case .maxPer(let limit):
                            perRack[request.group + "/" + rackOf[agent]!, default: 0] += 1
                            #expect(perRack[request.group + "/" + rackOf[agent]!]! <= limit)
                        default: break
                        }
                    }
                }
            }
        }
    }

    @Test("the same input gives the same output")
    func deterministic() async {
        await propertyCheck(count: 100, input: Self.agents, Self.tasks) { agents, tasks in
            let (offers, requests) = Self.scenario(agents, tasks)
            for strategy in Self.strategies {
                let matcher = OfferMatcher(configuration: MatchingConfiguration(strategy: strategy))
                let one = matcher.match(tasks: requests, offers: offers)
                let two = matcher.match(tasks: requests, offers: offers.reversed())
                #expect(one.placements == two.placements)
                #expect(one.accepts == two.accepts)
                #expect(one.unplaced == two.unplaced)
            }
        }
    }
}
