public import FoundationEssentials
public import Mesos

// Every call of the v1 scheduler API, as a value ready to encode. The client sends these; they are also usable on
// their own (to record, to test, or with another transport).

extension Mesos_V1_Scheduler_Call {
    private init(_ type: TypeEnum, frameworkID: FrameworkID?) {
        self.init()
        self.type = type
        if let frameworkID { self.frameworkID = frameworkID }
    }

    /// SUBSCRIBE. A framework that has an ID (`info.id`) is re-subscribing: the ID also goes at the top level, so
    /// the master fails it over instead of registering a new framework.
    ///
    /// - Parameters:
    ///   - suppressedRoles: roles that get no offers until revived.
    ///   - offerConstraints: per-role attribute constraints the master applies before offering.
    public static func subscribe(
        _ info: FrameworkInfo,
        suppressedRoles: [String] = [],
        offerConstraints: Mesos_V1_Scheduler_OfferConstraints? = nil
    ) -> Self {
        var call = Self(.subscribe, frameworkID: info.hasID ? info.id : nil)
        call.subscribe.frameworkInfo = info
        call.subscribe.suppressedRoles = suppressedRoles
        if let offerConstraints { call.subscribe.offerConstraints = offerConstraints }
        return call
    }

    /// TEARDOWN: the framework ends; the master kills all its tasks and executors.
    public static func teardown(_ frameworkID: FrameworkID) -> Self {
        Self(.teardown, frameworkID: frameworkID)
    }

    /// ACCEPT: runs `operations` on the offers (all from one agent); what they do not use goes back to the master.
    public static func accept(
        _ frameworkID: FrameworkID,
        offerIDs: [OfferID],
        operations: [Offer.Operation],
        filters: Filters? = nil
    ) -> Self {
        var call = Self(.accept, frameworkID: frameworkID)
        call.accept.offerIds = offerIDs
        call.accept.operations = operations
        if let filters { call.accept.filters = filters }
        return call
    }

    /// DECLINE: hands the offers back; `filters.refuse_seconds` keeps them away for that long (5 s by default).
    public static func decline(_ frameworkID: FrameworkID, offerIDs: [OfferID], filters: Filters? = nil) -> Self {
        var call = Self(.decline, frameworkID: frameworkID)
        call.decline.offerIds = offerIDs
        if let filters { call.decline.filters = filters }
        return call
    }

    /// ACCEPT_INVERSE_OFFERS: agrees to give back what the inverse offers ask for (maintenance).
    public static func acceptInverseOffers(_ frameworkID: FrameworkID, inverseOfferIDs: [OfferID], filters: Filters? = nil) -> Self {
        var call = Self(.acceptInverseOffers, frameworkID: frameworkID)
        call.acceptInverseOffers.inverseOfferIds = inverseOfferIDs
        if let filters { call.acceptInverseOffers.filters = filters }
        return call
    }

    /// DECLINE_INVERSE_OFFERS: refuses them (the master may still reclaim the resources).
    public static func declineInverseOffers(_ frameworkID: FrameworkID, inverseOfferIDs: [OfferID], filters: Filters? = nil) -> Self {
        var call = Self(.declineInverseOffers, frameworkID: frameworkID)
        call.declineInverseOffers.inverseOfferIds = inverseOfferIDs
        if let filters { call.declineInverseOffers.filters = filters }
        return call
    }

    /// REVIVE: clears the filters and un-suppresses `roles` (all of the framework's roles when empty).
    public static func revive(_ frameworkID: FrameworkID, roles: [String] = []) -> Self {
        var call = Self(.revive, frameworkID: frameworkID)
        if !roles.isEmpty { call.revive.roles = roles }
        return call
    }

    /// SUPPRESS: no more offers for `roles` (all of the framework's roles when empty) until REVIVE.
    public static func suppress(_ frameworkID: FrameworkID, roles: [String] = []) -> Self {
        var call = Self(.suppress, frameworkID: frameworkID)
        if !roles.isEmpty { call.suppress.roles = roles }
        return call
    }

    /// KILL: asks the agent to kill the task, with `killPolicy` overriding the task's own grace period.
    public static func kill(_ frameworkID: FrameworkID, taskID: TaskID, agentID: AgentID? = nil, killPolicy: KillPolicy? = nil) -> Self {
        var call = Self(.kill, frameworkID: frameworkID)
        call.kill.taskID = taskID
        if let agentID { call.kill.agentID = agentID }
        if let killPolicy { call.kill.killPolicy = killPolicy }
        return call
    }

    /// SHUTDOWN: stops a custom executor and kills its tasks.
    public static func shutdown(_ frameworkID: FrameworkID, executorID: ExecutorID, agentID: AgentID) -> Self {
        var call = Self(.shutdown, frameworkID: frameworkID)
        call.shutdown.executorID = executorID
        call.shutdown.agentID = agentID
        return call
    }

    /// ACKNOWLEDGE for a status update, or nil when the update carries no `uuid` (updates the master generates,
    /// such as reconciliation answers or TASK_DROPPED for an invalid offer, are not acknowledged).
    public static func acknowledge(_ frameworkID: FrameworkID, _ status: TaskStatus) -> Self? {
        guard status.hasUuid else { return nil }
        var call = Self(.acknowledge, frameworkID: frameworkID)
        call.acknowledge.agentID = status.agentID
        call.acknowledge.taskID = status.taskID
        call.acknowledge.uuid = status.uuid
        return call
    }

    /// ACKNOWLEDGE_OPERATION_STATUS for an operation status update, or nil when it carries no `uuid`.
    ///
    /// The agent and the resource provider default to the update's own `agent_id` and `resource_provider_id`: the
    /// master refuses the call without an agent ("Expecting 'agent_id' to be present"), and an acknowledgement for an
    /// operation on a resource provider's resources that leaves the provider out is taken for one on the agent's
    /// default resources.
    public static func acknowledgeOperationStatus(
        _ frameworkID: FrameworkID,
        _ status: OperationStatus,
        agentID: AgentID? = nil,
        resourceProviderID: ResourceProviderID? = nil
    ) -> Self? {
        guard status.hasUuid else { return nil }
        var call = Self(.acknowledgeOperationStatus, frameworkID: frameworkID)
        if let agentID = agentID ?? (status.hasAgentID ? status.agentID : nil) {
            call.acknowledgeOperationStatus.agentID = agentID
        }
        if let resourceProviderID = resourceProviderID ?? (status.hasResourceProviderID ? status.resourceProviderID : nil) {
            call.acknowledgeOperationStatus.resourceProviderID = resourceProviderID
        }
        call.acknowledgeOperationStatus.uuid = status.uuid.value
        call.acknowledgeOperationStatus.operationID = status.operationID
        return call
    }

    /// RECONCILE: the latest state of each task named (with its agent, when known); no tasks asks for all of them
    /// (implicit reconciliation). Answers come as UPDATE events.
    public static func reconcile(_ frameworkID: FrameworkID, tasks: [(taskID: TaskID, agentID: AgentID?)] = []) -> Self {
        var call = Self(.reconcile, frameworkID: frameworkID)
        call.reconcile.tasks = tasks.map { task in
            var entry = Mesos_V1_Scheduler_Call.Reconcile.Task()
            entry.taskID = task.taskID
            if let agentID = task.agentID { entry.agentID = agentID }
            return entry
        }
        if tasks.isEmpty { call.reconcile = Mesos_V1_Scheduler_Call.Reconcile() }
        return call
    }

    /// RECONCILE_OPERATIONS: the latest status of each operation named; none asks for all of them.
    public static func reconcileOperations(
        _ frameworkID: FrameworkID,
        operations: [(operationID: OperationID, agentID: AgentID?, resourceProviderID: ResourceProviderID?)] = []
    ) -> Self {
        var call = Self(.reconcileOperations, frameworkID: frameworkID)
        call.reconcileOperations.operations = operations.map { operation in
            var entry = Mesos_V1_Scheduler_Call.ReconcileOperations.Operation()
            entry.operationID = operation.operationID
            if let agentID = operation.agentID { entry.agentID = agentID }
            if let provider = operation.resourceProviderID { entry.resourceProviderID = provider }
            return entry
        }
        if operations.isEmpty { call.reconcileOperations = Mesos_V1_Scheduler_Call.ReconcileOperations() }
        return call
    }

    /// MESSAGE: opaque bytes for an executor (best effort, no acknowledgement).
    public static func message(_ frameworkID: FrameworkID, agentID: AgentID, executorID: ExecutorID, data: Data) -> Self {
        var call = Self(.message, frameworkID: frameworkID)
        call.message.agentID = agentID
        call.message.executorID = executorID
        call.message.data = data
        return call
    }

    /// REQUEST: asks the allocator for resources (most allocators ignore it).
    public static func request(_ frameworkID: FrameworkID, requests: [Mesos_V1_Request]) -> Self {
        var call = Self(.request, frameworkID: frameworkID)
        call.request.requests = requests
        return call
    }

    /// UPDATE_FRAMEWORK: changes the framework's info (roles, capabilities, …), suppressed roles and offer
    /// constraints; the master answers 200 synchronously. `info.id` must be set.
    public static func updateFramework(
        _ info: FrameworkInfo,
        suppressedRoles: [String] = [],
        offerConstraints: Mesos_V1_Scheduler_OfferConstraints? = nil
    ) -> Self {
        var call = Self(.updateFramework, frameworkID: info.hasID ? info.id : nil)
        call.updateFramework.frameworkInfo = info
        call.updateFramework.suppressedRoles = suppressedRoles
        if let offerConstraints { call.updateFramework.offerConstraints = offerConstraints }
        return call
    }
}

// Every kind of ACCEPT operation.
extension Mesos_V1_Offer.Operation {
    private init(_ type: TypeEnum, id: OperationID?) {
        self.init()
        self.type = type
        if let id { self.id = id }
    }

    /// LAUNCH: tasks, each with its command or executor.
    public static func launch(_ tasks: [TaskInfo], id: OperationID? = nil) -> Self {
        var operation = Self(.launch, id: id)
        operation.launch.taskInfos = tasks
        return operation
    }

    /// LAUNCH_GROUP: tasks that start and stop together under one executor (the default executor: `type: DEFAULT`).
    public static func launchGroup(executor: ExecutorInfo, tasks: [TaskInfo], id: OperationID? = nil) -> Self {
        var operation = Self(.launchGroup, id: id)
        operation.launchGroup.executor = executor
        operation.launchGroup.taskGroup.tasks = tasks
        return operation
    }

    /// RESERVE: reserves resources (their `reservations` stack says for whom); `source` names what they were.
    public static func reserve(_ resources: [Resource], source: [Resource] = [], id: OperationID? = nil) -> Self {
        var operation = Self(.reserve, id: id)
        operation.reserve.resources = resources
        operation.reserve.source = source
        return operation
    }

    /// UNRESERVE: gives reserved resources back to their parent role.
    public static func unreserve(_ resources: [Resource], id: OperationID? = nil) -> Self {
        var operation = Self(.unreserve, id: id)
        operation.unreserve.resources = resources
        return operation
    }

    /// CREATE: persistent volumes on reserved disk.
    public static func create(volumes: [Resource], id: OperationID? = nil) -> Self {
        var operation = Self(.create, id: id)
        operation.create.volumes = volumes
        return operation
    }

    /// DESTROY: persistent volumes (their data is deleted).
    public static func destroy(volumes: [Resource], id: OperationID? = nil) -> Self {
        var operation = Self(.destroy, id: id)
        operation.destroy.volumes = volumes
        return operation
    }

    /// GROW_VOLUME: adds `addition` (disk from the same reservation) to a persistent volume.
    public static func growVolume(_ volume: Resource, addition: Resource, id: OperationID? = nil) -> Self {
        var operation = Self(.growVolume, id: id)
        operation.growVolume.volume = volume
        operation.growVolume.addition = addition
        return operation
    }

    /// SHRINK_VOLUME: takes `subtract` MB off a persistent volume.
    public static func shrinkVolume(_ volume: Resource, subtract: ScalarQuantity, id: OperationID? = nil) -> Self {
        var operation = Self(.shrinkVolume, id: id)
        operation.shrinkVolume.volume = volume
        operation.shrinkVolume.subtract = Mesos_V1_Value.Scalar(subtract)
        return operation
    }

    /// CREATE_DISK: turns RAW disk from a resource provider into a MOUNT or BLOCK disk, optionally of a profile.
    public static func createDisk(
        _ source: Resource,
        targetType: Mesos_V1_Resource.DiskInfo.Source.TypeEnum,
        targetProfile: String? = nil,
        id: OperationID? = nil
    ) -> Self {
        var operation = Self(.createDisk, id: id)
        operation.createDisk.source = source
        operation.createDisk.targetType = targetType
        if let targetProfile { operation.createDisk.targetProfile = targetProfile }
        return operation
    }

    /// DESTROY_DISK: turns a MOUNT or BLOCK disk back into RAW disk.
    public static func destroyDisk(_ source: Resource, id: OperationID? = nil) -> Self {
        var operation = Self(.destroyDisk, id: id)
        operation.destroyDisk.source = source
        return operation
    }
}
