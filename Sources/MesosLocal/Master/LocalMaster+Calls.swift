import Synchronization
import Logging
import FoundationEssentials
import Mesos
import MesosCodecs
import NIOCore
import NIOHTTP1

extension LocalMaster {
    // MARK: SUBSCRIBE

    func subscribe(_ subscribe: SchedulerCall.Subscribe, contentType: ContentType) -> LocalHTTPResponse {
        let streamID = UUID().uuidString.lowercased()
        let headers: HTTPHeaders = ["Content-Type": contentType.mediaType, "Mesos-Stream-Id": streamID]
        return .stream(status: .ok, headers: headers) { [weak self] writer in
            self?.attach(subscribe, writer: writer, streamID: streamID, codec: MessageCodec(contentType))
        }
    }

    private func attach(_ subscribe: SchedulerCall.Subscribe, writer: LocalHTTPStreamWriter, streamID: String, codec: MessageCodec) {
        var effects = MasterEffects()
        let frameworkID: String? = self.state.withLock { state in
            var info = subscribe.frameworkInfo
            let subscription = MasterSubscription(streamID: streamID, writer: writer, codec: codec, lastHeartbeat: .now)
            func refuse(_ refusal: String) -> String? {
                self.logger.info("local master: refusing subscription of framework '\(info.name)': \(refusal)")
                effects.send(.error(refusal), to: subscription)
                effects.closes.append(writer)
                return nil
            }
            let removed = info.hasID && state.completedFrameworks.contains(info.id.value)
            if let problem = Self.validateFramework(info, suppressedRoles: subscribe.suppressedRoles, removed: removed) {
                return refuse(problem)
            }
            let constraints: OfferConstraintsFilter
            switch OfferConstraintsFilter.make(subscribe.offerConstraints) {
            case .success(let filter): constraints = filter
            case .failure(let error): return refuse(error.message)
            }
            // `checkSubscribeAuthorization`, after the framework's validation: an ERROR event, no SUBSCRIBED.
            if let refusal = self.registrationRefusal(info) { return refuse(refusal) }
            let id: String
            let resubscribing = info.hasID && !info.id.value.isEmpty
            if resubscribing {
                id = info.id.value
                if let old = state.frameworks[id]?.info {
                    // `preserveImmutableFields`, then `validateUpdate`: a new user or checkpoint is ignored; a new
                    // principal is refused before the framework fails over.
                    info.user = old.user
                    info.checkpoint = old.checkpoint
                    if let problem = Self.validateUpdate(old: old, new: info) { return refuse(problem) }
                }
                if let old = state.frameworks[id]?.subscription {
                    // The new connection takes over; the old stream hears so and is closed.
                    effects.send(.error("Framework failed over"), to: old)
                    effects.closes.append(old.writer)
                    self.logger.info("local master: framework \(id) failed over to stream \(streamID)")
                }
            } else {
                id = "\(state.masterID)-\(String(state.nextFramework).leftPadded(to: 4))"
                state.nextFramework += 1
                info.id = FrameworkID(id)
            }
            var record = state.frameworks[id] ?? MasterFramework(info: info, registeredTime: Date().timeIntervalSince1970)
            record.info = info
            if state.frameworks[id] != nil { record.reregisteredTime = Date().timeIntervalSince1970 }
            if resubscribing {
                // `sendFrameworkUpdates` after every SUBSCRIBE with an ID, known here or not (after a master restart):
                // each agent's `UpdateFrameworkMessage` makes it send what is unacknowledged at once.
                self.notifyAgents(frameworkID: FrameworkID(id), state: state, effects: &effects)
            }
            record.subscription = subscription
            record.recovered = false
            record.unregisteredTime = 0
            record.failoverDeadline = nil
            record.suppressedRoles = Set(subscribe.suppressedRoles)
            record.offerConstraints = constraints
            state.frameworks[id] = record

            var event = SchedulerEvent()
            event.type = .subscribed
            event.subscribed.frameworkID = FrameworkID(id)
            event.subscribed.heartbeatIntervalSeconds = Double(self.configuration.heartbeatInterval.components.seconds)
                + Double(self.configuration.heartbeatInterval.components.attoseconds) / 1e18
            event.subscribed.masterInfo = state.masterInfo
            effects.send(event, to: subscription)
            effects.send(.heartbeat, to: subscription)
            // Offers made to the previous connection are discarded, silently: the new connection never heard of
            // them, and Mesos's `_failoverFramework` sends no RESCIND or RESCIND_INVERSE_OFFER for them.
            for (offerID, offer) in state.offers where offer.frameworkID == id {
                state.offers[offerID] = nil
            }
            for (offerID, inverse) in state.inverseOffers where inverse.frameworkID == id {
                state.inverseOffers[offerID] = nil
            }
            state.allocationWanted = true
            return id
        }
        self.perform(effects)
        if let frameworkID {
            writer.whenClosed { [weak self] in self?.disconnected(frameworkID: frameworkID, streamID: streamID) }
        }
    }

    /// The subscription's connection closed: the framework keeps its tasks for its `failover_timeout`.
    func disconnected(frameworkID: String, streamID: String) {
        var effects = MasterEffects()
        self.state.withLock { state in
            guard var framework = state.frameworks[frameworkID], framework.subscription?.streamID == streamID else { return }
            framework.subscription = nil
            framework.unregisteredTime = Date().timeIntervalSince1970
            let timeout = framework.info.failoverTimeout
            framework.failoverDeadline = .now + .nanoseconds(Int64(max(0, min(timeout, 1e9)) * 1e9))
            state.frameworks[frameworkID] = framework
            for (offerID, offer) in state.offers where offer.frameworkID == frameworkID { state.offers[offerID] = nil }
            for (offerID, inverse) in state.inverseOffers where inverse.frameworkID == frameworkID { state.inverseOffers[offerID] = nil }
            state.allocationWanted = true
            self.logger.info("local master: framework \(frameworkID) disconnected; failover timeout \(timeout) s")
            if timeout <= 0 { self.removeFramework(frameworkID, state: &state, effects: &effects) }
        }
        self.perform(effects)
    }

    /// TEARDOWN, or the end of the failover timeout: kill everything, forget the framework.
    func removeFramework(_ id: String, state: inout State, effects: inout MasterEffects) {
        guard let framework = state.frameworks.removeValue(forKey: id) else { return }
        state.completedFrameworks.insert(id)
        var completed = framework
        completed.subscription = nil
        completed.unregisteredTime = Date().timeIntervalSince1970
        state.completedFrameworkRecords.append(completed)
        if state.completedFrameworkRecords.count > 50 { state.completedFrameworkRecords.removeFirst() }
        if let subscription = framework.subscription { effects.closes.append(subscription.writer) }
        for (offerID, offer) in state.offers where offer.frameworkID == id { state.offers[offerID] = nil }
        for (offerID, inverse) in state.inverseOffers where inverse.frameworkID == id { state.inverseOffers[offerID] = nil }
        var agentsInvolved = Set(framework.tasks.values.map(\.agentID))
        agentsInvolved.formUnion(framework.executors.values.map(\.agentID))
        for task in framework.tasks.values where !task.released {
            state.agents[task.agentID]?.used -= task.resources
        }
        for executor in framework.executors.values {
            state.agents[executor.agentID]?.used -= executor.resources
        }
        let frameworkID = framework.info.id
        for agentID in agentsInvolved {
            guard let agent = state.agents[agentID]?.handle else { continue }
            effects.agent { agent.shutdownFramework(frameworkID: frameworkID) }
        }
        state.allocationWanted = true
        self.logger.info("local master: framework \(id) removed")
    }

    // MARK: Other calls

    func call(_ call: SchedulerCall, streamID: String?, principal: String?, acceptType: ContentType) -> LocalHTTPResponse {
        var effects = MasterEffects()
        let response: LocalHTTPResponse = self.state.withLock { state in
            let id = call.frameworkID.value
            guard let framework = state.frameworks[id] else { return .text(.badRequest, "Framework cannot be found") }
            if let principal, principal != framework.info.principal {
                return .text(
                    .badRequest,
                    "Authenticated principal '\(principal)' does not match principal '\(framework.info.principal)' set in `FrameworkInfo`"
                )
            }
            guard let subscription = framework.subscription else {
                return .text(.forbidden, "Framework is not subscribed")
            }
            guard let streamID else {
                return .text(.badRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
            }
            guard streamID == subscription.streamID else {
                return .text(
                    .badRequest,
                    "The stream ID '\(streamID)' included in this request didn't match the stream ID currently associated with framework ID \(id)"
                )
            }
            switch call.type {
            case .teardown:
                self.removeFramework(id, state: &state, effects: &effects)
            case .accept:
                self.accept(call.accept, frameworkID: id, state: &state, effects: &effects)
            case .decline:
                self.decline(call.decline.offerIds, filters: call.decline.filters, frameworkID: id, state: &state)
            case .acceptInverseOffers:
                let accept = call.acceptInverseOffers
                self.answerInverseOffers(accept.inverseOfferIds, accept: true, filters: accept.filters, frameworkID: id, state: &state)
            case .declineInverseOffers:
                let decline = call.declineInverseOffers
                self.answerInverseOffers(decline.inverseOfferIds, accept: false, filters: decline.filters, frameworkID: id, state: &state)
            case .revive:
                if let reason = Self.invalidRole(in: call.revive.roles, of: framework.info, call: "revive") {
                    self.logger.warning("dropping a REVIVE call: \(reason)", metadata: ["mesos.framework_id": "\(id)"])
                } else {
                    self.revive(roles: call.revive.roles, frameworkID: id, state: &state)
                }
            case .suppress:
                if let reason = Self.invalidRole(in: call.suppress.roles, of: framework.info, call: "suppress") {
                    self.logger.warning("dropping a SUPPRESS call: \(reason)", metadata: ["mesos.framework_id": "\(id)"])
                } else {
                    let roles = call.suppress.roles.isEmpty ? framework.info.subscribedRoles : call.suppress.roles
                    state.frameworks[id]?.suppressedRoles.formUnion(roles)
                }
            case .kill:
                self.kill(call.kill, frameworkID: id, state: &state, effects: &effects)
            case .shutdown:
                if let agent = state.agents[call.shutdown.agentID.value]?.handle {
                    let frameworkID = framework.info.id
                    let executorID = call.shutdown.executorID
                    effects.agent { agent.shutdownExecutor(frameworkID: frameworkID, executorID: executorID) }
                }
            case .acknowledge:
                self.acknowledge(call.acknowledge, frameworkID: id, state: &state, effects: &effects)
            case .acknowledgeOperationStatus:
                self.acknowledgeOperation(call.acknowledgeOperationStatus, frameworkID: id, state: &state)
            case .reconcile:
                self.reconcile(call.reconcile.tasks, frameworkID: id, state: &state, effects: &effects)
            case .reconcileOperations:
                self.reconcileOperations(call.reconcileOperations, frameworkID: id, state: state, effects: &effects)
            case .message:
                if let agent = state.agents[call.message.agentID.value]?.handle {
                    let frameworkID = framework.info.id
                    let message = call.message
                    effects.agent {
                        agent.sendMessage(frameworkID: frameworkID, executorID: message.executorID, data: Array(message.data))
                    }
                }
            case .request:
                break  // The allocator ignores resource requests, as Mesos's does.
            case .updateFramework:
                return self.updateFramework(call.updateFramework, frameworkID: id, state: &state, effects: &effects)
            case .unknown, .subscribe:
                return .empty(.notImplemented)
            }
            return .empty(.accepted)
        }
        self.perform(effects)
        return response
    }

    /// The `REGISTER_FRAMEWORK` authorization with ``LocalMasterConfiguration/frameworkRoles``: nil when the
    /// framework's principal may use all its roles, else the master's text (`stringify(ActionObject)`: the
    /// framework ID, empty for a new framework, and its roles as stout writes a set).
    func registrationRefusal(_ info: FrameworkInfo) -> String? {
        guard let allowed = self.configuration.frameworkRoles else { return nil }
        let roles = Set(info.subscribedRoles)
        let permitted = info.hasPrincipal ? allowed[info.principal] : nil
        if let permitted, roles.isSubset(of: permitted) { return nil }
        return "Not authorized to register framework \(info.id.value) with roles \(Self.describe(roles))"
    }

    private func updateFramework(
        _ update: SchedulerCall.UpdateFramework,
        frameworkID id: String,
        state: inout State,
        effects: inout MasterEffects
    ) -> LocalHTTPResponse {
        guard var framework = state.frameworks[id] else { return .text(.badRequest, "Framework cannot be found") }
        let new = update.frameworkInfo
        let old = framework.info
        if let problem = Self.validateFramework(new, suppressedRoles: update.suppressedRoles, removed: false) {
            return .text(.badRequest, "Supplied FrameworkInfo is not valid: " + problem)
        }
        if let problem = Self.validateUpdate(old: old, new: new) {
            return .text(.badRequest, "FrameworkInfo update is not valid: " + problem)
        }
        let constraints: OfferConstraintsFilter
        switch OfferConstraintsFilter.make(update.offerConstraints) {
        case .success(let filter): constraints = filter
        case .failure(let error): return .text(.badRequest, "'UpdateFramework.offer_constraints' are not valid: " + error.message)
        }
        if let refusal = self.registrationRefusal(new) { return .text(.forbidden, refusal) }
        // Only a changed FrameworkInfo goes to the agents (`sendFrameworkUpdates`), not suppressed roles alone.
        if new != old { self.notifyAgents(frameworkID: old.id, state: state, effects: &effects) }
        framework.info = new
        framework.suppressedRoles = Set(update.suppressedRoles)
        framework.offerConstraints = constraints
        state.frameworks[id] = framework
        // Offers for roles the framework left are withdrawn.
        let roles = Set(framework.info.subscribedRoles)
        for (offerID, offer) in state.offers where offer.frameworkID == id && !roles.contains(offer.role) {
            state.offers[offerID] = nil
            effects.send(.rescind(offer.offer.id), to: framework.subscription)
        }
        state.allocationWanted = true
        return .empty(.ok)
    }

    /// The master's `sendFrameworkUpdates`: an `UpdateFrameworkMessage` to every agent, on which each sends its
    /// unacknowledged status updates again at once.
    private func notifyAgents(frameworkID: FrameworkID, state: State, effects: inout MasterEffects) {
        for agent in state.agents.values.map(\.handle) {
            effects.agent { agent.frameworkFailedOver(frameworkID: frameworkID) }
        }
    }

    /// RECONCILE_OPERATIONS: answered 202, then one UPDATE_OPERATION_STATUS per operation named (for the implicit
    /// form, one per operation the master knows: those with an `id` whose terminal status is unacknowledged).
    private func reconcileOperations(
        _ call: SchedulerCall.ReconcileOperations,
        frameworkID: String,
        state: State,
        effects: inout MasterEffects
    ) {
        let subscription = state.frameworks[frameworkID]?.subscription
        let known = state.frameworks[frameworkID]?.operations ?? [:]
        func send(_ status: OperationStatus) {
            var event = SchedulerEvent()
            event.type = .updateOperationStatus
            event.updateOperationStatus.status = status
            effects.send(event, to: subscription)
        }
        if call.operations.isEmpty {
            // Implicit: the latest status of every operation the master knows for the framework, without uuid.
            for operation in known.values.sorted(by: { $0.info.id.value < $1.info.id.value }) {
                var status = operation.status
                status.clearUuid()
                send(status)
            }
        }
        for operation in call.operations {
            if let record = known[operation.operationID.value] {
                var status = record.status
                status.clearUuid()
                send(status)
                continue
            }
            var status = OperationStatus()
            status.operationID = operation.operationID
            if operation.hasAgentID {
                status.agentID = operation.agentID
                let agent = operation.agentID.value
                if state.agents[agent] != nil {
                    status.state = .operationUnknown
                    status.message = "Reconciliation: Operation is unknown"
                } else if state.removedAgents[agent] == .unreachable {
                    status.state = .operationUnreachable
                    status.message = "Reconciliation: Agent is unreachable"
                } else if state.removedAgents[agent] == .gone {
                    status.state = .operationGoneByOperator
                    status.message = "Reconciliation: Agent marked gone by operator"
                } else {
                    status.state = .operationUnknown
                    status.message = "Reconciliation: Both operation and agent are unknown"
                }
            } else {
                status.state = .operationUnknown
                status.message = "Reconciliation: Operation is unknown and no 'agent_id' was provided"
            }
            if operation.hasResourceProviderID { status.resourceProviderID = operation.resourceProviderID }
            var event = SchedulerEvent()
            event.type = .updateOperationStatus
            event.updateOperationStatus.status = status
            effects.send(event, to: subscription)
        }
    }

    // MARK: Offers

    private func decline(_ offerIDs: [OfferID], filters: Filters, frameworkID: String, state: inout State) {
        for offerID in offerIDs {
            guard let offer = state.offers[offerID.value], offer.frameworkID == frameworkID else { continue }
            state.offers[offerID.value] = nil
            self.addFilter(filters, agentID: offer.agentID, role: offer.role, resources: offer.resources, frameworkID: frameworkID, state: &state)
        }
        state.allocationWanted = true
    }

    func addFilter(_ filters: Filters, agentID: String, role: String, resources: Resources, frameworkID: String, state: inout State) {
        // As the 1.11 allocator's `recoverResources`: `refuse_seconds` (5 s when absent) is capped at a year; a
        // negative value (or NaN, which no duration holds) means the default 5 s; 0 means no filter. A filter lasts at
        // least one allocation interval, so it cannot expire before the agent's next allocation.
        var seconds = filters.refuseSeconds
        if seconds > 365 * 24 * 3600 {
            seconds = 365 * 24 * 3600
        } else if seconds < 0 || seconds.isNaN {
            seconds = Filters().refuseSeconds
        }
        guard seconds != 0, !resources.isEmpty else { return }
        let until = ContinuousClock.now + max(.nanoseconds(Int64(seconds * 1e9)), self.configuration.allocationInterval)
        state.frameworks[frameworkID]?.filters.append(
            MasterOfferFilter(agentID: agentID, role: role, resources: resources.unallocated(), until: until)
        )
    }

    /// Why the master drops a whole REVIVE or SUPPRESS call (with a 202, as every call it drops after validation): one
    /// of its roles is not a valid role, or not one the framework is subscribed to; the valid roles of such a call
    /// are not revived or suppressed either (`Master::revive` and `Master::suppress`).
    static func invalidRole(in roles: [String], of info: FrameworkInfo, call: String) -> String? {
        let subscribed = Set(info.subscribedRoles)
        for role in roles {
            if let error = Self.validateRole(role) { return "\(call) role '\(role)' is invalid: \(error)" }
            if !subscribed.contains(role) { return "\(call) role '\(role)' is not one of the frameworks's subscribed roles" }
        }
        return nil
    }

    private func revive(roles: [String], frameworkID: String, state: inout State) {
        guard var framework = state.frameworks[frameworkID] else { return }
        let roles = roles.isEmpty ? Set(framework.info.subscribedRoles) : Set(roles)
        framework.filters.removeAll { roles.contains($0.role) }
        framework.suppressedRoles.subtract(roles)
        state.frameworks[frameworkID] = framework
        state.allocationWanted = true
    }

    // MARK: Tasks

    private func kill(_ kill: SchedulerCall.Kill, frameworkID: String, state: inout State, effects: inout MasterEffects) {
        guard let task = state.frameworks[frameworkID]?.tasks[kill.taskID.value] else {
            // Unknown: Mesos answers with the reconciliation of that task.
            var task = SchedulerCall.Reconcile.Task()
            task.taskID = kill.taskID
            if kill.hasAgentID { task.agentID = kill.agentID }
            self.reconcile([task], frameworkID: frameworkID, state: &state, effects: &effects)
            return
        }
        if kill.hasAgentID, kill.agentID.value != task.agentID { return }
        guard let agent = state.agents[task.agentID]?.handle else { return }
        let frameworkID = FrameworkID(frameworkID)
        let taskID = kill.taskID
        let policy = kill.hasKillPolicy ? kill.killPolicy : nil
        effects.agent { agent.kill(frameworkID: frameworkID, taskID: taskID, killPolicy: policy) }
    }

    /// Goes to the agent named whether or not the master knows the task, as in Mesos's `Master::acknowledge`: an
    /// agent may be resending an update of a task the master has already forgotten (or never knew, after a master
    /// restart), and only the acknowledgement stops it.
    private func acknowledge(_ ack: SchedulerCall.Acknowledge, frameworkID: String, state: inout State, effects: inout MasterEffects) {
        guard let agent = state.agents[ack.agentID.value]?.handle else { return }
        // The terminal update acknowledged: the task is complete and leaves the framework's task list.
        if let task = state.frameworks[frameworkID]?.tasks[ack.taskID.value], task.terminal, task.latestStatus?.uuid == ack.uuid {
            state.frameworks[frameworkID]?.tasks[ack.taskID.value] = nil
            state.frameworks[frameworkID]?.completedTasks.append(task)
            if (state.frameworks[frameworkID]?.completedTasks.count ?? 0) > 1000 {
                state.frameworks[frameworkID]?.completedTasks.removeFirst()
            }
        }
        let fid = FrameworkID(frameworkID)
        let taskID = ack.taskID
        let uuid = Array(ack.uuid)
        effects.agent { agent.acknowledge(frameworkID: fid, taskID: taskID, uuid: uuid) }
    }

    func reconcile(_ tasks: [SchedulerCall.Reconcile.Task], frameworkID: String, state: inout State, effects: inout MasterEffects) {
        guard let framework = state.frameworks[frameworkID] else { return }
        state.reconcileCalls[frameworkID, default: 0] += 1
        func latest(_ task: MasterTask) -> TaskStatus {
            var status = TaskStatus.fromMaster(
                taskID: task.info.taskID,
                state: task.state,
                message: "Reconciliation: Latest task state",
                reason: .reconciliation,
                agentID: AgentID(task.agentID),
                executorID: task.executorID.map { ExecutorID($0) }
            )
            if let last = task.latestStatus {
                if last.hasHealthy { status.healthy = last.healthy }
                if last.hasCheckStatus { status.checkStatus = last.checkStatus }
                if last.hasContainerStatus { status.containerStatus = last.containerStatus }
            }
            return status
        }
        if tasks.isEmpty {
            for task in framework.tasks.values.sorted(by: { $0.info.taskID.value < $1.info.taskID.value }) {
                effects.send(.update(latest(task)), to: framework.subscription)
            }
            return
        }
        let aware = framework.partitionAware
        for wanted in tasks {
            let status: TaskStatus
            if let task = framework.tasks[wanted.taskID.value] {
                status = latest(task)
            } else if wanted.hasAgentID, state.agents[wanted.agentID.value] != nil {
                status = .fromMaster(
                    taskID: wanted.taskID, state: aware ? .taskGone : .taskLost,
                    message: "Reconciliation: Task is unknown to the agent", reason: .reconciliation,
                    agentID: wanted.agentID
                )
            } else if wanted.hasAgentID, let removal = state.removedAgents[wanted.agentID.value] {
                let (stateIfAware, message): (TaskState, String) =
                    removal == .unreachable
                    ? (.taskUnreachable, "Reconciliation: Task is unreachable")
                    : (.taskGoneByOperator, "Reconciliation: Task is gone")
                status = .fromMaster(
                    taskID: wanted.taskID, state: aware ? stateIfAware : .taskLost, message: message,
                    reason: .reconciliation, agentID: wanted.agentID
                )
            } else {
                status = .fromMaster(
                    taskID: wanted.taskID, state: aware ? .taskUnknown : .taskLost,
                    message: "Reconciliation: Task is unknown", reason: .reconciliation,
                    agentID: wanted.hasAgentID ? wanted.agentID : nil
                )
            }
            effects.send(.update(status), to: framework.subscription)
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
