import Logging
import FoundationEssentials
public import Mesos
import MesosCodecs

// The resource operations of ACCEPT other than LAUNCH and LAUNCH_GROUP, as Mesos 1.11's master handles them
// (`Master::accept` and `Master::_accept`, `validation::operation::validate`, `getResourceConversions`): RESERVE,
// UNRESERVE, CREATE, DESTROY, GROW_VOLUME, SHRINK_VOLUME, CREATE_DISK and DESTROY_DISK.
//
// Local agents are 1.11 agents: they have every default capability (HIERARCHICAL_ROLE, MULTI_ROLE,
// RESERVATION_REFINEMENT, RESOURCE_PROVIDER, RESIZE_VOLUME, AGENT_OPERATION_FEEDBACK, ...) but no resource
// providers, so CREATE_DISK and DESTROY_DISK always fail as they do on such an agent.

/// An operation with an `id` that the master keeps until the framework acknowledges its terminal status
/// (`Master::addOperation`); its status is what reconciliation answers.
struct MasterOperation {
    var info: Offer.Operation
    var frameworkID: String
    var agentID: String
    /// The latest status, with the `uuid` the framework must acknowledge.
    var status: OperationStatus
    var lastSent: ContinuousClock.Instant
}

/// One resource conversion (Mesos `ResourceConversion`): `consumed` becomes `converted`.
struct MasterConversion {
    var consumed: Resources
    var converted: Resources
    /// DESTROY of a shared volume: the result must not hold the volume any more.
    var mustNotContain: Resource?

    func unallocated() -> MasterConversion {
        MasterConversion(
            consumed: self.consumed.unallocated(),
            converted: self.converted.unallocated(),
            mustNotContain: self.mustNotContain.map { volume in
                var volume = volume
                volume.clearAllocationInfo()
                return volume
            }
        )
    }
}

extension Resources {
    /// Mesos `Resources::apply(conversions)`: the error text is the real one.
    func applying(_ conversions: [MasterConversion]) -> Result<Resources, MasterOperationError> {
        var result = self
        for conversion in conversions {
            guard result.contains(conversion.consumed) else {
                return .failure(MasterOperationError("\(result) does not contain \(conversion.consumed)"))
            }
            result -= conversion.consumed
            result += conversion.converted
            if let volume = conversion.mustNotContain, result.contains(volume) {
                return .failure(
                    MasterOperationError(
                        "Persistent volume \(Resources(volume)) cannot be removed due to additional shared copies"
                    )
                )
            }
        }
        return .success(result)
    }
}

struct MasterOperationError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension LocalMaster {
    /// `Master::accept`'s checks of every operation before the offers' resources are touched: the operation's field
    /// set (`validateAndUpgradeResources`), RESERVE without `source`, and `id` only where feedback exists. Returns
    /// the operations that go on, in order; the others were answered here.
    func admit(
        _ operations: [Offer.Operation],
        framework: MasterFramework,
        effects: inout MasterEffects
    ) -> [Offer.Operation] {
        var admitted: [Offer.Operation] = []
        for operation in operations {
            var problem = Self.missingField(operation)
            if problem == nil, let invalid = Self.invalidResource(in: Self.resourcesToValidate(of: operation)) { problem = invalid }
            if problem == nil, operation.type == .reserve, !operation.reserve.source.isEmpty {
                problem = "Reservation updates are not yet implemented for the scheduler API."
            }
            if let problem {
                switch operation.type {
                case .launch:
                    self.taskErrors(operation.launch.taskInfos, reason: .taskInvalid, message: problem, framework: framework, effects: &effects)
                case .launchGroup:
                    self.taskErrors(
                        operation.launchGroup.taskGroup.tasks, reason: .taskGroupInvalid, message: problem, framework: framework,
                        effects: &effects
                    )
                case .unknown:
                    break
                default:
                    self.drop(operation, "Operation attempted with invalid resources: " + problem, framework: framework, effects: &effects)
                }
                continue
            }
            if operation.hasID {
                switch operation.type {
                case .launch:
                    self.taskErrors(
                        operation.launch.taskInfos, reason: .taskInvalid,
                        message: "The `id` field cannot be set on LAUNCH operations", framework: framework, effects: &effects
                    )
                    continue
                case .launchGroup:
                    self.taskErrors(
                        operation.launchGroup.taskGroup.tasks, reason: .taskGroupInvalid,
                        message: "The `id` field cannot be set on LAUNCH_GROUP operations", framework: framework,
                        effects: &effects
                    )
                    continue
                default:
                    break  // A local agent has AGENT_OPERATION_FEEDBACK and RESOURCE_PROVIDER: feedback is given.
                }
            }
            if operation.type == .unknown { continue }  // "Ignoring unknown operation".
            admitted.append(Self.injectingAllocation(operation, role: nil))
        }
        return admitted
    }

    /// TASK_ERROR from the master for each task of an operation it refused.
    func taskErrors(
        _ tasks: [TaskInfo],
        reason: TaskStatus.Reason,
        message: String,
        framework: MasterFramework,
        effects: inout MasterEffects
    ) {
        for task in tasks {
            let status = TaskStatus.fromMaster(
                taskID: task.taskID, state: .taskError, message: message, reason: reason,
                agentID: task.hasAgentID ? task.agentID : nil
            )
            effects.send(.update(status), to: framework.subscription)
        }
    }

    /// `Master::drop(framework, operation, message)`: OPERATION_ERROR to the framework when the operation has an
    /// `id` (no agent ID, no uuid: nothing to acknowledge); otherwise only logged.
    func drop(_ operation: Offer.Operation, _ message: String, framework: MasterFramework, effects: inout MasterEffects) {
        self.logger.warning("local master: dropping \(Self.typeName(operation.type)) operation from framework \(framework.id): \(message)")
        guard operation.hasID else { return }
        var status = OperationStatus()
        status.state = .operationError
        status.operationID = operation.id
        status.message = message
        var event = SchedulerEvent()
        event.type = .updateOperationStatus
        event.updateOperationStatus.status = status
        effects.send(event, to: framework.subscription)
    }

    static func typeName(_ type: Offer.Operation.TypeEnum) -> String {
        switch type {
        case .unknown: "UNKNOWN"
        case .launch: "LAUNCH"
        case .launchGroup: "LAUNCH_GROUP"
        case .reserve: "RESERVE"
        case .unreserve: "UNRESERVE"
        case .create: "CREATE"
        case .destroy: "DESTROY"
        case .growVolume: "GROW_VOLUME"
        case .shrinkVolume: "SHRINK_VOLUME"
        case .createDisk: "CREATE_DISK"
        case .destroyDisk: "DESTROY_DISK"
        }
    }

    /// `validateAndUpgradeResources`: the operation's own field must be set.
    static func missingField(_ operation: Offer.Operation) -> String? {
        switch operation.type {
        case .reserve where !operation.hasReserve:
            "A RESERVE offer operation must have the Offer.Operation.reserve field set."
        case .unreserve where !operation.hasUnreserve:
            "An UNRESERVE offer operation must have the Offer.Operation.unreserve field set."
        case .create where !operation.hasCreate:
            "A CREATE offer operation must have the Offer.Operation.create field set."
        case .destroy where !operation.hasDestroy:
            "A DESTROY offer operation must have the Offer.Operation.destroy field set."
        case .growVolume where !operation.hasGrowVolume:
            "A GROW_VOLUME operation must have the Offer.Operation.grow_volume field set"
        case .shrinkVolume where !operation.hasShrinkVolume:
            "A SHRINK_VOLUME offer operation must have the Offer.Operation.shrink_volume field set"
        case .launch where !operation.hasLaunch:
            "A LAUNCH offer operation must have the Offer.Operation.launch field set."
        case .launchGroup where !operation.hasLaunchGroup:
            "A LAUNCH_GROUP offer operation must have the Offer.Operation.launch_group field set."
        default: nil
        }
    }

    /// The resources `validateAndUpgradeResources` checks, in its order: each field of a resource operation; each
    /// task's, then its executor's, for LAUNCH; the executor's, then each task's (and its executor's), for
    /// LAUNCH_GROUP. Mesos stops at the first invalid one.
    static func resourcesToValidate(of operation: Offer.Operation) -> [Resource] {
        func launched(_ task: TaskInfo) -> [Resource] { task.resources + (task.hasExecutor ? task.executor.resources : []) }
        switch operation.type {
        case .reserve: return operation.reserve.resources + operation.reserve.source
        case .unreserve: return operation.unreserve.resources
        case .create: return operation.create.volumes
        case .destroy: return operation.destroy.volumes
        case .growVolume: return [operation.growVolume.volume, operation.growVolume.addition]
        case .shrinkVolume: return [operation.shrinkVolume.volume]
        case .createDisk: return [operation.createDisk.source]
        case .destroyDisk: return [operation.destroyDisk.source]
        case .launch: return operation.launch.taskInfos.flatMap(launched)
        case .launchGroup:
            let executor = operation.launchGroup.hasExecutor ? operation.launchGroup.executor.resources : []
            return executor + operation.launchGroup.taskGroup.tasks.flatMap(launched)
        case .unknown: return []
        }
    }

    /// `protobuf::injectAllocationInfo`: the operation's resources without an allocation role get the offer's.
    /// With `role` nil, nothing changes yet (the role is known once the offers are).
    static func injectingAllocation(_ operation: Offer.Operation, role: String?) -> Offer.Operation {
        guard let role else { return operation }
        func inject(_ resources: inout [Resource]) {
            for index in resources.indices where !resources[index].hasAllocationInfo {
                resources[index].allocationInfo.role = role
            }
        }
        func inject(_ resource: inout Resource) {
            if !resource.hasAllocationInfo { resource.allocationInfo.role = role }
        }
        var operation = operation
        switch operation.type {
        case .reserve:
            inject(&operation.reserve.resources)
            inject(&operation.reserve.source)
        case .unreserve: inject(&operation.unreserve.resources)
        case .create: inject(&operation.create.volumes)
        case .destroy: inject(&operation.destroy.volumes)
        case .growVolume:
            inject(&operation.growVolume.volume)
            inject(&operation.growVolume.addition)
        case .shrinkVolume: inject(&operation.shrinkVolume.volume)
        case .createDisk: inject(&operation.createDisk.source)
        case .destroyDisk: inject(&operation.destroyDisk.source)
        case .launch:
            for index in operation.launch.taskInfos.indices {
                inject(&operation.launch.taskInfos[index].resources)
                if operation.launch.taskInfos[index].hasExecutor { inject(&operation.launch.taskInfos[index].executor.resources) }
            }
        case .launchGroup:
            if operation.launchGroup.hasExecutor { inject(&operation.launchGroup.executor.resources) }
            for index in operation.launchGroup.taskGroup.tasks.indices {
                inject(&operation.launchGroup.taskGroup.tasks[index].resources)
                if operation.launchGroup.taskGroup.tasks[index].hasExecutor {
                    inject(&operation.launchGroup.taskGroup.tasks[index].executor.resources)
                }
            }
        case .unknown: break
        }
        return operation
    }

    /// `stringify(*slave)`.
    static func describe(_ agent: MasterAgent) -> String {
        let address = MasterURLParts(agent.handle.endpoint).map { "\($0.host):\($0.port)" } ?? ""
        return "\(agent.info.id.value) at slave(1)@\(address) (\(agent.info.hostname))"
    }

    // MARK: _accept

    /// One speculative operation (or CREATE_DISK/DESTROY_DISK) of `_accept`, after the offers were validated:
    /// validation, conversion of the offered resources (`remaining`) and of the agent's total, and feedback.
    func apply(
        _ operation: Offer.Operation,
        framework: MasterFramework,
        agentID: String,
        remaining: inout Resources,
        resized: inout Resources,
        state: inout State,
        effects: inout MasterEffects
    ) {
        guard let agent = state.agents[agentID] else { return }
        let onAgent = "; on agent " + Self.describe(agent)
        let principal = framework.info.hasPrincipal ? framework.info.principal : nil
        let conversions: [MasterConversion]
        switch operation.type {
        case .reserve:
            if let problem = Self.validateReserve(operation.reserve, principal: principal, framework: framework.info) {
                return self.drop(operation, problem + onAgent, framework: framework, effects: &effects)
            }
            conversions = Self.conversions(operation)
        case .unreserve:
            if let problem = Self.validateUnreserve(operation.unreserve) {
                return self.drop(operation, problem + onAgent, framework: framework, effects: &effects)
            }
            conversions = Self.conversions(operation)
        case .create:
            if let problem = Self.validateCreate(operation.create, checkpointed: agent.checkpointed, principal: principal, framework: framework.info) {
                return self.drop(operation, problem + onAgent, framework: framework, effects: &effects)
            }
            conversions = Self.conversions(operation)
        case .destroy:
            if let problem = Self.validateDestroy(operation.destroy, checkpointed: agent.checkpointed, used: agent.used) {
                return self.drop(operation, problem + onAgent, framework: framework, effects: &effects)
            }
            // Offers of shared copies of these volumes (to other frameworks) are rescinded.
            let volumes = Resources(operation.destroy.volumes).unallocated()
            for (offerID, offer) in state.offers where offer.agentID == agentID {
                let offered = offer.resources.unallocated()
                if volumes.contains(where: { offered.contains($0) }) {
                    state.offers[offerID] = nil
                    effects.send(.rescind(offer.offer.id), to: state.frameworks[offer.frameworkID]?.subscription)
                }
            }
            conversions = Self.conversions(operation)
        case .growVolume:
            if let problem = Self.validateGrow(operation.growVolume) {
                return self.drop(operation, problem + onAgent, framework: framework, effects: &effects)
            }
            conversions = Self.conversions(operation)
        case .shrinkVolume:
            if let problem = Self.validateShrink(operation.shrinkVolume) {
                return self.drop(operation, problem + onAgent, framework: framework, effects: &effects)
            }
            conversions = Self.conversions(operation)
        case .createDisk, .destroyDisk:
            // The agent has RESOURCE_PROVIDER but no provider: the source can be valid, never offered.
            let isCreate = operation.type == .createDisk
            let problem = isCreate ? Self.validateCreateDisk(operation.createDisk) : Self.validateDestroyDisk(operation.destroyDisk)
            if let problem { return self.drop(operation, problem + onAgent, framework: framework, effects: &effects) }
            let source = isCreate ? operation.createDisk.source : operation.destroyDisk.source
            let name = isCreate ? "CREATE_DISK" : "DESTROY_DISK"
            guard remaining.contains(source) else {
                return self.drop(
                    operation, "Invalid \(name) Operation: \(remaining) does not contain \(Resources(source))", framework: framework,
                    effects: &effects
                )
            }
            // Unreachable without resource providers (their resources are never offered); refused all the same.
            return self.drop(operation, "Not supported on agent " + Self.describe(agent) + ": no resource provider", framework: framework, effects: &effects)
        default:
            return
        }
        // The offered resources change first; GROW_VOLUME and SHRINK_VOLUME leave the resized volume out of what
        // the rest of this ACCEPT may use.
        if operation.type == .growVolume || operation.type == .shrinkVolume {
            let conversion = conversions[0]
            guard remaining.contains(conversion.consumed) else {
                return self.drop(
                    operation, "Invalid \(Self.typeName(operation.type)) operation: \(remaining) does not contain \(conversion.consumed)",
                    framework: framework, effects: &effects
                )
            }
            remaining -= conversion.consumed
            resized += conversion.converted
        } else {
            switch remaining.applying(conversions) {
            case .success(let converted): remaining = converted
            case .failure(let error): return self.drop(operation, error.message, framework: framework, effects: &effects)
            }
        }
        // `Slave::apply`: the agent's total (unallocated) and its checkpointed resources.
        let before = agent.checkpointed
        switch agent.total.applying(conversions.map { $0.unallocated() }) {
        case .success(let total): state.agents[agentID]?.total = total
        case .failure(let error):
            self.logger.error("local master: cannot apply \(Self.typeName(operation.type)) to agent \(agentID): \(error.message)")
            return
        }
        state.allocationWanted = true
        let after = state.agents[agentID]?.checkpointed ?? Resources()
        self.syncVolumes(agent: agent, before: before, after: after, effects: &effects)
        self.logger.info("local master: applied \(Self.typeName(operation.type)) of framework \(framework.id) on agent \(agentID)")
        if operation.hasID {
            // The agent answers at once with OPERATION_FINISHED (speculative operations), re-sent until acknowledged.
            var status = OperationStatus()
            status.state = .operationFinished
            status.operationID = operation.id
            status.agentID = agent.info.id
            status.uuid.value = Data(UUID().uuidBytes)
            state.frameworks[framework.id]?.operations[operation.id.value] = MasterOperation(
                info: operation, frameworkID: framework.id, agentID: agentID, status: status, lastSent: .now
            )
            var event = SchedulerEvent()
            event.type = .updateOperationStatus
            event.updateOperationStatus.status = status
            effects.send(event, to: framework.subscription)
        }
    }

    /// `Slave::syncCheckpointedResources`: a directory per persistent volume on the agent's root disk,
    /// `<work_dir>/volumes/roles/<role>/<persistence id>`, made on CREATE and removed on DESTROY.
    private func syncVolumes(agent: MasterAgent, before: Resources, after: Resources, effects: inout MasterEffects) {
        guard let local = agent.handle as? LocalAgent else { return }
        let work = local.configuration.workDirectory
        func paths(_ resources: Resources) -> Set<String> {
            Set(resources.persistentVolumes.filter { !$0.disk.hasSource && !$0.reservations.isEmpty }.map { Self.volumePath(work: work, volume: $0) })
        }
        let old = paths(before)
        let new = paths(after)
        let create = new.subtracting(old)
        let remove = old.subtracting(new)
        let logger = self.logger
        // The agent checkpoints these resources in its work directory (`CheckpointResourcesMessage`), so an agent
        // started again on it (``LocalCluster`` on the same work directory) comes back with them.
        let checkpoint = Self.checkpointPath(work: work)
        let json = Self.checkpointJSON(after)
        // Done before the operation's status (or a launch that uses a new volume) reaches anyone, as the agent applies
        // an operation before it sends its feedback.
        effects.agentBeforeWrites {
            do {
                try FileManager.default.createDirectory(
                    atPath: String(checkpoint[..<(checkpoint.lastIndex(of: "/") ?? checkpoint.endIndex)]),
                    withIntermediateDirectories: true
                )
                try Data(json).write(to: URL(fileURLWithPath: checkpoint))
            } catch {
                logger.error("local master: cannot checkpoint the resources of agent at \(work): \(error)")
            }
            for path in create {
                do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                    logger.error("local master: cannot create persistent volume at \(path): \(error)")
                }
            }
            for path in remove { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// Where an agent's checkpointed resources (dynamic reservations, persistent volumes) are kept.
    static func checkpointPath(work: String) -> String { work + "/meta/resources/resources.jsonl" }

    /// The checkpointed resources, one `Resource` a line in Mesos's JSON form.
    static func checkpointJSON(_ resources: Resources) -> [UInt8] {
        let codec = MessageCodec(.json)
        return resources.protobufs.compactMap { try? codec.encode($0) }.flatMap { $0 + [UInt8(ascii: "\n")] }
    }

    /// What an agent checkpointed in `work`, if anything.
    public static func checkpointedResources(work: String) throws -> [Resource] {
        let path = Self.checkpointPath(work: work)
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let codec = MessageCodec(.json)
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            do { return try codec.decode(Resource.self, from: Array(line)) } catch {
                throw LocalMasterError("the checkpointed resources at \(path) cannot be read: \(error)")
            }
        }
    }

    /// `paths::getPersistentVolumePath` (the agent links the same directory into sandboxes).
    static func volumePath(work: String, volume: Resource) -> String {
        AgentCore.persistentVolumePath(work: work, volume: volume)
    }

    // MARK: Conversions (`getResourceConversions`)

    static func stripped(_ volume: Resource) -> Resource {
        var stripped = volume
        if stripped.disk.hasSource {
            stripped.disk.clearPersistence()
            stripped.disk.clearVolume()
        } else {
            stripped.clearDisk()
        }
        stripped.clearShared()
        return stripped
    }

    static func conversions(_ operation: Offer.Operation) -> [MasterConversion] {
        switch operation.type {
        case .reserve:
            let reserved = Resources(operation.reserve.resources)
            let consumed = (try? reserved.poppingReservation()) ?? Resources()
            return [MasterConversion(consumed: consumed, converted: reserved)]
        case .unreserve:
            return operation.unreserve.resources.map { resource in
                let reserved = Resources(resource)
                return MasterConversion(consumed: reserved, converted: (try? reserved.poppingReservation()) ?? Resources())
            }
        case .create:
            return operation.create.volumes.map { volume in
                MasterConversion(consumed: Resources(Self.stripped(volume)), converted: Resources(volume))
            }
        case .destroy:
            return operation.destroy.volumes.map { volume in
                MasterConversion(consumed: Resources(volume), converted: Resources(Self.stripped(volume)), mustNotContain: volume)
            }
        case .growVolume:
            let volume = operation.growVolume.volume
            var grown = volume
            grown.scalar = Mesos_V1_Value.Scalar(volume.scalar.quantity + operation.growVolume.addition.scalar.quantity)
            return [MasterConversion(consumed: Resources(volume) + operation.growVolume.addition, converted: Resources(grown))]
        case .shrinkVolume:
            let volume = operation.shrinkVolume.volume
            var freed = Self.stripped(volume)
            freed.scalar = operation.shrinkVolume.subtract
            var shrunk = volume
            shrunk.scalar = Mesos_V1_Value.Scalar(volume.scalar.quantity - operation.shrinkVolume.subtract.quantity)
            return [MasterConversion(consumed: Resources(volume), converted: Resources(shrunk) + freed)]
        default:
            return []
        }
    }

    // MARK: Validation (`validation::operation::validate`)

    /// `validateSingleResourceProvider`.
    static func validateSingleProvider(_ resources: [Resource]) -> String? {
        // No resources at all are no single provider either (1.11 words it as "multiple resource providers: ").
        let providers = Set(resources.map { $0.hasProviderID ? $0.providerID.value : "" })
        guard providers.count != 1 else { return nil }
        if providers.contains("") { return "Some resources have a resource provider and some do not" }
        return "The resources have multiple resource providers: " + providers.sorted().joined(separator: ", ")
    }

    /// `validatePersistentVolume`.
    static func validatePersistentVolumes(_ volumes: [Resource]) -> String? {
        for volume in volumes {
            if !volume.hasDisk { return "Resource \(Resources(volume)) does not have DiskInfo" }
            if !volume.disk.hasPersistence { return "'persistence' is not set in DiskInfo" }
            if !volume.disk.hasVolume { return "Expecting 'volume' to be set for persistent volume" }
            if volume.disk.volume.mode == .ro { return "Read-only persistent volume not supported" }
        }
        return nil
    }

    /// `validateAllocatedToSingleRole`.
    static func validateSingleRole(_ resources: [Resource]) -> String? {
        var role: String?
        for resource in resources {
            guard resource.allocationInfo.hasRole else { return "The resources are not allocated to a role" }
            let current = resource.allocationInfo.role
            if let role, role != current {
                return "The resources have multiple allocation roles ('\(current)' and '\(role)') but only one allocation role is allowed"
            }
            role = current
        }
        return nil
    }

    /// stout's `stringify(hashset<string>)`.
    static func describe(_ roles: Set<String>) -> String { "{ " + roles.sorted().joined(separator: ", ") + " }" }

    static func validateReserve(_ reserve: Offer.Operation.Reserve, principal: String?, framework: FrameworkInfo) -> String? {
        if let problem = Self.validateResources(reserve.resources) { return "Invalid resources: " + problem }
        if let problem = Self.validateSingleProvider(reserve.resources) { return "Invalid resources: " + problem }
        let roles = Set(framework.subscribedRoles)
        for resource in reserve.resources {
            let text = Resources(resource).description
            if !resource.isDynamicallyReserved { return "Resource \(text) is not dynamically reserved" }
            if let principal {
                let reservation = resource.reservations.last ?? resource.reservation
                if !reservation.hasPrincipal {
                    return "A reserve operation was attempted by principal '\(principal)', but there is a reserved resource in the request with no principal set"
                }
                if reservation.principal != principal {
                    return "A reserve operation was attempted by authenticated principal '\(principal)', which does not match a reserved resource in the request with principal '\(reservation.principal)'"
                }
            }
            if !resource.allocationInfo.hasRole {
                return "A reserve operation was attempted on unallocated resource \(text), but frameworks can only perform reservations on allocated resources"
            }
            let allocation = resource.allocationInfo.role
            if allocation != resource.reservationRole {
                return "A reserve operation was attempted for a resource with role '\(resource.reservationRole)', but the resource was allocated to role '\(allocation)'"
            }
            if !roles.contains(allocation) {
                return "A reserve operation was attempted for a resource allocated to role '\(allocation)', but the framework only has roles '\(Self.describe(roles))'"
            }
            if !roles.contains(resource.reservationRole) {
                return "A reserve operation was attempted for a resource with role '\(resource.reservationRole)', but the framework can only reserve resources with roles '\(Self.describe(roles))'"
            }
        }
        if let problem = Self.validateSingleRole(reserve.resources) { return "Invalid reservation resources: " + problem }
        return nil
    }

    static func validateUnreserve(_ unreserve: Offer.Operation.Unreserve) -> String? {
        if let problem = Self.validateResources(unreserve.resources) { return "Invalid resources: " + problem }
        if let problem = Self.validateSingleProvider(unreserve.resources) { return "Invalid resources: " + problem }
        for resource in unreserve.resources {
            let text = Resources(resource).description
            if !resource.isDynamicallyReserved { return "Resource \(text) is not dynamically reserved" }
            if resource.isPersistentVolume {
                return "A dynamically reserved persistent volume \(text) cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource"
            }
        }
        return nil
    }

    static func validateCreate(_ create: Offer.Operation.Create, checkpointed: Resources, principal: String?, framework: FrameworkInfo) -> String? {
        if let problem = Self.validateResources(create.volumes) { return "Invalid resources: " + problem }
        if let problem = Self.validateSingleProvider(create.volumes) { return "Invalid resources: " + problem }
        if let problem = Self.validatePersistentVolumes(create.volumes) { return "Not a persistent volume: " + problem }
        // `validateUniquePersistenceID` over the agent's checkpointed volumes and the new ones.
        var seen: [String: Set<String>] = [:]
        for volume in checkpointed.persistentVolumes.protobufs + create.volumes {
            guard seen[volume.reservationRole, default: []].insert(volume.disk.persistence.id).inserted else {
                return "Persistence ID '\(volume.disk.persistence.id)' is not unique"
            }
        }
        let shared = framework.capabilities.contains { $0.type == .sharedResources }
        for volume in create.volumes {
            if volume.hasShared && !shared {
                return "Create volume operation for '\(Resources(volume))' has been attempted by framework '\(framework.id.value)' with no SHARED_RESOURCES capability"
            }
            if let principal {
                if !volume.disk.persistence.hasPrincipal {
                    return "Create volume operation attempted by principal '\(principal)', but there is a volume in the operation with no principal set in 'disk.persistence'"
                }
                if volume.disk.persistence.principal != principal {
                    return "Create volume operation attempted by authenticated principal '\(principal)', which does not match a volume in the operation with principal '\(volume.disk.persistence.principal)' set in 'disk.persistence'"
                }
            }
        }
        if let problem = Self.validateSingleRole(create.volumes) { return "Invalid volume resources: " + problem }
        return nil
    }

    static func validateDestroy(_ destroy: Offer.Operation.Destroy, checkpointed: Resources, used: Resources) -> String? {
        let volumes = destroy.volumes.map { volume in
            var volume = volume
            volume.clearAllocationInfo()
            return volume
        }
        if let problem = Self.validateResources(volumes) { return "Invalid resources: " + problem }
        if let problem = Self.validateSingleProvider(volumes) { return "Invalid resources: " + problem }
        if let problem = Self.validatePersistentVolumes(volumes) { return "Not a persistent volume: " + problem }
        for volume in volumes where !volume.hasProviderID && !checkpointed.contains(volume) {
            return "Persistent volumes not found"
        }
        for volume in volumes where used.contains(volume) { return "Persistent volumes in use" }
        return nil
    }

    static func validateGrow(_ grow: Offer.Operation.GrowVolume) -> String? {
        if let problem = grow.volume.mesosValidationError { return "Invalid resource in the 'GrowVolume.volume' field: " + problem }
        if let problem = grow.addition.mesosValidationError {
            return "Invalid resource in the 'GrowVolume.addition' field: " + problem
        }
        if grow.addition.scalar.quantity <= .zero { return "The size of 'GrowVolume.addition' field must be greater than zero" }
        if grow.volume.hasProviderID { return "Growing a volume from a resource provider is not supported" }
        if let problem = Self.validatePersistentVolumes([grow.volume]) {
            return "Invalid persistent volume in the 'GrowVolume.volume' field: " + problem
        }
        if grow.volume.hasShared { return "Growing a shared persistent volume is not supported" }
        var stripped = grow.volume
        if stripped.disk.hasSource {
            stripped.disk.clearPersistence()
            stripped.disk.clearVolume()
        } else {
            stripped.clearDisk()
        }
        if (Resources(stripped) + grow.addition).protobufs.count != 1 {
            return "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields"
        }
        return nil
    }

    static func validateShrink(_ shrink: Offer.Operation.ShrinkVolume) -> String? {
        if let problem = shrink.volume.mesosValidationError {
            return "Invalid resource in the 'ShrinkVolume.volume' field: " + problem
        }
        if shrink.subtract.quantity <= .zero { return "Value of 'ShrinkVolume.subtract' must be greater than zero" }
        if shrink.volume.scalar.quantity <= shrink.subtract.quantity {
            return "Value of 'ShrinkVolume.subtract' must be smaller than the size of 'ShrinkVolume.volume'"
        }
        if shrink.volume.hasProviderID { return "Shrinking a volume from a resource provider is not supported" }
        if shrink.volume.disk.source.type == .mount { return "Shrinking a volume on a MOUNT disk is not supported" }
        if let problem = Self.validatePersistentVolumes([shrink.volume]) {
            return "Invalid persistent volume in the 'ShrinkVolume.volume' field: " + problem
        }
        if shrink.volume.hasShared { return "Shrinking a shared persistent volume is not supported" }
        return nil
    }

    static func validateCreateDisk(_ create: Offer.Operation.CreateDisk) -> String? {
        let source = create.source
        if let problem = Self.validateResources([source]) { return "Invalid resource: " + problem }
        if !source.hasProviderID { return "'source' is not managed by a resource provider" }
        if !(source.hasDisk && source.disk.hasSource && source.disk.source.type == .raw) { return "'source' is not a RAW disk resource" }
        if create.targetType != .mount && create.targetType != .block { return "'target_type' is neither MOUNT or BLOCK" }
        if source.disk.source.hasProfile == create.hasTargetProfile {
            return create.hasTargetProfile
                ? "'target_profile' must not be set when 'source' has a profile"
                : "'target_profile' must be set when 'source' has no profile"
        }
        return nil
    }

    static func validateDestroyDisk(_ destroy: Offer.Operation.DestroyDisk) -> String? {
        let source = destroy.source
        if let problem = Self.validateResources([source]) { return "Invalid resource: " + problem }
        if !source.hasProviderID { return "'source' is not managed by a resource provider" }
        let type = source.disk.source.type
        if !(source.hasDisk && source.disk.hasSource && [.mount, .block, .raw].contains(type)) {
            return "'source' is neither a MOUNT, BLOCK or RAW disk resource"
        }
        if !source.disk.source.hasID { return "'source' is not backed by a CSI volume" }
        if source.isPersistentVolume {
            return "A disk resource containing a persistent volume \(Resources(source)) cannot be destroyed directly. Please destroy the persistent volume first then destroy the disk resource"
        }
        return nil
    }

    // MARK: Feedback

    /// ACKNOWLEDGE_OPERATION_STATUS: the terminal status acknowledged, the operation is forgotten.
    func acknowledgeOperation(_ ack: SchedulerCall.AcknowledgeOperationStatus, frameworkID: String, state: inout State) {
        guard state.agents[ack.agentID.value] != nil,
            let operation = state.frameworks[frameworkID]?.operations[ack.operationID.value],
            operation.status.uuid.value == ack.uuid
        else { return }
        state.frameworks[frameworkID]?.operations[ack.operationID.value] = nil
    }

    /// Unacknowledged operation statuses go out again (the agent's operation status update manager retries).
    func resendOperationStatuses(state: inout State, effects: inout MasterEffects, now: ContinuousClock.Instant) {
        let interval = self.configuration.operationStatusRetryInterval
        for id in state.frameworks.keys {
            guard let framework = state.frameworks[id], framework.subscription != nil, !framework.operations.isEmpty else { continue }
            for (operationID, operation) in framework.operations where now - operation.lastSent >= interval {
                var event = SchedulerEvent()
                event.type = .updateOperationStatus
                event.updateOperationStatus.status = operation.status
                effects.send(event, to: framework.subscription)
                state.frameworks[id]?.operations[operationID]?.lastSent = now
            }
        }
    }
}

extension MasterAgent {
    /// What the agent checkpoints (`needCheckpointing`): dynamic reservations and persistent volumes.
    var checkpointed: Resources { self.total.filter { $0.isDynamicallyReserved || $0.isPersistentVolume } }
}

extension UUID {
    var uuidBytes: [UInt8] {
        withUnsafeBytes(of: self.uuid) { Array($0) }
    }
}
