import NIOHTTP1
import Synchronization
import Logging
import FoundationEssentials
import Mesos
import MesosCodecs

extension LocalMaster {
    // MARK: ACCEPT

    func accept(_ accept: SchedulerCall.Accept, frameworkID: String, state: inout State, effects: inout MasterEffects) {
        guard let framework = state.frameworks[frameworkID] else { return }
        if state.loseNextAcceptOffers, let first = accept.offerIds.first {
            state.loseNextAcceptOffers = false
            for offerID in accept.offerIds { state.offers[offerID.value] = nil }
            self.refuseAll(accept, framework: framework, problem: "Offer \(first.value) is no longer valid", effects: &effects)
            state.allocationWanted = true
            return
        }
        if let problem = self.validateOffers(accept.offerIds, frameworkID: frameworkID, state: state) {
            // Every offer named goes back; every task gets a status update saying why.
            for offerID in accept.offerIds { state.offers[offerID.value] = nil }
            state.allocationWanted = true
            self.refuseAll(accept, framework: framework, problem: problem, effects: &effects)
            return
        }
        // `Master::accept`: each operation's own checks, before the offers' resources are touched.
        let operations = self.admit(accept.operations, framework: framework, effects: &effects)
        let offers = accept.offerIds.compactMap { state.offers.removeValue(forKey: $0.value) }
        guard let first = offers.first, let agent = state.agents[first.agentID] else { return }
        let role = first.role
        let offered = offers.reduce(Resources()) { $0 + $1.resources }
        var remaining = offered
        var resized = Resources()
        // `Master::_accept`, operation by operation, each seeing what the ones before it made of the offers.
        for operation in operations {
            let operation = Self.normalized(Self.injectingAllocation(operation, role: role), framework: framework)
            switch operation.type {
            case .launch:
                let current = state.agents[first.agentID] ?? agent
                for task in operation.launch.taskInfos {
                    self.launch(task, role: role, agent: current, available: &remaining, framework: framework, state: &state, effects: &effects)
                }
            case .launchGroup:
                let current = state.agents[first.agentID] ?? agent
                self.launchGroup(operation.launchGroup, role: role, agent: current, available: &remaining, framework: framework, state: &state, effects: &effects)
            default:
                let current = state.frameworks[frameworkID] ?? framework
                self.apply(operation, framework: current, agentID: first.agentID, remaining: &remaining, resized: &resized, state: &state, effects: &effects)
            }
        }
        // What the operations made (new reservations and volumes, resized volumes) is offered again without a filter;
        // what was offered and not used goes back refused for `filters.refuse_seconds` on this agent.
        let converted = remaining + resized - offered
        let declined = remaining - converted
        self.addFilter(accept.filters, agentID: first.agentID, role: role, resources: declined, frameworkID: frameworkID, state: &state)
        state.allocationWanted = true
    }

    /// An ACCEPT whose offers are invalid: every task TASK_DROPPED (TASK_LOST) with REASON_INVALID_OFFERS, every other
    /// operation dropped (OPERATION_ERROR when it has an `id`).
    private func refuseAll(_ accept: SchedulerCall.Accept, framework: MasterFramework, problem: String, effects: inout MasterEffects) {
        let lostState: TaskState = framework.partitionAware ? .taskDropped : .taskLost
        for operation in accept.operations {
            if operation.type != .launch && operation.type != .launchGroup {
                self.drop(operation, "Operation attempted with invalid offers: " + problem, framework: framework, effects: &effects)
                continue
            }
            for task in Self.tasks(of: operation) {
                let status = TaskStatus.fromMaster(
                    taskID: task.taskID,
                    state: lostState,
                    message: "Task launched with invalid offers: " + problem,
                    reason: .invalidOffers,
                    agentID: task.hasAgentID ? task.agentID : nil
                )
                effects.send(.update(status), to: framework.subscription)
            }
        }
    }

    static func tasks(of operation: Offer.Operation) -> [TaskInfo] {
        switch operation.type {
        case .launch: operation.launch.taskInfos
        case .launchGroup: operation.launchGroup.taskGroup.tasks
        default: []
        }
    }

    /// `validation::offer::validate`, in Mesos's order.
    private func validateOffers(_ ids: [OfferID], frameworkID: String, state: State) -> String? {
        guard !ids.isEmpty else { return "No offers specified" }
        var seen = Set<String>()
        for id in ids {
            guard seen.insert(id.value).inserted else { return "Duplicate offer \(id.value) in offer list" }
        }
        // One rule over every offer before the next rule: all exist, then all are this framework's, then one role,
        // then one agent.
        let offers = ids.map { ($0.value, state.offers[$0.value]) }
        for (id, offer) in offers where offer == nil { return "Offer \(id) is no longer valid" }
        for (id, offer) in offers {
            guard let offer else { continue }
            if offer.frameworkID != frameworkID {
                return "Offer \(id) has invalid framework \(offer.frameworkID) while framework \(frameworkID) is expected"
            }
        }
        var role: String?
        for (id, offer) in offers {
            guard let offer else { continue }
            if let role, role != offer.role {
                return "Aggregated offers must be allocated to the same role. Offer \(id) uses role '\(offer.role) but another is using role '\(role)"
            }
            role = offer.role
        }
        var agent: String?
        for (id, offer) in offers {
            guard let offer else { continue }
            if let agent, agent != offer.agentID {
                return "Aggregated offers must belong to one single agent. Offer \(id) uses agent \(offer.agentID) and agent \(agent)"
            }
            agent = offer.agentID
        }
        return nil
    }

    /// What `Master::accept` makes of a LAUNCH or LAUNCH_GROUP before validating it (after `injectingAllocation`): for
    /// LAUNCH, the framework ID in an executor that lacks one and a health check's type from its `command` or `http`;
    /// for LAUNCH_GROUP, the group's executor in every task that has none.
    static func normalized(_ operation: Offer.Operation, framework: MasterFramework) -> Offer.Operation {
        var operation = operation
        switch operation.type {
        case .launch:
            for index in operation.launch.taskInfos.indices {
                var task = operation.launch.taskInfos[index]
                if task.hasExecutor, !task.executor.hasFrameworkID { task.executor.frameworkID = framework.info.id }
                if task.hasHealthCheck, !task.healthCheck.hasType {
                    let check = task.healthCheck
                    if check.hasCommand && !check.hasHTTP {
                        task.healthCheck.type = .command
                    } else if check.hasHTTP && !check.hasCommand {
                        task.healthCheck.type = .http
                    }
                }
                operation.launch.taskInfos[index] = task
            }
        case .launchGroup:
            let executor = operation.launchGroup.executor
            for index in operation.launchGroup.taskGroup.tasks.indices where !operation.launchGroup.taskGroup.tasks[index].hasExecutor {
                operation.launchGroup.taskGroup.tasks[index].executor = executor
            }
        default:
            break
        }
        return operation
    }

    /// `common::validation::validateID`.
    static func validateID(_ id: String) -> String? {
        if id.isEmpty { return "ID must not be empty" }
        if id.utf8.count > 255 { return "ID must not be greater than 255 characters" }
        if id == "." || id == ".." { return "'\(id)' is disallowed" }
        if id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "/" || $0 == "\\" }) {
            return "'\(id)' contains invalid characters"
        }
        return nil
    }

    private func launch(
        _ task: TaskInfo,
        role: String,
        agent: MasterAgent,
        available: inout Resources,
        framework: MasterFramework,
        state: inout State,
        effects: inout MasterEffects
    ) {
        let frameworkID = framework.id
        let agentID = agent.info.id.value
        let current = state.frameworks[frameworkID] ?? framework
        if let problem = Self.launchProblem(task, framework: current, agentID: agentID, available: available) {
            let status = TaskStatus.fromMaster(
                taskID: task.taskID, state: .taskError, message: problem, reason: .taskInvalid,
                agentID: task.agentID
            )
            effects.send(.update(status), to: framework.subscription)
            return
        }
        let taskResources = Resources(task.resources)
        available -= taskResources
        var executorID: String?
        if task.hasExecutor {
            executorID = task.executor.executorID.value
            let key = MasterExecutorKey(agentID: agentID, executorID: task.executor.executorID.value)
            if current.executors[key] == nil {
                let executorResources = Resources(task.executor.resources)
                available -= executorResources
                state.frameworks[frameworkID]?.executors[key] = MasterExecutor(
                    info: task.executor, agentID: agentID, resources: executorResources.unallocated()
                )
                state.agents[agentID]?.used += executorResources.unallocated()
            }
        }
        state.frameworks[frameworkID]?.tasks[task.taskID.value] = MasterTask(
            info: task, frameworkID: frameworkID, agentID: agentID, executorID: executorID, role: role,
            resources: taskResources.unallocated()
        )
        state.agents[agentID]?.used += taskResources.unallocated()
        let handle = agent.handle
        let info = current.info
        var copy = task
        copy.resources = taskResources.protobufs
        let launched = copy
        effects.agent { handle.launch(framework: info, executor: launched.hasExecutor ? launched.executor : nil, tasks: [launched], asGroup: false) }
    }

    private func launchGroup(
        _ operation: Offer.Operation.LaunchGroup,
        role: String,
        agent: MasterAgent,
        available: inout Resources,
        framework: MasterFramework,
        state: inout State,
        effects: inout MasterEffects
    ) {
        let frameworkID = framework.id
        let agentID = agent.info.id.value
        let executor = operation.executor
        let tasks = operation.taskGroup.tasks
        let current = state.frameworks[frameworkID] ?? framework
        let key = MasterExecutorKey(agentID: agentID, executorID: executor.executorID.value)
        let executorKnown = current.executors[key] != nil
        func fail(_ problem: String) {
            for task in tasks {
                let status = TaskStatus.fromMaster(
                    taskID: task.taskID, state: .taskError, message: problem, reason: .taskGroupInvalid,
                    agentID: task.agentID
                )
                effects.send(.update(status), to: framework.subscription)
            }
        }
        if tasks.isEmpty { return fail("Task group must contain at least one task") }
        if let problem = Self.groupProblem(tasks, executor: executor, framework: current, agentID: agentID, available: available) {
            return fail(problem)
        }
        // Mesos does not check that a group's task IDs differ from each other (1.11's master then fails a CHECK).
        var seen = Set<String>()
        for task in tasks where !seen.insert(task.taskID.value).inserted {
            return fail("Task '\(task.taskID.value)' is invalid: Task has duplicate ID: \(task.taskID.value)")
        }
        let executorResources = Resources(executor.resources)
        var total = tasks.reduce(Resources()) { $0 + Resources($1.resources) }
        if !executorKnown { total += executorResources }
        available -= total
        if !executorKnown {
            state.frameworks[frameworkID]?.executors[key] = MasterExecutor(
                info: executor, agentID: agentID, resources: executorResources.unallocated()
            )
            state.agents[agentID]?.used += executorResources.unallocated()
        }
        var launched: [TaskInfo] = []
        for task in tasks {
            let taskResources = Resources(task.resources)
            state.frameworks[frameworkID]?.tasks[task.taskID.value] = MasterTask(
                info: task, frameworkID: frameworkID, agentID: agentID,
                executorID: executor.executorID.value, role: role, resources: taskResources.unallocated()
            )
            state.agents[agentID]?.used += taskResources.unallocated()
            var task = task
            task.resources = taskResources.protobufs
            launched.append(task)
        }
        let tasksToLaunch = launched
        let handle = agent.handle
        let info = current.info
        effects.agent { handle.launch(framework: info, executor: executor, tasks: tasksToLaunch, asGroup: true) }
    }
}
