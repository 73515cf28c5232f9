// Usage:
//   MatchBenchmark
//       Prints, one `bench=<name> key=value...` line per figure:
//       - bench=match: one OfferMatcher round, 10,000 pending tasks (20% with constraints) over 1,000 agents'
//         offers, per strategy: median and min of RUNS rounds (target: under 50 ms on one core);
//       - bench=match-scaling: the same tasks over 100, 1,000 and 10,000 agents, bin-packing and spreading;
//       - bench=match-memory: resident growth (/proc/self/statm) per pending TaskRequest, over 100,000 of them
//         (mallinfo2 is not reachable: Swift's Glibc module leaves out malloc.h), and the struct's stride;
//       - bench=match-quality: utilisation reached by bin-packing and by spreading on a fixed workload that
//         over-subscribes the cluster (load_pct=150), and on one that does not (load_pct=50);
//       - bench=match-check: an untimed validation of every result above (nothing over-allocated, ports unique
//         and offered, resources as requested, ACCEPTs and declines consistent, hard constraints kept).
//   MatchBenchmark profile <agents> <tasks> binpacking|spreading [rounds]
//       Only runs `rounds` (1) rounds of that size and prints their times: for perf or callgrind.
// Env: RUNS (5) rounds per figure, fewer once a figure's rounds took FIGURE_BUDGET_MS (4000) in all (`runs=` says
//      how many); ROUND_BUDGET_MS (8000): a 10,000-agent scaling round predicted to take longer matches only the
//      first tasks (`tasks=` says how many), so the whole run stays near a minute even with a slow engine.
// Inputs come from a seeded SplitMix64, so every run matches the same tasks against the same offers, and are built
// before the clock starts.
import Glibc
import Mesos
import MesosOffers

// MARK: - Deterministic inputs

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast and the same on every platform.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (the modulo bias is below 2^-50 for the small ranges used here).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(self.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ probability: Double) -> Bool {
        Double(self.next() >> 11) / Double(1 << 53) < probability
    }

    mutating func pick<T>(_ values: [T]) -> T { values[self.int(0...(values.count - 1))] }

    mutating func hex(_ digits: Int) -> String {
        let alphabet = Array("0123456789abcdef")
        return String((0..<digits).map { _ in alphabet[Int(self.next() & 15)] })
    }
}

func padded(_ number: Int, _ width: Int) -> String {
    let digits = String(number)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Fixed-point text without Foundation.
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = scaled / Int64(scale)
    var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
    if decimals > 0 { text += "." + padded(Int(scaled % Int64(scale)), decimals) }
    return text
}

let racks = 40
/// Rack r is in zone r % 6: three zones in each of two regions.
let zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-west-2a", "us-west-2b", "us-west-2c"]

func scalar(_ name: String, _ value: Double) -> Resource {
    var resource = Resource()
    resource.name = name
    resource.type = .scalar
    resource.scalar.value = value
    resource.allocationInfo.role = "*"
    return resource
}

func portRange(_ range: ClosedRange<UInt64>) -> Resource {
    var resource = Resource()
    resource.name = "ports"
    resource.type = .ranges
    var value = Mesos_V1_Value.Range()
    value.begin = range.lowerBound
    value.end = range.upperBound
    resource.ranges.range = [value]
    resource.allocationInfo.role = "*"
    return resource
}

/// The offers of `agents` agents, as a multi-role master sends them to role `*`: 8-64 cpus, 32-256 GB, disk,
/// ports 31000-32000, a TEXT `rack` attribute (40 racks), on half the agents a SCALAR `cpu_generation`, a fault
/// domain. One agent in ten has its resources split over two offers.
func makeOffers(agents: Int, seed: UInt64) -> [Offer] {
    var rng = SplitMix64(seed: seed)
    var offers: [Offer] = []
    offers.reserveCapacity(agents + agents / 8)
    for number in 0..<agents {
        let cpus = Double(rng.pick([8, 16, 16, 24, 32, 32, 48, 64]))
        let mem = Double(rng.pick([32, 64, 64, 128, 128, 192, 256]) * 1024)
        let disk = Double(rng.pick([200, 500, 1000]) * 1024)
        let rack = rng.int(0...(racks - 1))
        var attributes: [Attribute] = []
        var rackAttribute = Attribute()
        rackAttribute.name = "rack"
        rackAttribute.type = .text
        rackAttribute.text.value = "rack-" + padded(rack, 2)
        attributes.append(rackAttribute)
        if rng.chance(0.5) {
            var generation = Attribute()
            generation.name = "cpu_generation"
            generation.type = .scalar
            generation.scalar.value = rng.pick([2, 3, 4.5])
            attributes.append(generation)
        }
        let zone = zones[rack % zones.count]
        var base = Offer()
        base.frameworkID = FrameworkID("bench-framework")
        base.agentID = AgentID("agent-" + padded(number, 6) + "-S" + String(rng.int(0...9)))
        base.hostname = "host-" + padded(number, 6) + ".dc.example"
        base.attributes = attributes
        base.allocationInfo.role = "*"
        base.domain.faultDomain.region.name = String(zone.dropLast())
        base.domain.faultDomain.zone.name = zone
        if rng.chance(0.1) {
            var first = base
            first.id = OfferID("offer-" + padded(number, 6) + "-0")
            first.resources = [scalar("cpus", cpus / 2), scalar("mem", mem / 2), portRange(31000...31499)]
            var second = base
            second.id = OfferID("offer-" + padded(number, 6) + "-1")
            second.resources = [
                scalar("cpus", cpus / 2), scalar("mem", mem / 2), scalar("disk", disk), portRange(31500...32000),
            ]
            offers += [second, first]
        } else {
            base.id = OfferID("offer-" + padded(number, 6) + "-0")
            base.resources = [scalar("cpus", cpus), scalar("mem", mem), scalar("disk", disk), portRange(31000...32000)]
            offers.append(base)
        }
    }
    return offers
}

/// The hard constraints of a constrained application, by kind (they rotate).
let constraintKinds: [[String]] = [
    ["hostname:UNIQUE"],
    ["rack:GROUP_BY"],
    ["@zone:LIKE:us-east-1[ab]"],
    ["hostname:MAX_PER:2"],
    ["rack:MAX_PER:3", "@zone:LIKE:us-west-2.*"],
    ["hostname:UNIQUE", "rack:GROUP_BY"],
]

struct Workload {
    var tasks: [TaskRequest]
    var constrainedTasks: Int
    var constrainedPct: Int {
        self.tasks.isEmpty ? 0 : (self.constrainedTasks * 100 + self.tasks.count / 2) / self.tasks.count
    }
}

/// Pending tasks as applications of 5-50 instances of one size (0.1-4 cpus, 128-8192 MB, some disk, some with
/// 1-3 ports or named ports); `constrainedPct`% of the tasks (whole applications) carry constraints.
/// Stops at `count` tasks, or once the tasks ask for `cpuLimit` cpus when given.
func makeTasks(count: Int, constrainedPct: Int, seed: UInt64, cpuLimit: Double? = nil) -> Workload {
    var rng = SplitMix64(seed: seed)
    var tasks: [TaskRequest] = []
    tasks.reserveCapacity(count)
    var constrained = 0
    var constrainedApps = 0
    var cpus = 0.0
    var app = 0
    while tasks.count < count, cpus < (cpuLimit ?? .infinity) {
        let instances = min(rng.int(5...50), count - tasks.count)
        var request = ResourceRequest(
            cpus: ScalarQuantity(rng.pick([0.1, 0.25, 0.5, 0.5, 1, 1, 2, 4])),
            mem: ScalarQuantity(Double(rng.pick([128, 256, 512, 1024, 1024, 2048, 4096, 8192]))),
            disk: ScalarQuantity(Double(rng.pick([0, 0, 512, 1024, 10240])))
        )
        let portKind = rng.int(0...19)
        if portKind < 5 {
            request.ports = rng.int(1...3)
        } else if portKind < 8 {
            request.namedPorts = Array(["http", "admin", "metrics"].prefix(rng.int(1...3)))
        }
        var constraints: [PlacementConstraint] = []
        if constrained * 100 < constrainedPct * tasks.count {
            // Parsing checks the patterns; done once per application, outside the timed part anyway.
            constraints = constraintKinds[constrainedApps % constraintKinds.count].map {
                try! PlacementConstraint(parsing: $0)
            }
            constrainedApps += 1
            constrained += instances
        }
        let name = "app-" + padded(app, 5)
        var template = TaskInfo()
        template.name = name
        template.command.value = "./bin/" + name + " --listen 0.0.0.0:$PORT0"
        template.command.shell = true
        var label = Mesos_V1_Label()
        label.key = "team"
        label.value = "team-" + String(app % 17)
        template.labels.labels = [label]
        for _ in 0..<instances {
            // Marathon-style IDs: app name and a UUID.
            let id =
                name + "." + rng.hex(8) + "-" + rng.hex(4) + "-" + rng.hex(4) + "-" + rng.hex(4) + "-" + rng.hex(12)
            tasks.append(
                TaskRequest(
                    taskID: TaskID(id),
                    resources: request,
                    constraints: constraints,
                    group: name,
                    template: template
                )
            )
            cpus += request.cpus.doubleValue
        }
        app += 1
    }
    return Workload(tasks: tasks, constrainedTasks: constrained)
}

// MARK: - Timing

let clock = ContinuousClock()

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

struct Timing {
    var median: Double
    var min: Double
    var runs: Int
    var placed: Int
    var unplaced: Int
    /// The last round's result (dropped once checked).
    var result: MatchResult?
}

func environment(_ name: String) -> Double? { getenv(name).flatMap { Double(String(cString: $0)) } }

/// Rounds per figure.
let defaultRuns = Int(environment("RUNS") ?? 5)
/// A figure stops repeating rounds once they took this long in all (at least one round is run).
let figureBudgetMs = environment("FIGURE_BUDGET_MS") ?? 4000
/// A scaling round predicted to take longer than this runs on the first tasks only (the line says how many).
let roundBudgetMs = environment("ROUND_BUDGET_MS") ?? 8000

/// Median and min of up to `runs` rounds, fewer when they exceed `budget` ms in all.
func time(runs: Int = defaultRuns, budget: Double = figureBudgetMs, _ round: () -> MatchResult) -> Timing {
    var times: [Double] = []
    var result: MatchResult?
    while times.count < runs, times.reduce(0, +) < budget {
        result = nil
        let start = clock.now
        let output = round()
        times.append(milliseconds(clock.now - start))
        result = output
    }
    let sorted = times.sorted()
    return Timing(
        median: sorted[sorted.count / 2],
        min: sorted[0],
        runs: times.count,
        placed: result!.placements.count,
        unplaced: result!.unplaced.count,
        result: result
    )
}

func strategyName(_ spreading: Bool) -> String { spreading ? "spreading" : "binpacking" }

func matcher(spreading: Bool) -> OfferMatcher {
    OfferMatcher(configuration: MatchingConfiguration(strategy: spreading ? .spreading : .binPacking))
}

// MARK: - Validation

struct AgentFacts {
    var hostname: String
    var rack: String?
    var zone: String?
    var region: String?
    var offerIDs: Set<String>
    var cpus: Int64 = 0
    var mem: Int64 = 0
    var disk: Int64 = 0
    var ports: [ClosedRange<UInt64>] = []

    func value(of field: String) -> String? {
        switch field {
        case "hostname", "@hostname": return self.hostname
        case "@zone": return self.zone
        case "@region": return self.region
        case "rack": return self.rack
        default: return nil
        }
    }
}

struct Used {
    var cpus: Int64 = 0
    var mem: Int64 = 0
    var disk: Int64 = 0
    var ports = Set<UInt64>()
    var tasks = 0
}

func milli(_ resource: Resource) -> Int64 { resource.scalar.quantity.milli }

/// What went wrong in all the checked results (the first 20 violations kept).
struct Checker {
    var violations: [String] = []
    var violationCount = 0
    var cases = 0
    var placements = 0

    mutating func violation(_ text: String) {
        self.violationCount += 1
        if self.violations.count < 20 { self.violations.append(text) }
    }

    /// Checks one round's result against its inputs, untimed.
    mutating func check(_ label: String, tasks: [TaskRequest], offers: [Offer], result: MatchResult) {
        self.cases += 1
        self.placements += result.placements.count
        var agents: [String: AgentFacts] = [:]
        var offerAgent: [String: String] = [:]
        for offer in offers {
            let id = offer.agentID.value
            if agents[id] == nil {
                agents[id] = AgentFacts(
                    hostname: offer.hostname,
                    rack: offer.attributes.first { $0.name == "rack" }?.text.value,
                    zone: offer.hasDomain ? offer.domain.faultDomain.zone.name : nil,
                    region: offer.hasDomain ? offer.domain.faultDomain.region.name : nil,
                    offerIDs: []
                )
            }
            agents[id]!.offerIDs.insert(offer.id.value)
            offerAgent[offer.id.value] = id
            for resource in offer.resources {
                switch resource.name {
                case "cpus": agents[id]!.cpus += milli(resource)
                case "mem": agents[id]!.mem += milli(resource)
                case "disk": agents[id]!.disk += milli(resource)
                case "ports": agents[id]!.ports += resource.ranges.range.map { $0.begin...$0.end }
                default: break
                }
            }
        }
        var taskIndex: [String: Int] = [:]
        for (index, task) in tasks.enumerated() { taskIndex[task.taskID.value] = index }

        // Every task once: placed or unplaced.
        var seen = [Int](repeating: 0, count: tasks.count)
        for id in result.placements.map(\.taskID.value) + result.unplaced.map(\.taskID.value) {
            guard let index = taskIndex[id] else {
                violation("\(label): unknown task \(id)")
                continue
            }
            seen[index] += 1
        }
        for (index, count) in seen.enumerated() where count != 1 {
            violation("\(label): task \(tasks[index].taskID.value) reported \(count) times")
        }

        // Resources: as requested, within what each agent offered, ports offered and not shared.
        var used: [String: Used] = [:]
        var placedOn: [Int: String] = [:]
        for placement in result.placements {
            guard let index = taskIndex[placement.taskID.value] else { continue }
            let request = tasks[index].resources
            let agentID = placement.agentID.value
            guard let agent = agents[agentID] else {
                violation("\(label): \(placement.taskID.value) placed on unknown agent \(agentID)")
                continue
            }
            placedOn[index] = agentID
            if placement.hostname != agent.hostname { violation("\(label): \(placement.taskID.value) wrong hostname") }
            for offerID in placement.offerIDs where !agent.offerIDs.contains(offerID.value) {
                violation("\(label): \(placement.taskID.value) uses offer \(offerID.value) of another agent")
            }
            var got = Used()
            var ports: [UInt64] = []
            for resource in placement.resources {
                if resource.allocationInfo.role != "*" {
                    violation("\(label): \(placement.taskID.value) \(resource.name) without allocation role '*'")
                }
                switch resource.name {
                case "cpus": got.cpus += milli(resource)
                case "mem": got.mem += milli(resource)
                case "disk": got.disk += milli(resource)
                case "ports":
                    for range in resource.ranges.range { ports += Array(range.begin...range.end) }
                default: violation("\(label): \(placement.taskID.value) got unrequested \(resource.name)")
                }
            }
            if got.cpus != request.cpus.milli || got.mem != request.mem.milli || got.disk != request.disk.milli
                || ports.count != request.portCount
            {
                violation(
                    "\(label): \(placement.taskID.value) got cpus=\(got.cpus) mem=\(got.mem) disk=\(got.disk) "
                        + "ports=\(ports.count), asked \(request.cpus.milli)/\(request.mem.milli)/"
                        + "\(request.disk.milli)/\(request.portCount)"
                )
            }
            if Set(placement.namedPorts.keys) != Set(request.namedPorts)
                || !placement.namedPorts.values.allSatisfy(ports.contains)
            {
                violation("\(label): \(placement.taskID.value) named ports \(placement.namedPorts) not among \(ports)")
            }
            var total = used[agentID, default: Used()]
            total.cpus += got.cpus
            total.mem += got.mem
            total.disk += got.disk
            total.tasks += 1
            for port in ports {
                if !agent.ports.contains(where: { $0.contains(port) }) {
                    violation("\(label): \(placement.taskID.value) port \(port) not offered by \(agentID)")
                }
                if !total.ports.insert(port).inserted {
                    violation("\(label): port \(port) on \(agentID) given twice")
                }
            }
            used[agentID] = total
        }
        for (agentID, total) in used {
            let agent = agents[agentID]!
            if total.cpus > agent.cpus || total.mem > agent.mem || total.disk > agent.disk {
                violation(
                    "\(label): \(agentID) over-allocated: cpus \(total.cpus)/\(agent.cpus) "
                        + "mem \(total.mem)/\(agent.mem) disk \(total.disk)/\(agent.disk)"
                )
            }
        }

        // ACCEPTs and declines: every offer exactly once, launches match the placements.
        var offerUse: [String: Int] = [:]
        var launched: [String: Int] = [:]
        let placementByTask = Dictionary(uniqueKeysWithValues: result.placements.map { ($0.taskID.value, $0) })
        for accept in result.accepts {
            for offerID in accept.offerIDs {
                offerUse[offerID.value, default: 0] += 1
                if offerAgent[offerID.value] != accept.agentID.value {
                    violation("\(label): ACCEPT for \(accept.agentID.value) uses offer \(offerID.value)")
                }
            }
            for operation in accept.operations {
                guard operation.type == .launch else {
                    violation("\(label): unexpected operation \(operation.type)")
                    continue
                }
                for info in operation.launch.taskInfos {
                    launched[accept.agentID.value, default: 0] += 1
                    let placement = placementByTask[info.taskID.value]
                    if placement == nil || info.agentID != accept.agentID || info.resources != placement!.resources {
                        violation("\(label): LAUNCH of \(info.taskID.value) does not match its placement")
                    }
                }
            }
        }
        for decline in result.declines {
            for offerID in decline.offerIDs { offerUse[offerID.value, default: 0] += 1 }
        }
        for offer in offers where offerUse[offer.id.value] != 1 {
            violation("\(label): offer \(offer.id.value) accepted or declined \(offerUse[offer.id.value] ?? 0) times")
        }
        for (agentID, total) in used where launched[agentID, default: 0] != total.tasks {
            violation("\(label): \(agentID) has \(total.tasks) placements, \(launched[agentID, default: 0]) launches")
        }

        // Hard constraints, per group.
        var groups: [String: [Int]] = [:]
        for (index, task) in tasks.enumerated() where !task.constraints.isEmpty {
            groups[task.group, default: []].append(index)
        }
        for (group, members) in groups {
            let agentIDs = members.compactMap { placedOn[$0] }
            for constraint in tasks[members[0]].constraints where !constraint.isSoft {
                var counts: [String: Int] = [:]
                for agentID in agentIDs {
                    guard let value = agents[agentID]!.value(of: constraint.field) else {
                        violation("\(label): \(group) on \(agentID), which has no \(constraint.field)")
                        continue
                    }
                    counts[value, default: 0] += 1
                }
                switch constraint.operator {
                case .unique:
                    if let (value, count) = counts.first(where: { $0.value > 1 }) {
                        violation("\(label): \(group) \(constraint): \(count) tasks on \(value)")
                    }
                case .maxPer(let limit):
                    if let (value, count) = counts.first(where: { $0.value > limit }) {
                        violation("\(label): \(group) \(constraint): \(count) tasks on \(value)")
                    }
                case .like(let pattern):
                    let regex = try! Regex(pattern)
                    for value in counts.keys where (try? regex.wholeMatch(in: value)) == nil {
                        violation("\(label): \(group) \(constraint): placed on \(value)")
                    }
                case .groupBy:
                    // Every value the round's agents have counts, with zero tasks where none went.
                    let known = Set(agents.values.compactMap { $0.value(of: constraint.field) })
                    let perValue = known.map { counts[$0, default: 0] }
                    if let low = perValue.min(), let high = perValue.max(), high - low > 1 {
                        violation("\(label): \(group) \(constraint): between \(low) and \(high) tasks per value")
                    }
                default:
                    break
                }
            }
        }
    }

}

// MARK: - Memory

func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return -1 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 128)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return -1 }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

// MARK: - Figures

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func printLine(_ fields: [(String, String)]) {
    print(fields.map { $0.0 + "=" + $0.1 }.joined(separator: " "))
}

/// Placed and offered totals, and agents used, for the quality figures.
func utilisation(offers: [Offer], result: MatchResult) -> [(String, String)] {
    var offeredCPUs: Int64 = 0
    var offeredMem: Int64 = 0
    var agents = Set<String>()
    for offer in offers {
        agents.insert(offer.agentID.value)
        for resource in offer.resources {
            if resource.name == "cpus" { offeredCPUs += milli(resource) }
            if resource.name == "mem" { offeredMem += milli(resource) }
        }
    }
    var placedCPUs: Int64 = 0
    var placedMem: Int64 = 0
    var used = Set<String>()
    for placement in result.placements {
        used.insert(placement.agentID.value)
        for resource in placement.resources {
            if resource.name == "cpus" { placedCPUs += milli(resource) }
            if resource.name == "mem" { placedMem += milli(resource) }
        }
    }
    return [
        ("cpu_util", fixed(Double(placedCPUs) / Double(offeredCPUs), 3)),
        ("mem_util", fixed(Double(placedMem) / Double(offeredMem), 3)),
        ("agents_used", String(used.count)), ("agents_empty", String(agents.count - used.count)),
    ]
}

func matchLine(
    _ bench: String,
    agents: Int,
    workload: Workload,
    spreading: Bool,
    timing: Timing
) -> [(String, String)] {
    let tasks = workload.tasks.count
    return [
        ("bench", bench), ("agents", String(agents)), ("tasks", String(tasks)),
        ("constrained_pct", String(workload.constrainedPct)), ("strategy", strategyName(spreading)),
        ("placed", String(timing.placed)), ("unplaced", String(timing.unplaced)),
        ("ms", fixed(timing.median, 2)), ("ms_min", fixed(timing.min, 2)), ("runs", String(timing.runs)),
        ("per_task_us", fixed(timing.median * 1000 / Double(tasks), 3)),
    ]
}

func profile(_ arguments: [String]) {
    guard arguments.count >= 3, let agents = Int(arguments[0]), let count = Int(arguments[1]),
        ["binpacking", "spreading"].contains(arguments[2])
    else {
        printError("usage: MatchBenchmark profile <agents> <tasks> binpacking|spreading [rounds]")
        exit(2)
    }
    let spreading = arguments[2] == "spreading"
    let rounds = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
    let offers = makeOffers(agents: agents, seed: 1)
    let workload = makeTasks(count: count, constrainedPct: 20, seed: 2)
    let timing = time(runs: rounds, budget: .infinity) {
        matcher(spreading: spreading).match(tasks: workload.tasks, offers: offers)
    }
    printLine(matchLine("match-profile", agents: agents, workload: workload, spreading: spreading, timing: timing))
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "profile" {
    profile(Array(arguments.dropFirst()))
    exit(0)
}

var checker = Checker()

// Memory per pending task first, while the heap is fresh: resident growth while 100,000 TaskRequests are held.
let memoryLine: [(String, String)]
do {
    let count = 100_000
    let before = residentBytes()
    let many = makeTasks(count: count, constrainedPct: 20, seed: 3)
    let after = residentBytes()
    memoryLine = [
        ("bench", "match-memory"), ("tasks", String(many.tasks.count)),
        ("constrained_pct", String(many.constrainedPct)),
        ("bytes_per_task", String((after - before) / count)), ("stride", String(MemoryLayout<TaskRequest>.stride)),
    ]
    withExtendedLifetime(many) {}
}

let taskCount = 10_000
let workload = makeTasks(count: taskCount, constrainedPct: 20, seed: 2)

// One round over 1,000 agents, then the scaling over 100 and 10,000 (1,000 is the round above). A round predicted
// (linearly in agents, from the 1,000-agent one) to exceed ROUND_BUDGET_MS matches only the first tasks.
var timings: [Int: [Bool: (tasks: Workload, timing: Timing)]] = [:]
for agents in [1000, 100, 10_000] {
    let offers = makeOffers(agents: agents, seed: 1)
    for spreading in [false, true] {
        var tasks = workload
        if let base = timings[1000]?[spreading]?.timing, agents > 1000 {
            let predicted = base.median * Double(agents) / 1000
            if predicted > roundBudgetMs {
                let count = max(1000, Int(Double(taskCount) * roundBudgetMs / predicted) / 1000 * 1000)
                tasks.tasks = Array(workload.tasks.prefix(count))
                tasks.constrainedTasks = tasks.tasks.count { !$0.constraints.isEmpty }
            }
        }
        var timing = time { matcher(spreading: spreading).match(tasks: tasks.tasks, offers: offers) }
        if agents == 1000 {
            printLine(matchLine("match", agents: agents, workload: tasks, spreading: spreading, timing: timing))
        }
        checker.check(
            "\(agents)-agents/\(strategyName(spreading))",
            tasks: tasks.tasks,
            offers: offers,
            result: timing.result!
        )
        timing.result = nil
        timings[agents, default: [:]][spreading] = (tasks, timing)
    }
}
for spreading in [false, true] {
    for agents in [100, 1000, 10_000] {
        let (tasks, timing) = timings[agents]![spreading]!
        printLine(matchLine("match-scaling", agents: agents, workload: tasks, spreading: spreading, timing: timing))
    }
}
printLine(memoryLine)

// Packing quality: one fixed workload over 200 agents asking for 150% of their cpus, and one asking for 50%.
do {
    let agents = 200
    let offers = makeOffers(agents: agents, seed: 4)
    var offeredCPUs = 0.0
    var offeredMem = 0.0
    for offer in offers {
        for resource in offer.resources where resource.name == "cpus" { offeredCPUs += resource.scalar.value }
        for resource in offer.resources where resource.name == "mem" { offeredMem += resource.scalar.value }
    }
    for load in [150, 50] {
        let limit = offeredCPUs * Double(load) / 100
        let quality = makeTasks(count: 1_000_000, constrainedPct: 20, seed: 5, cpuLimit: limit)
        let demandCPUs = quality.tasks.reduce(0) { $0 + $1.resources.cpus.doubleValue }
        let demandMem = quality.tasks.reduce(0) { $0 + $1.resources.mem.doubleValue }
        for spreading in [false, true] {
            let result = matcher(spreading: spreading).match(tasks: quality.tasks, offers: offers)
            checker.check(
                "quality-\(load)/\(strategyName(spreading))",
                tasks: quality.tasks,
                offers: offers,
                result: result
            )
            var fields: [(String, String)] = [
                ("bench", "match-quality"), ("load_pct", String(load)), ("strategy", strategyName(spreading)),
                ("agents", String(agents)), ("tasks", String(quality.tasks.count)),
                ("constrained_pct", String(quality.constrainedPct)),
                ("demand_cpu_pct", String(Int((demandCPUs * 100 / offeredCPUs).rounded()))),
                ("demand_mem_pct", String(Int((demandMem * 100 / offeredMem).rounded()))),
            ]
            fields.append(("placed", String(result.placements.count)))
            fields.append(("unplaced", String(result.unplaced.count)))
            fields += utilisation(offers: offers, result: result)
            printLine(fields)
        }
    }
}

for text in checker.violations { printError("violation: " + text) }
printLine([
    ("bench", "match-check"), ("cases", String(checker.cases)), ("placements", String(checker.placements)),
    ("violations", String(checker.violationCount)), ("ok", checker.violationCount == 0 ? "true" : "false"),
])
