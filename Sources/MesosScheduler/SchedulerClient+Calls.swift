public import FoundationEssentials
public import Mesos
import Logging
import Synchronization

// Every call of the v1 scheduler API but SUBSCRIBE (see `subscribe(_:suppressedRoles:offerConstraints:)`), with the
// framework ID and stream ID of the current subscription. Each waits for the master's answer.
//
// Every method throws `MesosError`: `.unsubscribed` before SUBSCRIBED, between subscriptions, or when the master says
// the stream is stale (403 "Framework is not subscribed"); `.badRequest` with the master's reason; `.notLeader`;
// `.unauthorized`/`.forbidden`; `.unavailable`; `.unexpectedStatus`; `.transport`; `.cancelled`.
extension SchedulerClient {
    /// TEARDOWN: ends the framework (the master kills all its tasks and executors), then stops the client.
    /// Same as `stop(teardown: true)`.
    public func teardown() async throws {
        try await self.stop(teardown: true)
    }

    /// ACCEPT: runs `operations` (LAUNCH, LAUNCH_GROUP, RESERVE, CREATE, …) on offers of one agent. What they do not
    /// use goes back to the master, filtered for `filters.refuse_seconds`.
    public func accept(offerIDs: [OfferID], operations: [Offer.Operation], filters: Filters? = nil) async throws {
        try await self.send(.accept(try self.requireFrameworkID("ACCEPT"), offerIDs: offerIDs, operations: operations, filters: filters))
    }

    /// DECLINE: hands offers back; `filters.refuse_seconds` keeps them away for that long (5 s by default).
    public func decline(offerIDs: [OfferID], filters: Filters? = nil) async throws {
        try await self.send(.decline(try self.requireFrameworkID("DECLINE"), offerIDs: offerIDs, filters: filters))
    }

    /// ACCEPT_INVERSE_OFFERS: agrees to give back what the inverse offers ask for (maintenance).
    public func acceptInverseOffers(_ inverseOfferIDs: [OfferID], filters: Filters? = nil) async throws {
        let id = try self.requireFrameworkID("ACCEPT_INVERSE_OFFERS")
        try await self.send(.acceptInverseOffers(id, inverseOfferIDs: inverseOfferIDs, filters: filters))
    }

    /// DECLINE_INVERSE_OFFERS: refuses them (the master may still reclaim the resources).
    public func declineInverseOffers(_ inverseOfferIDs: [OfferID], filters: Filters? = nil) async throws {
        let id = try self.requireFrameworkID("DECLINE_INVERSE_OFFERS")
        try await self.send(.declineInverseOffers(id, inverseOfferIDs: inverseOfferIDs, filters: filters))
    }

    /// REVIVE: clears filters and un-suppresses `roles` (every role of the framework when empty).
    public func revive(roles: [String] = []) async throws {
        try await self.send(.revive(try self.requireFrameworkID("REVIVE"), roles: roles))
        let stranger = self.state.withLock { state -> String? in
            if let stranger = Self.stranger(in: roles, state) { return stranger }
            state.suppressedRoles = roles.isEmpty ? [] : state.suppressedRoles.filter { !roles.contains($0) }
            return nil
        }
        if let stranger { self.warnDropped("REVIVE", stranger, roles) }
    }

    /// A role of a REVIVE or SUPPRESS that the framework is not subscribed to: the master drops the whole call
    /// (answering 202 all the same), so the client's record of the suppressed roles, which its re-subscriptions send,
    /// stays as it was.
    private static func stranger(in roles: [String], _ state: State) -> String? {
        let subscribed = Set(state.frameworkInfo.subscribedRoles)
        return roles.first { !subscribed.contains($0) }
    }

    private func warnDropped(_ call: String, _ stranger: String, _ roles: [String]) {
        self.logger.warning(
            "the master drops this \(call): role '\(stranger)' is not one of the framework's subscribed roles",
            metadata: ["mesos.roles": "\(roles)"]
        )
    }

    /// SUPPRESS: no more offers for `roles` (every role of the framework when empty) until ``revive(roles:)``. The
    /// suppression outlasts a lost connection: re-subscriptions send the roles suppressed at the time (a SUBSCRIBE
    /// sets them anew at the master). As with REVIVE, a role the framework is not subscribed to makes the master drop
    /// the whole call (after answering 202): nothing is suppressed, and a warning is logged.
    public func suppress(roles: [String] = []) async throws {
        try await self.send(.suppress(try self.requireFrameworkID("SUPPRESS"), roles: roles))
        let stranger = self.state.withLock { state -> String? in
            if let stranger = Self.stranger(in: roles, state) { return stranger }
            for role in roles.isEmpty ? state.frameworkInfo.subscribedRoles : roles where !state.suppressedRoles.contains(role) {
                state.suppressedRoles.append(role)
            }
            return nil
        }
        if let stranger { self.warnDropped("SUPPRESS", stranger, roles) }
    }

    /// KILL: asks the agent to kill a task; `killPolicy` overrides the task's own grace period.
    public func kill(taskID: TaskID, agentID: AgentID? = nil, killPolicy: KillPolicy? = nil) async throws {
        try await self.send(.kill(try self.requireFrameworkID("KILL"), taskID: taskID, agentID: agentID, killPolicy: killPolicy))
    }

    /// SHUTDOWN: stops a custom executor and kills its tasks.
    public func shutdownExecutor(_ executorID: ExecutorID, agentID: AgentID) async throws {
        try await self.send(.shutdown(try self.requireFrameworkID("SHUTDOWN"), executorID: executorID, agentID: agentID))
    }

    /// ACKNOWLEDGE: confirms a status update, so the agent stops resending it. Updates without a `uuid` (the master's
    /// own: reconciliation answers, TASK_DROPPED for an invalid offer) are not acknowledged.
    ///
    /// - Returns: whether a call was sent (false for an update without a `uuid`).
    @discardableResult
    public func acknowledge(_ status: TaskStatus) async throws -> Bool {
        guard let call = SchedulerCall.acknowledge(try self.requireFrameworkID("ACKNOWLEDGE"), status) else { return false }
        try await self.send(call)
        return true
    }

    /// ACKNOWLEDGE_OPERATION_STATUS: confirms an operation status update (one with a `uuid`). The agent and the
    /// resource provider are the update's own unless given.
    ///
    /// - Returns: whether a call was sent (false for an update without a `uuid`).
    @discardableResult
    public func acknowledgeOperationStatus(
        _ status: OperationStatus,
        agentID: AgentID? = nil,
        resourceProviderID: ResourceProviderID? = nil
    ) async throws -> Bool {
        let id = try self.requireFrameworkID("ACKNOWLEDGE_OPERATION_STATUS")
        guard let call = SchedulerCall.acknowledgeOperationStatus(id, status, agentID: agentID, resourceProviderID: resourceProviderID)
        else { return false }
        try await self.send(call)
        return true
    }

    /// RECONCILE: asks for the latest state of each task named (with its agent, when known); none asks for all of
    /// the framework's tasks (implicit reconciliation). Answers come as ``Event/update(_:)`` events.
    public func reconcile(tasks: [(taskID: TaskID, agentID: AgentID?)] = []) async throws {
        try await self.send(.reconcile(try self.requireFrameworkID("RECONCILE"), tasks: tasks))
    }

    /// RECONCILE_OPERATIONS: asks for the latest status of each operation named (all when none); answers come as
    /// ``Event/updateOperationStatus(_:)`` events.
    public func reconcileOperations(
        _ operations: [(operationID: OperationID, agentID: AgentID?, resourceProviderID: ResourceProviderID?)] = []
    ) async throws {
        try await self.send(.reconcileOperations(try self.requireFrameworkID("RECONCILE_OPERATIONS"), operations: operations))
    }

    /// MESSAGE: opaque bytes for an executor (best effort, no acknowledgement).
    public func message(agentID: AgentID, executorID: ExecutorID, data: Data) async throws {
        try await self.send(.message(try self.requireFrameworkID("MESSAGE"), agentID: agentID, executorID: executorID, data: data))
    }

    /// REQUEST: asks the allocator for resources (most allocators ignore it).
    public func request(_ requests: [Mesos_V1_Request]) async throws {
        try await self.send(.request(try self.requireFrameworkID("REQUEST"), requests: requests))
    }

    /// UPDATE_FRAMEWORK: changes the framework's info (roles, capabilities, name, …), its suppressed roles and offer
    /// constraints. The master answers synchronously (200). `info.id` is filled in with the framework's ID, and the
    /// new info is the one later re-subscriptions send.
    public func updateFramework(
        _ info: FrameworkInfo,
        suppressedRoles: [String] = [],
        offerConstraints: Mesos_V1_Scheduler_OfferConstraints? = nil
    ) async throws {
        var info = info
        info.id = try self.requireFrameworkID("UPDATE_FRAMEWORK")
        try await self.send(.updateFramework(info, suppressedRoles: suppressedRoles, offerConstraints: offerConstraints))
        self.state.withLock { state in
            state.frameworkInfo = info
            state.suppressedRoles = suppressedRoles
            state.offerConstraints = offerConstraints
        }
    }
}
