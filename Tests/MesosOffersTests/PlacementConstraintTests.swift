import Mesos
import MesosOffers
import Testing

@Suite("Placement constraints")
struct PlacementConstraintTests {
    /// Four agents on two racks and two zones.
    static let offers: [Offer] = (1...4).map { n in
        F.offer(
            "o\(n)",
            agent: "a\(n)",
            host: "host\(n)",
            cpus: 8,
            mem: 8192,
            ports: [],
            attributes: [F.text("rack", "rack-\((n + 1) / 2)"), F.text("os", n == 4 ? "windows" : "linux")],
            zone: n % 2 == 0 ? "us-east-1b" : "us-east-1a"
        )
    }

    static func place(_ count: Int, _ constraints: [String], running: [RunningTask] = []) throws -> MatchResult {
        let parsed = try constraints.map { try PlacementConstraint(parsing: $0) }
        let tasks = (1...count).map { F.task("t\($0)", cpus: 1, constraints: parsed) }
        return OfferMatcher().match(tasks: tasks, offers: Self.offers, running: running)
    }

    static func hosts(_ result: MatchResult) -> [String] {
        result.placements.map { placement in "host" + placement.agentID.value.dropFirst() }
    }

    @Test("UNIQUE: one task per host; the fifth waits and says why")
    func unique() throws {
        let result = try Self.place(5, ["hostname:UNIQUE"])
        #expect(Set(Self.hosts(result)).count == 4)
        #expect(result.placements.count == 4)
        #expect(result.unplaced.first?.reasons == ["constraint hostname:UNIQUE unsatisfiable on 4 of 4 agents"])
    }

    @Test("UNIQUE counts tasks already running")
    func uniqueWithRunning() throws {
        let running = [RunningTask(taskID: "old", group: "app", agent: F.agentInfo(host: "host1"))]
        let result = try Self.place(4, ["hostname:UNIQUE"], running: running)
        #expect(Set(Self.hosts(result)) == ["host2", "host3", "host4"])
    }

    @Test("CLUSTER with a value, and without: all on the first task's value")
    func cluster() throws {
        #expect(Set(Self.hosts(try Self.place(3, ["rack:CLUSTER:rack-2"]))) == ["host3"])
        let anchored = try Self.place(20, ["rack:CLUSTER"])
        #expect(Set(anchored.placements.map(\.agentID.value)).isSubset(of: ["a1", "a2"]))
        #expect(anchored.placements.count == 16)
    }

    @Test("GROUP_BY spreads evenly over the values")
    func groupBy() throws {
        let result = try Self.place(6, ["@zone:GROUP_BY"])
        let zones = result.placements.map { ["a1": "a", "a2": "b", "a3": "a", "a4": "b"][$0.agentID.value]! }
        #expect(zones.filter { $0 == "a" }.count == 3)
        #expect(zones.filter { $0 == "b" }.count == 3)
    }

    @Test("MAX_PER caps tasks per value")
    func maxPer() throws {
        let result = try Self.place(10, ["rack:MAX_PER:2"])
        #expect(result.placements.count == 4)
        let racks = Dictionary(grouping: result.placements, by: { Int($0.agentID.value.dropFirst())! <= 2 ? 1 : 2 })
        #expect(racks.values.map(\.count).sorted() == [2, 2])
    }

    @Test("LIKE and UNLIKE match whole values with regular expressions")
    func likeUnlike() throws {
        let like = try Self.place(20, ["hostname:LIKE:host[23]"])
        #expect(Set(Self.hosts(like)) == ["host2", "host3"])
        #expect(like.placements.count == 16)
        #expect(!Self.hosts(try Self.place(30, ["os:UNLIKE:win.*"])).contains("host4"))
        #expect(try Self.place(1, ["hostname:LIKE:host"]).placements.isEmpty)  // whole value, not a substring
    }

    @Test("IS on text and scalar attributes; an absent attribute fails")
    func isOperator() throws {
        #expect(Set(Self.hosts(try Self.place(2, ["os:IS:windows"]))) == ["host4"])
        var offer = F.offer("s", agent: "s1", ports: [])
        var memory = Attribute()
        memory.name = "gen"
        memory.type = .scalar
        memory.scalar.value = 3
        offer.attributes = [memory]
        let task = F.task("t", constraints: [try PlacementConstraint(parsing: "gen:IS:3.0")])
        #expect(OfferMatcher().match(tasks: [task], offers: [offer]).placements.count == 1)
        #expect(try Self.place(1, ["gpu:IS:yes"]).placements.isEmpty)
    }

    @Test("soft constraints only order candidates")
    func soft() throws {
        let prefer = try PlacementConstraint(parsing: "os:IS:windows", soft: true)
        let result = OfferMatcher().match(tasks: [F.task("t", constraints: [prefer])], offers: Self.offers)
        #expect(result.agent(of: "t") == "a4")
        let impossible = try PlacementConstraint(parsing: "os:IS:plan9", soft: true)
        #expect(OfferMatcher().match(tasks: [F.task("t", constraints: [impossible])], offers: Self.offers).placements.count == 1)
    }

    @Test("parsing Marathon's notation, and errors naming what is wrong")
    func parsing() throws {
        #expect(try PlacementConstraint(parsing: "rack:GROUP_BY:3").operator == .groupBy(3))
        #expect(try PlacementConstraint(parsing: "hostname:unique").operator == .unique)
        #expect(try PlacementConstraint(parsing: "rack:CLUSTER").operator == .cluster(nil))
        #expect(try PlacementConstraint(parsing: "@zone:LIKE:a:b").operator == .like("a:b"))
        #expect(try PlacementConstraint(parsing: "rack:MAX_PER:2").description == "rack:MAX_PER:2")
        for bad in ["rack", ":UNIQUE", "rack:NEAR", "rack:MAX_PER", "rack:MAX_PER:0", "rack:LIKE:[", "rack:IS"] {
            #expect(throws: PlacementConstraintError.self, "\(bad)") { try PlacementConstraint(parsing: bad) }
        }
        let error = #expect(throws: PlacementConstraintError.self) { try PlacementConstraint(parsing: "rack:NEAR") }
        #expect(error?.description == "invalid constraint 'rack:NEAR': unknown operator 'NEAR'")
    }
}
