import Mesos
import MesosOffers
import Testing

typealias F = OfferFixtures

@Suite("Offer matcher")
struct OfferMatcherTests {
    @Test("a task gets exact resources, concrete ports, and a ready LAUNCH")
    func basicLaunch() throws {
        let offers = [F.offer("o1", agent: "a1", ports: [31000...31005])]
        var task = F.task("web-1", cpus: 0.5, mem: 256, ports: 2)
        task.template.name = "web"
        let result = OfferMatcher().match(tasks: [task], offers: offers)

        let placement = try #require(result.placements.first)
        #expect(placement.agentID.value == "a1")
        #expect(placement.offerIDs.map(\.value) == ["o1"])
        let byName = Dictionary(grouping: placement.resources, by: \.name)
        #expect(byName["cpus"]?.map(\.scalar.value) == [0.5])
        #expect(byName["mem"]?.map(\.scalar.value) == [256])
        #expect(byName["ports"]?.first?.ranges.range.map { [$0.begin, $0.end] } == [[31000, 31001]])
        #expect(placement.resources.allSatisfy { $0.allocationInfo.role == "*" })

        let accept = try #require(result.accepts.first)
        #expect(accept.offerIDs.map(\.value) == ["o1"])
        #expect(accept.operations.count == 1)
        let launch = accept.operations[0]
        #expect(launch.type == .launch)
        let info = try #require(launch.launch.taskInfos.first)
        #expect(info.taskID.value == "web-1")
        #expect(info.name == "web")
        #expect(info.agentID.value == "a1")
        #expect(info.command.value == "sleep 10")
        #expect(info.resources == placement.resources)
        #expect(info.isInitialized)
        #expect(result.declines.isEmpty)
        #expect(result.unplaced.isEmpty)
    }

    @Test("several offers from one agent combine into one ACCEPT")
    func combinesOffers() throws {
        let offers = [
            F.offer("o2", agent: "a1", cpus: 1, mem: 512, ports: []), F.offer("o1", agent: "a1", cpus: 1, mem: 512, ports: []),
        ]
        let result = OfferMatcher().match(tasks: [F.task("t", cpus: 1.5, mem: 768)], offers: offers)
        #expect(result.accepts.count == 1)
        #expect(result.accepts[0].offerIDs.map(\.value) == ["o1", "o2"])
        #expect(result.placedScalar("cpus")["a1"] == 1.5)
    }

    @Test("fixed-point arithmetic: ten tasks of 0.1 cpus fill exactly one cpu")
    func fixedPoint() {
        let tasks = (0..<11).map { F.task("t\($0)", cpus: 0.1, mem: 1) }
        let result = OfferMatcher().match(tasks: tasks, offers: [F.offer("o", agent: "a", cpus: 1, mem: 100, ports: [])])
        #expect(result.placements.count == 10)
        #expect(result.unplaced.map(\.taskID.value) == ["t10"])
    }

    @Test("named ports get their own numbers and appear in discovery")
    func namedPorts() throws {
        var task = F.task("svc")
        task.resources.namedPorts = ["http", "admin"]
        let result = OfferMatcher().match(tasks: [task], offers: [F.offer("o", agent: "a", ports: [8000...8000, 9000...9005])])
        let placement = try #require(result.placements.first)
        #expect(placement.namedPorts == ["http": 8000, "admin": 9000])
        let info = result.accepts[0].operations[0].launch.taskInfos[0]
        #expect(info.discovery.ports.ports.map(\.name) == ["http", "admin"])
        #expect(info.discovery.ports.ports.map(\.number) == [8000, 9000])
        #expect(info.isInitialized)
    }

    @Test("roles: reserved resources only for their role, allocation role respected, reserved used first")
    func roles() throws {
        var offer = F.offer("o", agent: "a", cpus: 1, mem: 1024, ports: [], allocation: "web")
        offer.resources += [F.scalar("cpus", 2, role: "web", allocation: "web"), F.scalar("cpus", 8, role: "db", allocation: "web")]
        let other = F.offer("o-batch", agent: "b", cpus: 16, mem: 1024, ports: [], allocation: "batch")

        let result = OfferMatcher().match(tasks: [F.task("w", cpus: 2.5, mem: 10, role: "web")], offers: [offer, other])
        let placement = try #require(result.placements.first)
        #expect(placement.agentID.value == "a")
        let cpus = placement.resources.filter { $0.name == "cpus" }
        #expect(cpus.map(\.scalar.value) == [2, 0.5])  // the web reservation first, then unreserved
        #expect(cpus[0].reservations.map(\.role) == ["web"])
        #expect(cpus.allSatisfy { $0.reservations.last?.role != "db" })

        let tooBig = OfferMatcher().match(tasks: [F.task("w", cpus: 4, mem: 10, role: "web")], offers: [offer, other])
        #expect(tooBig.placements.isEmpty)  // 3 usable cpus for web: the db reservation and batch's offer are not
        let reasons = try #require(tooBig.unplaced.first?.reasons)
        #expect(reasons.contains("insufficient cpus on 1 of 2 agents (needs 4, most free 3)"))
        #expect(reasons.contains("no resources for role 'web' on 1 of 2 agents"))
    }

    @Test("a sub-role may use its parent's reservation")
    func hierarchicalRoles() {
        var offer = F.offer("o", agent: "a", cpus: 0, mem: 1024, ports: [], allocation: "eng/web")
        offer.resources.append(F.scalar("cpus", 2, role: "eng", allocation: "eng/web"))
        let result = OfferMatcher().match(tasks: [F.task("t", cpus: 2, mem: 1, role: "eng/web")], offers: [offer])
        #expect(result.placements.count == 1)
    }

    @Test("bin-packing fills the first agents; spreading uses the least loaded")
    func strategies() {
        let offers = (1...3).map { F.offer("o\($0)", agent: "a\($0)", cpus: 4, mem: 4096, ports: []) }
        let tasks = (1...3).map { F.task("t\($0)", cpus: 1, mem: 100) }
        let packed = OfferMatcher().match(tasks: tasks, offers: offers)
        #expect(Set(packed.placements.map(\.agentID.value)) == ["a1"])
        #expect(packed.declines.flatMap(\.offerIDs).map(\.value) == ["o2", "o3"])

        let spread = OfferMatcher(configuration: MatchingConfiguration(strategy: .spreading)).match(tasks: tasks, offers: offers)
        #expect(Set(spread.placements.map(\.agentID.value)) == ["a1", "a2", "a3"])
    }

    @Test("bin-packing places larger tasks first within a priority; priority beats size")
    func ordering() {
        let offers = [F.offer("o", agent: "a", cpus: 4, mem: 4096, ports: [])]
        let tasks = [F.task("small", cpus: 1), F.task("big", cpus: 4), F.task("urgent", cpus: 1, priority: 5)]
        let result = OfferMatcher().match(tasks: tasks, offers: offers)
        #expect(result.placements.map(\.taskID.value) == ["urgent", "small"])  // big no longer fits
        #expect(result.unplaced.map(\.taskID.value) == ["big"])
        let noPriority = OfferMatcher().match(tasks: Array(tasks.prefix(2)), offers: offers)
        #expect(noPriority.placements.map(\.taskID.value) == ["big"])
    }

    @Test("a fitness function picks the agent; good-enough stops early")
    func fitness() {
        let offers = (1...3).map { F.offer("o\($0)", agent: "a\($0)", ports: []) }
        var configuration = MatchingConfiguration(strategy: .fitness { _, agent in agent.hostname == "a2.example" ? 0.9 : 0.5 })
        #expect(OfferMatcher(configuration: configuration).match(tasks: [F.task("t")], offers: offers).agent(of: "t") == "a2")
        configuration.goodEnough = 0.5
        #expect(OfferMatcher(configuration: configuration).match(tasks: [F.task("t")], offers: offers).agent(of: "t") == "a1")
    }

    @Test("a gang launches whole or not at all")
    func gangs() {
        let offers = [F.offer("o1", agent: "a1", cpus: 2, ports: []), F.offer("o2", agent: "a2", cpus: 2, ports: [])]
        let fits = (1...4).map { F.task("g\($0)", cpus: 1, gang: "g") }
        #expect(OfferMatcher().match(tasks: fits, offers: offers).placements.count == 4)

        let tooMany = (1...5).map { F.task("g\($0)", cpus: 1, gang: "g") } + [F.task("solo", cpus: 1)]
        let result = OfferMatcher().match(tasks: tooMany, offers: offers)
        #expect(result.placements.map(\.taskID.value) == ["solo"])
        #expect(result.unplaced.count == 5)
        #expect(result.unplaced[0].reasons == ["its gang 'g' could not be placed whole (g5 did not fit)"])
        #expect(result.placedScalar("cpus").values.reduce(0, +) == 1)  // the rollback returned everything
    }

    @Test("a task group goes to one agent in one LAUNCH_GROUP, its executor's resources counted once")
    func taskGroups() throws {
        var executor = ExecutorInfo()
        executor.type = .default
        executor.executorID = "pod-exec"
        executor.resources = [F.scalar("cpus", 0.1, allocation: nil), F.scalar("mem", 32, allocation: nil)]
        var first = F.task("p1", cpus: 1)
        first.taskGroup = "pod"
        first.executor = executor
        var second = F.task("p2", cpus: 1)
        second.taskGroup = "pod"
        let offers = [F.offer("o1", agent: "a1", cpus: 2, ports: []), F.offer("o2", agent: "a2", cpus: 2.1, ports: [])]
        let result = OfferMatcher().match(tasks: [first, second], offers: offers)
        #expect(result.placements.map(\.agentID.value) == ["a2", "a2"])
        let operation = try #require(result.accepts.first?.operations.first)
        #expect(operation.type == .launchGroup)
        #expect(operation.launchGroup.taskGroup.tasks.map(\.taskID.value) == ["p1", "p2"])
        #expect(operation.launchGroup.executor.executorID.value == "pod-exec")
        #expect(operation.launchGroup.executor.resources.filter { $0.name == "cpus" }.map(\.scalar.value) == [0.1])
        #expect(operation.launchGroup.executor.resources.allSatisfy { $0.allocationInfo.role == "*" })
    }

    @Test("declines: short filter while tasks of the role wait, long when nothing does")
    func declines() {
        let offers = [F.offer("o1", agent: "a1", cpus: 1, ports: []), F.offer("o2", agent: "a2", cpus: 1, ports: [])]
        let waiting = OfferMatcher().match(tasks: [F.task("big", cpus: 8)], offers: offers)
        #expect(waiting.declines.count == 1)
        #expect(waiting.declines[0].refuseSeconds == 5)
        #expect(waiting.declines[0].offerIDs.count == 2)
        let idle = OfferMatcher().match(tasks: [], offers: offers)
        #expect(idle.declines.map(\.refuseSeconds) == [120])
    }

    @Test("the same input gives the same output, whatever the order of the offers")
    func deterministic() {
        var rng = SplitMix64(seed: 7)
        let offers = (0..<40).map { F.offer("o\($0)", agent: "a\($0 % 13)", cpus: Double(Int.random(in: 1...8, using: &rng))) }
        let tasks = (0..<60).map {
            F.task("t\($0)", cpus: ScalarQuantity(Double(Int.random(in: 1...20, using: &rng)) / 10), ports: $0 % 3)
        }
        let one = OfferMatcher().match(tasks: tasks, offers: offers)
        let two = OfferMatcher().match(tasks: tasks, offers: offers.shuffled(using: &rng))
        #expect(one.placements == two.placements)
        #expect(one.accepts == two.accepts)
        #expect(one.declines == two.declines)
    }

    @Test("no offers: every task says so")
    func noOffers() {
        let result = OfferMatcher().match(tasks: [F.task("t")], offers: [])
        #expect(result.unplaced.first?.reasons == ["no offers"])
    }

    @Test("a hostile port range from the network does not crash the matcher")
    func hugePortRange() {
        let result = OfferMatcher().match(
            tasks: [F.task("t", ports: 3)],
            offers: [F.offer("o", agent: "a", ports: [0...UInt64.max])]
        )
        #expect(result.placements.first?.resources.first { $0.name == "ports" }?.ranges.range.map(\.end) == [2])
    }
}

struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
