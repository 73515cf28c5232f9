public import Mesos

/// Turns pending tasks and the offers held into launches: which task goes where, with exactly which resources
/// (port numbers included), the ACCEPT operations to send, the offers to decline, and why the rest could not be
/// placed.
///
/// Pure and deterministic: no I/O, and the same input gives the same output. It never takes more than an agent
/// offered, never uses resources of a role the task may not use, and never breaks a hard constraint.
///
/// ```swift
/// let result = OfferMatcher().match(tasks: pending, offers: held, running: running)
/// for accept in result.accepts { try await scheduler.accept(accept.offerIDs, operations: accept.operations) }
/// ```
public struct OfferMatcher: Sendable {
    public var configuration: MatchingConfiguration

    public init(configuration: MatchingConfiguration = MatchingConfiguration()) {
        self.configuration = configuration
    }

    /// One matching round.
    ///
    /// - Parameters:
    ///   - tasks: the pending tasks, in submission order.
    ///   - offers: the offers held; several from one agent are combined.
    ///   - running: tasks already running, which constraints count.
    public func match(tasks: [TaskRequest], offers: [Offer], running: [RunningTask] = []) -> MatchResult {
        var round = Round(configuration: self.configuration, tasks: tasks, offers: offers, running: running)
        return round.run()
    }
}

/// One task, or a task group placed as one unit on one agent.
private struct Unit {
    var members: [Int]
    var request: ResourceRequest
    var executorRequest: ResourceRequest?
    var role: String
    var constraints: [PlacementConstraint]
    var group: String
    var priority: Int
    var order: Int
    var size: Double = 0
}

private struct Round {
    let configuration: MatchingConfiguration
    let tasks: [TaskRequest]
    let running: [RunningTask]
    var agents: [AgentState]
    var book: ConstraintBook
    /// One index per role some task asks for; `roleSlots` maps roles to them.
    var indexes: [AgentIndex] = []
    var roleSlots: [String: Int] = [:]
    /// What each agent offered each role at the start of the round (by slot), for spreading scores.
    var offered: [[Amounts]] = []
    /// Largest offered cpus and mem over all agents, to normalise task sizes.
    let maxCPUs: Double
    let maxMem: Double
    /// Task → its unit.
    var unitOfTask: [Int] = []
    var placed: [(unit: Int, agent: Int, resources: [[Resource]], namedPorts: [[String: UInt64]], executor: [Resource])] = []
    var unitList: [Unit] = []
    var gangFailures: [Int: String] = [:]

    init(configuration: MatchingConfiguration, tasks: [TaskRequest], offers: [Offer], running: [RunningTask]) {
        self.configuration = configuration
        self.tasks = tasks
        self.running = running
        self.agents = AgentState.make(from: offers)
        var fields = Set<String>()
        for task in tasks { for constraint in task.constraints { fields.insert(constraint.field) } }
        self.book = ConstraintBook(fields: fields, agents: self.agents, running: running)
        var maxCPUs: Int64 = 1
        var maxMem: Int64 = 1
        for agent in self.agents {
            var total = Amounts()
            for pool in agent.pools { total += pool.free }
            maxCPUs = max(maxCPUs, total.cpus)
            maxMem = max(maxMem, total.mem)
        }
        self.maxCPUs = Double(maxCPUs)
        self.maxMem = Double(maxMem)
    }

    // MARK: - Units and order

    private mutating func makeUnits() -> [[Int]] {
        var units: [Unit] = []
        var groupUnit: [String: Int] = [:]
        for (index, task) in self.tasks.enumerated() {
            if let taskGroup = task.taskGroup, let existing = groupUnit[taskGroup] {
                units[existing].members.append(index)
                units[existing].request = units[existing].request + task.resources
                if units[existing].executorRequest == nil, let executor = task.executor {
                    units[existing].executorRequest = Self.request(for: executor)
                }
                continue
            }
            var unit = Unit(
                members: [index],
                request: task.resources,
                executorRequest: task.executor.map(Self.request(for:)),
                role: task.role,
                constraints: task.constraints,
                group: task.group,
                priority: task.priority,
                order: index
            )
            if task.taskGroup == nil { unit.executorRequest = nil }
            if let taskGroup = task.taskGroup { groupUnit[taskGroup] = units.count }
            units.append(unit)
        }
        for index in units.indices {
            let total = units[index].request + (units[index].executorRequest ?? ResourceRequest())
            units[index].size = max(Double(total.cpus.milli) / self.maxCPUs, Double(total.mem.milli) / self.maxMem)
        }
        self.unitList = units
        self.unitOfTask = Array(repeating: 0, count: self.tasks.count)
        for (number, unit) in units.enumerated() { for member in unit.members { self.unitOfTask[member] = number } }

        // Blocks: a gang (its units together) or a single unit.
        var blocks: [[Int]] = []
        var gangBlock: [String: Int] = [:]
        for (index, unit) in units.enumerated() {
            if let gang = self.tasks[unit.members[0]].gang {
                if let block = gangBlock[gang] {
                    blocks[block].append(index)
                    continue
                }
                gangBlock[gang] = blocks.count
            }
            blocks.append([index])
        }
        let binPacking: Bool
        if case .binPacking = self.configuration.strategy.kind { binPacking = true } else { binPacking = false }
        func key(_ block: [Int]) -> (priority: Int, size: Double, order: Int) {
            (
                block.map { units[$0].priority }.max()!, binPacking ? block.map { units[$0].size }.max()! : 0,
                block.map { units[$0].order }.min()!
            )
        }
        let keyed = blocks.map { block -> (key: (priority: Int, size: Double, order: Int), units: [Int]) in
            let sorted = block.sorted {
                binPacking && units[$0].size != units[$1].size ? units[$0].size > units[$1].size : units[$0].order < units[$1].order
            }
            return (key(block), sorted)
        }
        return keyed.sorted { a, b in
            if a.key.priority != b.key.priority { return a.key.priority > b.key.priority }
            if a.key.size != b.key.size { return a.key.size > b.key.size }
            return a.key.order < b.key.order
        }.map(\.units)
    }

    /// What an executor's own resources ask for.
    static func request(for executor: ExecutorInfo) -> ResourceRequest {
        var request = ResourceRequest()
        for resource in executor.resources where resource.type == .scalar {
            let amount = resource.scalar.quantity
            switch resource.name {
            case "cpus": request.cpus += amount
            case "mem": request.mem += amount
            case "disk": request.disk += amount
            case "gpus": request.gpus += amount
            default: request.scalars[resource.name, default: 0] += amount
            }
        }
        return request
    }

    // MARK: - The round

    mutating func run() -> MatchResult {
        let blocks = self.makeUnits()
        // Every role's index exists before any placement, so a gang's rollback restores them all consistently.
        for unit in self.unitList { _ = self.slot(for: unit.role) }
        for block in blocks {
            if block.count == 1 && self.tasks[self.unitList[block[0]].members[0]].gang == nil {
                _ = self.place(block[0])
                continue
            }
            // A gang: all of it or none of it.
            let agentsBefore = self.agents
            let bookBefore = self.book
            let indexesBefore = self.indexes
            let placedBefore = self.placed.count
            var failed: Int?
            for unit in block where !self.place(unit) {
                failed = unit
                break
            }
            if let failed {
                self.agents = agentsBefore
                self.book = bookBefore
                self.indexes = indexesBefore
                self.placed.removeLast(self.placed.count - placedBefore)
                let gang = self.tasks[self.unitList[failed].members[0]].gang ?? ""
                let culprit = self.tasks[self.unitList[failed].members[0]].taskID.value
                for unit in block { self.gangFailures[unit] = "its gang '\(gang)' could not be placed whole (\(culprit) did not fit)" }
            }
        }
        return self.result()
    }

    /// Spreading: the share of what the agent offered the role that is still free (cpus and mem alike).
    private func score(_ free: Amounts, offered: Amounts) -> Double {
        let cpus = offered.cpus > 0 ? Double(free.cpus) / Double(offered.cpus) : 0
        let mem = offered.mem > 0 ? Double(free.mem) / Double(offered.mem) : 0
        return (cpus + mem) / 2
    }

    private mutating func slot(for role: String) -> Int {
        if let slot = self.roleSlots[role] { return slot }
        var index = AgentIndex(count: self.agents.count)
        var offered: [Amounts] = []
        offered.reserveCapacity(self.agents.count)
        for (number, agent) in self.agents.enumerated() {
            let free = agent.free(for: role)
            offered.append(free)
            index.update(number, free: free, score: self.score(free, offered: free))
        }
        self.roleSlots[role] = self.indexes.count
        self.indexes.append(index)
        self.offered.append(offered)
        return self.indexes.count - 1
    }

    /// Places one unit; false when no agent can take it.
    private mutating func place(_ unitNumber: Int) -> Bool {
        let unit = self.unitList[unitNumber]
        let total = unit.request + (unit.executorRequest ?? ResourceRequest())
        let need = Amounts(total)
        let slot = self.slot(for: unit.role)
        let chosen: Int?
        let kind = self.configuration.strategy.kind
        if unit.constraints.isEmpty && !Self.isFitness(kind) {
            // Other named scalars are not in the index: check them at the leaves only when asked for.
            var accept: ((Int) -> Bool)?
            if !total.scalars.isEmpty {
                let agents = self.agents
                let (role, scalars) = (unit.role, total.scalars)
                accept = { agent in scalars.allSatisfy { agents[agent].freeScalar($0.key, for: role) >= $0.value.milli } }
            }
            if case .spreading = kind {
                chosen = self.indexes[slot].best(need, accept: accept)
            } else {
                chosen = self.indexes[slot].firstFit(need, accept: accept)
            }
        } else {
            chosen = self.scan(unit, total: total, need: need, slot: slot)
        }
        guard let agent = chosen else { return false }

        var resources: [[Resource]] = []
        var named: [[String: UInt64]] = []
        var executorResources: [Resource] = []
        if let executorRequest = unit.executorRequest {
            executorResources = self.agents[agent].take(executorRequest, role: unit.role).resources
            self.agents[agent].placedTasks -= 1
        }
        for member in unit.members {
            let taken = self.agents[agent].take(self.tasks[member].resources, role: unit.role)
            resources.append(taken.resources)
            named.append(taken.namedPorts)
            self.book.record(group: unit.group, agent: agent)
        }
        self.placed.append((unitNumber, agent, resources, named, executorResources))
        for (role, slot) in self.roleSlots {
            let free = self.agents[agent].free(for: role)
            self.indexes[slot].update(agent, free: free, score: self.score(free, offered: self.offered[slot][agent]))
        }
        return true
    }

    private static func isFitness(_ kind: MatchingStrategy.Kind) -> Bool {
        if case .fitness = kind { return true }
        return false
    }

    /// Every agent in order: those that fit and pass the hard constraints, ranked by soft constraints broken,
    /// then by the strategy; stops early at a good-enough agent.
    private mutating func scan(_ unit: Unit, total: ResourceRequest, need: Amounts, slot: Int) -> Int? {
        let members = unit.members.count
        let hard = unit.constraints.filter { !$0.isSoft }.map { self.book.prepare($0, group: unit.group, members: members) }
        let soft = unit.constraints.filter(\.isSoft).map { self.book.prepare($0, group: unit.group, members: members) }
        let task = self.tasks[unit.members[0]]
        let index = self.indexes[slot]
        let kind = self.configuration.strategy.kind
        var best: (agent: Int, penalty: Int, score: Double)?
        agentLoop: for agent in self.agents.indices {
            guard index.free(agent).covers(need) else { continue }
            for constraint in hard where !constraint.holds(onAgentValue: self.book.value(ofField: constraint.field, agent: agent)) {
                continue agentLoop
            }
            if !total.scalars.isEmpty {
                for (name, amount) in total.scalars where self.agents[agent].freeScalar(name, for: unit.role) < amount.milli {
                    continue agentLoop
                }
            }
            var penalty = 0
            for constraint in soft where !constraint.holds(onAgentValue: self.book.value(ofField: constraint.field, agent: agent)) {
                penalty += 1
            }
            let score: Double
            switch kind {
            case .binPacking: score = 0
            case .spreading: score = index.score(agent)
            case .fitness(let fitness): score = fitness(task, self.view(agent, slot: slot))
            }
            if best.map({ penalty < $0.penalty || (penalty == $0.penalty && score > $0.score) }) ?? true {
                best = (agent, penalty, score)
            }
            if penalty == 0 {
                if case .binPacking = kind { break }
                if let goodEnough = self.configuration.goodEnough, score >= goodEnough { break }
            }
        }
        return best?.agent
    }

    /// What a fitness function sees: the index's free amounts and what the agent offered the role at the start.
    private func view(_ agent: Int, slot: Int) -> AgentView {
        let state = self.agents[agent]
        let free = self.indexes[slot].free(agent)
        let offered = self.offered[slot][agent]
        return AgentView(
            agentID: state.agentID,
            hostname: state.hostname,
            attributes: state.attributes,
            domain: state.domain,
            freeCPUs: ScalarQuantity(milli: free.cpus),
            freeMem: ScalarQuantity(milli: free.mem),
            freeDisk: ScalarQuantity(milli: free.disk),
            freePorts: Int(free.ports),
            offeredCPUs: ScalarQuantity(milli: offered.cpus),
            offeredMem: ScalarQuantity(milli: offered.mem),
            placedTasks: state.placedTasks
        )
    }

    // MARK: - Output

    private func result() -> MatchResult {
        var placements: [Placement] = []
        // (agent, allocation role or nil) → task infos and groups, in placement order.
        struct Pending {
            var launches: [TaskInfo] = []
            var groups: [Offer.Operation] = []
        }
        var byAccept: [AcceptKey: Pending] = [:]
        var placedTasks = Set<Int>()
        var offerIDsByKey: [AcceptKey: [OfferID]] = [:]
        for entry in self.placed {
            let unit = self.unitList[entry.unit]
            let agent = self.agents[entry.agent]
            let key = AcceptKey(agent: entry.agent, role: self.allocationRole(of: agent, for: unit.role))
            let offerIDs = offerIDsByKey[key] ?? self.offers(of: agent, role: key.role).map(\.id)
            offerIDsByKey[key] = offerIDs
            var infos: [TaskInfo] = []
            for (position, member) in unit.members.enumerated() {
                placedTasks.insert(member)
                let task = self.tasks[member]
                var info = task.template
                info.taskID = task.taskID
                if !info.hasName { info.name = task.taskID.value }
                info.agentID = agent.agentID
                info.resources = entry.resources[position]
                let named = entry.namedPorts[position]
                if !named.isEmpty {
                    if !info.hasDiscovery {
                        info.discovery.visibility = .framework
                        info.discovery.name = info.name
                    }
                    for name in task.resources.namedPorts {
                        var port = Mesos_V1_Port()
                        port.number = UInt32(truncatingIfNeeded: named[name] ?? 0)
                        port.name = name
                        port.protocol = "tcp"
                        info.discovery.ports.ports.append(port)
                    }
                }
                infos.append(info)
                placements.append(
                    Placement(
                        taskID: task.taskID,
                        agentID: agent.agentID,
                        hostname: agent.hostname,
                        offerIDs: offerIDs,
                        resources: entry.resources[position],
                        namedPorts: named
                    )
                )
            }
            if let executor = unit.members.lazy.compactMap({ self.tasks[$0].executor }).first, self.tasks[unit.members[0]].taskGroup != nil {
                var operation = Offer.Operation()
                operation.type = .launchGroup
                operation.launchGroup.executor = executor
                operation.launchGroup.executor.resources = entry.executor
                operation.launchGroup.taskGroup.tasks = infos
                byAccept[key, default: Pending()].groups.append(operation)
            } else {
                byAccept[key, default: Pending()].launches += infos
            }
        }

        var accepts: [AcceptPlan] = []
        var used = Set<String>()
        for key in byAccept.keys.sorted() {
            let pending = byAccept[key]!
            let agent = self.agents[key.agent]
            var operations: [Offer.Operation] = []
            if !pending.launches.isEmpty {
                var launch = Offer.Operation()
                launch.type = .launch
                launch.launch.taskInfos = pending.launches
                operations.append(launch)
            }
            operations += pending.groups
            let offerIDs = offerIDsByKey[key]!
            used.formUnion(offerIDs.map(\.value))
            accepts.append(AcceptPlan(agentID: agent.agentID, offerIDs: offerIDs, operations: operations))
        }

        var unplaced: [Unplaced] = []
        var waitingRoles = Set<String>()
        var explanations: [ExplanationKey: [String]] = [:]
        for (index, task) in self.tasks.enumerated() where !placedTasks.contains(index) {
            waitingRoles.insert(task.role)
            unplaced.append(Unplaced(taskID: task.taskID, reasons: self.explain(index, cache: &explanations)))
        }

        var declines: [DeclinePlan] = []
        var declineGroups: [String: [OfferID]] = [:]
        for agent in self.agents {
            for offer in agent.offers where !used.contains(offer.id.value) {
                let role = offer.hasAllocationInfo ? offer.allocationInfo.role : nil
                let waiting = role.map { waitingRoles.contains($0) } ?? !waitingRoles.isEmpty
                declineGroups[waiting ? "retry" : "idle", default: []].append(offer.id)
            }
        }
        if let retry = declineGroups["retry"] {
            declines.append(DeclinePlan(offerIDs: retry, refuseSeconds: self.configuration.retryRefuseSeconds))
        }
        if let idle = declineGroups["idle"] {
            declines.append(DeclinePlan(offerIDs: idle, refuseSeconds: self.configuration.idleRefuseSeconds))
        }
        return MatchResult(placements: placements, accepts: accepts, declines: declines, unplaced: unplaced)
    }

    private struct AcceptKey: Hashable, Comparable {
        var agent: Int
        var role: String?
        static func < (a: AcceptKey, b: AcceptKey) -> Bool {
            a.agent != b.agent ? a.agent < b.agent : (a.role ?? "") < (b.role ?? "")
        }
    }

    /// The allocation role of the agent's offers a task of `role` draws from: nil for offers without allocation
    /// info (frameworks that are not multi-role).
    private func allocationRole(of agent: AgentState, for role: String) -> String? {
        agent.offers.contains { $0.hasAllocationInfo && $0.allocationInfo.role == role } ? role : nil
    }

    /// The agent's offers made to `role`, or without allocation info for nil: one ACCEPT may not mix them.
    private func offers(of agent: AgentState, role: String?) -> [Offer] {
        agent.offers.filter { ($0.hasAllocationInfo ? $0.allocationInfo.role : nil) == role }
    }

    /// Why a task was left pending: every agent's first failing check, tallied. Tasks alike (same role, request,
    /// constraints and group) share one explanation.
    private func explain(_ taskIndex: Int, cache: inout [ExplanationKey: [String]]) -> [String] {
        let unitNumber = self.unitOfTask[taskIndex]
        if let gang = self.gangFailures[unitNumber] { return [gang] }
        let unit = self.unitList[unitNumber]
        guard !self.agents.isEmpty else { return ["no offers"] }
        let total = unit.request + (unit.executorRequest ?? ResourceRequest())
        let key = ExplanationKey(role: unit.role, request: total, constraints: unit.constraints, group: unit.group, members: unit.members.count)
        if let known = cache[key] { return known }
        var tally: [String: Int] = [:]
        var mostFree: [String: Int64] = [:]
        var book = self.book
        let hard = unit.constraints.filter { !$0.isSoft }
        let prepared = hard.map { book.prepare($0, group: unit.group, members: unit.members.count) }
        for (number, agent) in self.agents.enumerated() {
            guard agent.pools.contains(where: { $0.isEligible(for: unit.role) }) else {
                tally["no resources for role '\(unit.role)'", default: 0] += 1
                continue
            }
            let free = agent.free(for: unit.role)
            let checks: [(String, Int64, Int64)] =
                [("cpus", free.cpus, total.cpus.milli), ("mem", free.mem, total.mem.milli), ("disk", free.disk, total.disk.milli),
                 ("gpus", free.gpus, total.gpus.milli), ("ports", free.ports * 1000, Int64(total.portCount) * 1000)]
                + total.scalars.keys.sorted().map { ($0, agent.freeScalar($0, for: unit.role), total.scalars[$0]!.milli) }
            if let failing = checks.first(where: { $0.1 < $0.2 }) {
                tally["insufficient \(failing.0)", default: 0] += 1
                mostFree[failing.0] = max(mostFree[failing.0] ?? .min, failing.1)
                continue
            }
            if let broken = prepared.indices.first(where: { !prepared[$0].holds(onAgentValue: book.value(ofField: prepared[$0].field, agent: number)) }) {
                tally["constraint \(hard[broken]) unsatisfiable", default: 0] += 1
            }
        }
        let count = self.agents.count
        let reasons = tally.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { reason, agents in
            var text = "\(reason) on \(agents) of \(count) agent\(count == 1 ? "" : "s")"
            if reason.hasPrefix("insufficient ") {
                let name = String(reason.dropFirst("insufficient ".count))
                let needed: String
                switch name {
                case "cpus": needed = total.cpus.description
                case "mem": needed = total.mem.description
                case "disk": needed = total.disk.description
                case "gpus": needed = total.gpus.description
                case "ports": needed = String(total.portCount)
                default: needed = total.scalars[name]?.description ?? "?"
                }
                let most = mostFree[name] ?? 0
                let free = name == "ports" ? String(most / 1000) : ScalarQuantity(milli: most).description
                text += " (needs \(needed), most free \(free))"
            }
            return text
        }
        cache[key] = reasons
        return reasons
    }

    struct ExplanationKey: Hashable {
        var role: String
        var request: ResourceRequest
        var constraints: [PlacementConstraint]
        var group: String
        var members: Int
    }
}
