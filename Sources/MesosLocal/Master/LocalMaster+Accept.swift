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
        if let problem = self.validateOffers(accept.offerIds, frameworkID: frameworkID, state: state) {
            // Every offer named goes back; every task gets a status update saying why.
            for offerID in accept.offerIds { state.offers[offerID.value] = nil }
            state.allocationWanted = true
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
            let operation = Self.injectingAllocation(operation, role: role)
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
        for id in ids {
            guard let offer = state.offers[id.value] else { return "Offer \(id.value) is no longer valid" }
            if offer.frameworkID != frameworkID {
                return "Offer \(id.value) has invalid framework \(offer.frameworkID) while framework \(frameworkID) is expected"
            }
        }
        var role: String?
        var agent: String?
        for id in ids {
            guard let offer = state.offers[id.value] else { return "Offer \(id.value) is no longer valid" }
            if let role, role != offer.role {
                return "Aggregated offers must be allocated to the same role. Offer \(id.value) uses role '\(offer.role) but another is using role '\(role)"
            }
            role = offer.role
            if let agent, agent != offer.agentID {
                return "Aggregated offers must belong to one single agent. Offer \(id.value) uses agent \(offer.agentID) and agent \(agent)"
            }
            agent = offer.agentID
        }
        return nil
    }

    /// Resources of a task as the master sees them: allocated to the offer's role (the master injects it).
    private static func allocated(_ resources: [Resource], to role: String) -> Resources {
        Resources(
            resources.map { resource in
                var resource = resource
                if !resource.hasAllocationInfo { resource.allocationInfo.role = role }
                return resource
            }
        )
    }

    /// `validation::task::validate` (the parts that apply to a local agent); nil when valid.
    private func validate(
        _ task: TaskInfo,
        agent: MasterAgent,
        framework: MasterFramework,
        available: Resources,
        role: String,
        executorKnown: Bool
    ) -> String? {
        if let problem = Self.validateID(task.taskID.value) { return problem }
        if framework.tasks[task.taskID.value] != nil { return "Task has duplicate ID: \(task.taskID.value)" }
        if task.agentID.value != agent.info.id.value {
            return "Task uses invalid agent \(task.agentID.value) while agent \(agent.info.id.value) is expected"
        }
        if task.hasKillPolicy, task.killPolicy.hasGracePeriod, task.killPolicy.gracePeriod.nanoseconds < 0 {
            return "Task's 'kill_policy.grace_period' must be non-negative"
        }
        if task.hasMaxCompletionTime, task.maxCompletionTime.nanoseconds < 0 {
            return "Task's `max_completion_time` must be non-negative"
        }
        if task.resources.isEmpty { return "Task uses no resources" }
        if task.hasExecutor == task.hasCommand {
            return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
        }
        var total = Self.allocated(task.resources, to: role)
        if task.hasExecutor {
            let executor = task.executor
            if let problem = Self.validateID(executor.executorID.value) { return "Executor ID '\(executor.executorID.value)' is invalid: \(problem)" }
            if executor.hasFrameworkID, executor.frameworkID.value != framework.id {
                return "ExecutorInfo has an invalid FrameworkID (Actual: \(executor.frameworkID.value) vs Expected: \(framework.id))"
            }
            if executor.hasType, executor.type != .custom { return "'ExecutorInfo.type' must be 'CUSTOM'" }
            if !executor.hasCommand { return "'ExecutorInfo.command' must be set" }
            if !executorKnown { total += Self.allocated(executor.resources, to: role) }
        }
        if !available.contains(total) {
            return "Total resources \(total) required by task and its executor is more than available \(available)"
        }
        return nil
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
        let executorKnown = task.hasExecutor && state.frameworks[frameworkID]?.executors[task.executor.executorID.value] != nil
        let current = state.frameworks[frameworkID] ?? framework
        if let problem = self.validate(task, agent: agent, framework: current, available: available, role: role, executorKnown: executorKnown) {
            let status = TaskStatus.fromMaster(
                taskID: task.taskID, state: .taskError, message: problem, reason: .taskInvalid,
                agentID: task.agentID
            )
            effects.send(.update(status), to: framework.subscription)
            return
        }
        let taskResources = Self.allocated(task.resources, to: role)
        available -= taskResources
        var executorID: String?
        if task.hasExecutor {
            executorID = task.executor.executorID.value
            if !executorKnown {
                let executorResources = Self.allocated(task.executor.resources, to: role)
                available -= executorResources
                state.frameworks[frameworkID]?.executors[task.executor.executorID.value] = MasterExecutor(
                    info: task.executor, agentID: agent.info.id.value, resources: executorResources.unallocated()
                )
                state.agents[agent.info.id.value]?.used += executorResources.unallocated()
            }
        }
        state.frameworks[frameworkID]?.tasks[task.taskID.value] = MasterTask(
            info: task, frameworkID: frameworkID, agentID: agent.info.id.value, executorID: executorID, role: role,
            resources: taskResources.unallocated()
        )
        state.agents[agent.info.id.value]?.used += taskResources.unallocated()
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
        let executor = operation.executor
        let tasks = operation.taskGroup.tasks
        let executorKnown = state.frameworks[frameworkID]?.executors[executor.executorID.value] != nil
        func fail(_ problem: String) {
            for task in tasks {
                let status = TaskStatus.fromMaster(
                    taskID: task.taskID, state: .taskError, message: problem, reason: .taskGroupInvalid,
                    agentID: task.agentID
                )
                effects.send(.update(status), to: framework.subscription)
            }
        }
        // `validation::task::group::validate`.
        if tasks.isEmpty { return fail("Task group must contain at least one task") }
        if !executor.hasType { return fail("'ExecutorInfo.type' must be set") }
        if executor.type != .default { return fail("'ExecutorInfo.type' must be 'DEFAULT'") }
        if let problem = Self.validateID(executor.executorID.value) { return fail("Executor ID '\(executor.executorID.value)' is invalid: \(problem)") }
        var total = Resources()
        if !executorKnown { total += Self.allocated(executor.resources, to: role) }
        var seen = Set<String>()
        let current = state.frameworks[frameworkID] ?? framework
        for task in tasks {
            if task.hasExecutor { return fail("Task '\(task.taskID.value)' is invalid: 'TaskInfo.executor' must not be set") }
            if !task.hasCommand { return fail("Task '\(task.taskID.value)' is invalid: 'TaskInfo.command' must be set") }
            guard seen.insert(task.taskID.value).inserted else { return fail("Task has duplicate ID: \(task.taskID.value)") }
            if let problem = Self.validateID(task.taskID.value) { return fail("Task '\(task.taskID.value)' is invalid: \(problem)") }
            if current.tasks[task.taskID.value] != nil { return fail("Task '\(task.taskID.value)' is invalid: Task has duplicate ID: \(task.taskID.value)") }
            if task.agentID.value != agent.info.id.value {
                return fail("Task '\(task.taskID.value)' is invalid: Task uses invalid agent \(task.agentID.value) while agent \(agent.info.id.value) is expected")
            }
            if task.resources.isEmpty { return fail("Task '\(task.taskID.value)' is invalid: Task uses no resources") }
            total += Self.allocated(task.resources, to: role)
        }
        if !available.contains(total) {
            return fail("Total resources \(total) required by task group and its executor are more than available \(available)")
        }
        available -= total
        if !executorKnown {
            let executorResources = Self.allocated(executor.resources, to: role)
            state.frameworks[frameworkID]?.executors[executor.executorID.value] = MasterExecutor(
                info: executor, agentID: agent.info.id.value, resources: executorResources.unallocated()
            )
            state.agents[agent.info.id.value]?.used += executorResources.unallocated()
        }
        var launched: [TaskInfo] = []
        for task in tasks {
            let taskResources = Self.allocated(task.resources, to: role)
            state.frameworks[frameworkID]?.tasks[task.taskID.value] = MasterTask(
                info: task, frameworkID: frameworkID, agentID: agent.info.id.value,
                executorID: executor.executorID.value, role: role, resources: taskResources.unallocated()
            )
            state.agents[agent.info.id.value]?.used += taskResources.unallocated()
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
