import Mesos
import SwiftProtobuf

// What Mesos 1.11's master checks of a LAUNCH or LAUNCH_GROUP task before it sends it to an agent, in its order and
// with its words: `validation::task`, `validation::task::group`, `validation::executor` and `validation::resource`
// (src/master/validation.cpp), `common::validation` (src/common/validation.cpp) and `Resources::validate`
// (src/common/resources.cpp). A framework tested against `mesos-local` gets the TASK_ERROR a real master would send.
//
// Left out, because a local master has nothing to check them against: authorization, and the agent capabilities
// (local agents have every 1.11 capability).

/// The master's minimum executor resources for a task group (src/master/constants.hpp).
private let minimumExecutorCPUs = 0.01
private let minimumExecutorMemoryMB: UInt64 = 32

extension LocalMaster {
    // MARK: LAUNCH (`validation::task::validate`)

    /// Why `task` (normalized as `Master::accept` leaves it: allocation role injected, executor's framework ID filled
    /// in) cannot launch on `agentID` with `available` left of the offers; nil when it can.
    static func launchProblem(_ task: TaskInfo, framework: MasterFramework, agentID: String, available: Resources) -> String? {
        if let problem = Self.taskProblem(task, framework: framework, agentID: agentID) { return problem }
        if let problem = Self.executorProblem(of: task, framework: framework, agentID: agentID, available: available) {
            return problem
        }
        if task.hasContainer, task.container.hasLinuxInfo, task.container.linuxInfo.hasShareCgroups,
            !task.container.linuxInfo.shareCgroups
        {
            return "Only tasks in a task group may have 'share_cgroups' set to 'false'"
        }
        return nil
    }

    /// `task::internal::validateTask`: the task's own fields, not its executor.
    private static func taskProblem(_ task: TaskInfo, framework: MasterFramework, agentID: String) -> String? {
        let id = task.taskID.value
        if let problem = Self.validateID(id) { return problem }
        if framework.tasks[id] != nil { return "Task has duplicate ID: \(id)" }
        if framework.unreachableTasks.contains(where: { $0.info.taskID.value == id }) {
            return "Task reuses the ID of an unreachable task: \(id)"
        }
        if task.agentID.value != agentID {
            return "Task uses invalid agent \(task.agentID.value) while agent \(agentID) is expected"
        }
        if task.hasKillPolicy, task.killPolicy.hasGracePeriod, task.killPolicy.gracePeriod.nanoseconds < 0 {
            return "Task's 'kill_policy.grace_period' must be non-negative"
        }
        if task.hasMaxCompletionTime, task.maxCompletionTime.nanoseconds < 0 {
            return "Task's `max_completion_time` must be non-negative"
        }
        if task.hasCheck, let problem = Self.checkProblem(task.check) { return "Task uses invalid check: " + problem }
        if task.hasHealthCheck, let problem = Self.healthCheckProblem(task.healthCheck) {
            return "Task uses invalid health check: " + problem
        }
        if task.resources.isEmpty { return "Task uses no resources" }
        if let problem = Self.validateResources(task.resources) { return "Task uses invalid resources: " + problem }
        let resources = Resources(task.resources)
        if let problem = Self.duplicatePersistenceID(in: resources) { return "Task uses duplicate persistence ID: " + problem }
        if let problem = Self.validateSingleRole(task.resources) { return "Invalid task resources: " + problem }
        if let problem = Self.revocableMix(in: resources) {
            return "Task mixes revocable and non-revocable resources: " + problem
        }
        if task.hasCommand, let problem = Self.environmentProblem(task.command.environment) {
            return "Task's `CommandInfo` is invalid: " + problem
        }
        if task.hasContainer, let problem = Self.containerProblem(task.container) {
            return "Task's `ContainerInfo` is invalid: " + problem
        }
        return Self.limitsProblem(task, resources: resources)
    }

    /// `task::internal::validateResourceLimits` (local agents are capable of task resource limits).
    private static func limitsProblem(_ task: TaskInfo, resources: Resources) -> String? {
        let limits = task.limits
        guard !limits.isEmpty else { return nil }
        if limits.keys.contains(where: { $0 != "cpus" && $0 != "mem" }) {
            return "Only cpus and mem may be included in a task's resource limits"
        }
        if let cpus = limits["cpus"] {
            guard resources.names.contains("cpus") else {
                return "When a CPU limit is specified, a CPU request must also be specified"
            }
            if cpus.value < resources.cpus.doubleValue {
                return "The cpu limit must be greater than or equal to the cpu request"
            }
        }
        if let mem = limits["mem"] {
            guard let request = Self.megabytes(resources, "mem") else {
                return "When a memory limit is specified, a memory request must also be specified"
            }
            // Mesos compares bytes: the limit's, and the request's in whole megabytes (`Resources::mem`).
            if !mem.value.isInfinite, Self.bytes(megabytes: mem.value) < request &* 1_048_576 {
                return "The memory limit must be greater than or equal to the memory request"
            }
        }
        return nil
    }

    /// `task::internal::validateExecutor`: the task's executor, and what the task and its executor need together.
    private static func executorProblem(
        of task: TaskInfo, framework: MasterFramework, agentID: String, available: Resources
    ) -> String? {
        if task.hasExecutor == task.hasCommand {
            return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
        }
        var total = Resources(task.resources)
        if task.hasExecutor {
            let executor = task.executor
            if let problem = Self.executorProblem(executor, framework: framework, agentID: agentID) { return problem }
            if executor.hasType && executor.type != .custom { return "'ExecutorInfo.type' must be 'CUSTOM'" }
            if !executor.hasCommand { return "'ExecutorInfo.command' must be set" }
            let executorResources = Resources(executor.resources)
            if !executorResources.shared.isEmpty {
                return "Executor resources \(executorResources) should not contain any shared resources"
            }
            if executor.hasContainer, executor.container.hasLinuxInfo, executor.container.linuxInfo.hasShareCgroups,
                executor.container.linuxInfo.shareCgroups
            {
                return "The 'share_cgroups' field cannot be set to 'true' on executor containers"
            }
            if framework.executors[MasterExecutorKey(agentID: agentID, executorID: executor.executorID.value)] == nil {
                total += executorResources
            }
        }
        // `validateTaskAndExecutorResources`.
        let both = task.resources + (task.hasExecutor ? task.executor.resources : [])
        if let problem = Self.validateResources(both) { return "Task and its executor use invalid resources: " + problem }
        if task.hasExecutor, Self.overlap([Resources(task.resources), Resources(task.executor.resources)]) {
            return "There are overlapping resources in the task resources \(Resources(task.resources)) and executor resources \(Resources(task.executor.resources))"
        }
        let bothResources = Resources(both)
        if let problem = Self.duplicatePersistenceID(in: bothResources) {
            return "Task and its executor use duplicate persistence ID: " + problem
        }
        if let problem = Self.revocableMix(in: bothResources) {
            return "Task and its executor mix revocable and non-revocable resources: " + problem
        }
        if !available.contains(total) {
            return "Total resources \(total) required by task and its executor is more than available \(available)"
        }
        return nil
    }

    // MARK: Executors (`validation::executor`)

    /// `executor::internal::validate`: the checks every executor of a LAUNCH or LAUNCH_GROUP passes.
    private static func executorProblem(_ executor: ExecutorInfo, framework: MasterFramework, agentID: String) -> String? {
        // `executor::validate`: type, ID, shutdown grace period, command, container.
        switch executor.type {
        case .default:
            if executor.hasCommand { return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor" }
            if executor.hasContainer {
                if executor.container.type != .mesos {
                    return "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor"
                }
                if executor.container.mesos.hasImage {
                    return "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor"
                }
            }
        case .custom:
            if !executor.hasCommand { return "'ExecutorInfo.command' must be set for 'CUSTOM' executor" }
        case .unknown:
            break  // A type this master does not know: left to the agent.
        }
        if let problem = Self.validateID(executor.executorID.value) { return problem }
        if executor.hasShutdownGracePeriod, executor.shutdownGracePeriod.nanoseconds < 0 {
            return "ExecutorInfo's 'shutdown_grace_period' must be non-negative"
        }
        if executor.hasCommand, let problem = Self.environmentProblem(executor.command.environment) {
            return "Executor's `CommandInfo` is invalid: " + problem
        }
        if executor.hasContainer, let problem = Self.containerProblem(executor.container) {
            return "Executor's `ContainerInfo` is invalid: " + problem
        }
        // The framework ID (the master fills it in for LAUNCH, not for LAUNCH_GROUP).
        if !executor.hasFrameworkID { return "'ExecutorInfo.framework_id' must be set" }
        if executor.frameworkID.value != framework.id {
            return "ExecutorInfo has an invalid FrameworkID (Actual: \(executor.frameworkID.value) vs Expected: \(framework.id))"
        }
        // Its resources.
        if let problem = Self.validateResources(executor.resources) { return "Executor uses invalid resources: " + problem }
        let resources = Resources(executor.resources)
        if let problem = Self.duplicatePersistenceID(in: resources) {
            return "Executor uses duplicate persistence ID: " + problem
        }
        if let problem = Self.validateSingleRole(executor.resources) { return "Invalid executor resources: " + problem }
        if let problem = Self.revocableMix(in: resources) {
            return "Executor mixes revocable and non-revocable resources: " + problem
        }
        // The same ExecutorInfo as the executor of that ID the agent already runs for the framework.
        let key = MasterExecutorKey(agentID: agentID, executorID: executor.executorID.value)
        if let existing = framework.executors[key]?.info, !Self.sameExecutor(existing, executor) {
            let rule = String(repeating: "-", count: 60)
            return "ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n\(rule)\n"
                + "Existing ExecutorInfo:\n\(existing.textFormatString())\n\(rule)\n"
                + "ExecutorInfo:\n\(executor.textFormatString())\n\(rule)\n"
        }
        return nil
    }

    /// Mesos's `operator==(ExecutorInfo, ExecutorInfo)`: these fields only, resources as resources.
    static func sameExecutor(_ left: ExecutorInfo, _ right: ExecutorInfo) -> Bool {
        left.hasType == right.hasType && (!left.hasType || left.type == right.type)
            && left.executorID == right.executorID && left.data == right.data
            && Resources(left.resources) == Resources(right.resources) && left.command == right.command
            && left.frameworkID == right.frameworkID && left.name == right.name && left.source == right.source
            && left.container == right.container && left.discovery == right.discovery
    }

    // MARK: LAUNCH_GROUP (`validation::task::group::validate`)

    /// Why the group (its tasks already carrying `executor`, as `Master::accept` leaves them) cannot launch; nil when
    /// it can.
    static func groupProblem(
        _ tasks: [TaskInfo], executor: ExecutorInfo, framework: MasterFramework, agentID: String, available: Resources
    ) -> String? {
        for task in tasks {
            if let problem = Self.taskProblem(task, framework: framework, agentID: agentID) ?? Self.groupTaskProblem(task) {
                return "Task '\(task.taskID.value)' is invalid: " + problem
            }
        }
        if let problem = Self.executorProblem(executor, framework: framework, agentID: agentID) { return problem }
        let name = executor.executorID.value
        if !executor.hasType { return "'ExecutorInfo.type' must be set" }
        if executor.type == .unknown { return "Unknown executor type" }
        if executor.hasContainer, executor.container.type == .docker {
            return "Docker ContainerInfo is not supported on the executor"
        }
        for task in tasks where task.hasExecutor && !Self.sameExecutor(task.executor, executor) {
            return "The `ExecutorInfo` of task '\(task.taskID.value)' is different from executor '\(name)'"
        }
        let executorResources = Resources(executor.resources)
        let cpus = executorResources.names.contains("cpus") ? executorResources.cpus.doubleValue : nil
        if cpus == nil || cpus! < minimumExecutorCPUs {
            let used = cpus.map(Self.stringify) ?? "None"
            return "Executor '\(name)' uses less CPUs (\(used)) than the minimum required (\(Self.stringify(minimumExecutorCPUs)))"
        }
        let memory = Self.megabytes(executorResources, "mem")
        if memory == nil || memory! < minimumExecutorMemoryMB {
            let used = memory.map { Self.stringifyBytes($0 &* 1_048_576) } ?? "None"
            return "Executor '\(name)' uses less memory (\(used)) than the minimum required (\(Self.stringifyBytes(minimumExecutorMemoryMB * 1_048_576)))"
        }
        if !executorResources.names.contains("disk") { return "Executor '\(name)' uses no disk" }
        // `validateTaskGroupAndExecutorResources`.
        let taskResources = tasks.map { Resources($0.resources) }
        let all = taskResources.reduce(executorResources, +)
        if let problem = Self.duplicatePersistenceID(in: all) {
            return "Task group and executor use duplicate persistence ID: " + problem
        }
        if let problem = Self.revocableMix(in: all) {
            return "Task group and executor mix revocable and non-revocable resources: " + problem
        }
        if Self.overlap(taskResources + [executorResources]) {
            let listed = "[ " + taskResources.map(\.description).joined(separator: ", ") + " ]"
            return "There are overlapping resources in the task group's task resources \(listed) and/or executor resources \(executorResources)"
        }
        var total = taskResources.reduce(Resources(), +)
        if framework.executors[MasterExecutorKey(agentID: agentID, executorID: name)] == nil { total += executorResources }
        if !available.contains(total) {
            return "Total resources \(total) required by task group and its executor are more than available \(available)"
        }
        if executor.hasCommand, let problem = Self.environmentProblem(executor.command.environment) {
            return "Executor '\(name)'contains an invalid command: " + problem  // sic: 1.11 has no space there.
        }
        return Self.shareCgroupsProblem(tasks, executor: executor, framework: framework, agentID: agentID)
    }

    /// `group::internal::validateTask`, after the checks every task passes.
    private static func groupTaskProblem(_ task: TaskInfo) -> String? {
        if !task.hasExecutor { return "'TaskInfo.executor' must be set" }
        if task.hasContainer {
            if !task.container.networkInfos.isEmpty, task.hasHealthCheck,
                task.healthCheck.type == .http || task.healthCheck.type == .tcp
            {
                return "HTTP and TCP health checks are not supported for nested containers not joining parent's network"
            }
            if task.container.type == .docker { return "Docker ContainerInfo is not supported on the task" }
        }
        if !task.limits.isEmpty,
            !(task.hasContainer && task.container.hasLinuxInfo && !task.container.linuxInfo.shareCgroups)
        {
            return "Resource limits may only be set for tasks within a task group when the 'share_cgroups' field is set to 'false'."
        }
        return nil
    }

    /// `group::internal::validateShareCgroups`: one value for every task of the group and of its executor.
    private static func shareCgroupsProblem(
        _ tasks: [TaskInfo], executor: ExecutorInfo, framework: MasterFramework, agentID: String
    ) -> String? {
        if executor.hasContainer, executor.container.hasLinuxInfo, executor.container.linuxInfo.hasShareCgroups,
            executor.container.linuxInfo.shareCgroups
        {
            return "The 'share_cgroups' field cannot be set to 'true' on executor containers"
        }
        func shares(_ task: TaskInfo) -> Bool {
            task.hasContainer && task.container.hasLinuxInfo && task.container.linuxInfo.hasShareCgroups
                ? task.container.linuxInfo.shareCgroups : true
        }
        let problem = "If set, the value of 'share_cgroups' must be the same for all tasks in each task group and under a single executor"
        guard let first = tasks.first.map(shares) else { return nil }
        if tasks.contains(where: { shares($0) != first }) { return problem }
        let key = MasterExecutorKey(agentID: agentID, executorID: executor.executorID.value)
        guard framework.executors[key] != nil else { return nil }
        let siblings = framework.tasks.values.map(\.info) + framework.unreachableTasks.map(\.info)
        for task in siblings where task.agentID.value == agentID && task.executor.executorID == executor.executorID {
            if shares(task) != first { return problem }
        }
        return nil
    }

    // MARK: Resources (`validation::resource`)

    /// `resource::validate`: every resource valid (`Resources::validate`), whole GPUs, persistent volumes and disk
    /// information as the master allows them, no dynamic reservation of revocable resources.
    static func validateResources(_ resources: [Resource]) -> String? {
        if let problem = Self.invalidResource(in: resources) { return "Invalid resources: " + problem }
        let gpus = Resources(resources).gpus.milli
        if gpus % 1000 != 0 { return "Invalid 'gpus' resource: The 'gpus' resource must be an unsigned integer" }
        for resource in resources where resource.hasDisk {
            let disk = resource.disk
            if disk.hasPersistence {
                if resource.hasRevocable { return "Invalid DiskInfo: Persistent volumes cannot be created from revocable resources" }
                if !resource.isReserved { return "Invalid DiskInfo: Persistent volumes cannot be created from unreserved resources" }
                if !disk.hasVolume { return "Invalid DiskInfo: Expecting 'volume' to be set for persistent volume" }
                if disk.volume.hasHostPath { return "Invalid DiskInfo: Expecting 'host_path' to be unset for persistent volume" }
                if let problem = Self.validateID(disk.persistence.id) {
                    return "Invalid DiskInfo: Invalid persistence ID for persistent volume: " + problem
                }
            } else if disk.hasVolume {
                return "Invalid DiskInfo: Non-persistent volume not supported"
            } else if !disk.hasSource {
                return "Invalid DiskInfo: DiskInfo is set but empty"
            }
        }
        for resource in resources where resource.isDynamicallyReserved && resource.hasRevocable {
            return "Invalid ReservationInfo: Dynamically reserved resource \(Self.stringify(resource)) cannot be created from revocable resources"
        }
        return nil
    }

    /// `Resources::validate(resources)`: the first invalid resource and Mesos's reason, as
    /// "Resource '<resource>' is invalid: <reason>".
    static func invalidResource(in resources: [Resource]) -> String? {
        for resource in resources {
            if let problem = resource.mesosValidationError {
                return "Resource '\(Self.stringify(resource))' is invalid: \(problem)"
            }
        }
        return nil
    }

    /// `validateUniquePersistenceID`: a persistence ID at most once per reservation role.
    static func duplicatePersistenceID(in resources: Resources) -> String? {
        var seen: [String: Set<String>] = [:]
        for volume in resources.persistentVolumes {
            let id = volume.disk.persistence.id
            guard seen[volume.reservationRole, default: []].insert(id).inserted else {
                return "Persistence ID '\(id)' is not unique"
            }
        }
        return nil
    }

    /// `validateRevocableAndNonRevocableResources`.
    static func revocableMix(in resources: Resources) -> String? {
        for name in resources.names.sorted() {
            let named: Resources = resources.filter { $0.name == name }
            if !named.revocable.isEmpty && named != named.revocable {
                return "Cannot use both revocable and non-revocable '\(name)' at the same time"
            }
        }
        return nil
    }

    /// `detectOverlappingSetAndRangeResources`: the same port (or set item) in two of them.
    static func overlap(_ parts: [Resources]) -> Bool {
        var counted: [String: UInt64] = [:]
        for part in parts {
            for resource in part where resource.type != .scalar {
                counted[resource.name, default: 0] &+= Self.valueCount(resource)
            }
        }
        let total = parts.reduce(Resources(), +)
        var merged: [String: UInt64] = [:]
        for resource in total where resource.type != .scalar {
            merged[resource.name, default: 0] &+= Self.valueCount(resource)
        }
        return counted != merged
    }

    private static func valueCount(_ resource: Resource) -> UInt64 {
        switch resource.type {
        case .ranges: ValueRanges(resource.ranges)?.valueCount ?? 0
        case .set: UInt64(resource.set.item.count)
        default: 0
        }
    }

    // MARK: `common::validation`

    /// `validateEnvironment`, which is all `validateCommandInfo` checks.
    static func environmentProblem(_ environment: Mesos_V1_Environment) -> String? {
        for variable in environment.variables {
            switch variable.type {
            case .secret:
                if !variable.hasSecret { return "Environment variable '\(variable.name)' of type 'SECRET' must have a secret set" }
                if variable.hasValue { return "Environment variable '\(variable.name)' of type 'SECRET' must not have a value set" }
                if let problem = Self.secretProblem(variable.secret) {
                    return "Environment variable '\(variable.name)' specifies an invalid secret: " + problem
                }
                if variable.secret.value.data.contains(0) {
                    return "Environment variable '\(variable.name)' specifies a secret containing null bytes, which is not allowed in the environment"
                }
            case .value:
                if !variable.hasValue { return "Environment variable '\(variable.name)' of type 'VALUE' must have a value set" }
                if variable.hasSecret { return "Environment variable '\(variable.name)' of type 'VALUE' must not have a secret set" }
            case .unknown:
                return "Environment variable of type 'UNKNOWN' is not allowed"
            }
        }
        return nil
    }

    private static func secretProblem(_ secret: Mesos_V1_Secret) -> String? {
        switch secret.type {
        case .reference:
            if !secret.hasReference { return "Secret of type REFERENCE must have the 'reference' field set" }
            if secret.hasValue { return "Secret '\(secret.reference.name)' of type REFERENCE must not have the 'value' field set" }
        case .value:
            if !secret.hasValue { return "Secret of type VALUE must have the 'value' field set" }
            if secret.hasReference { return "Secret of type VALUE must not have the 'reference' field set" }
        case .unknown:
            break
        }
        return nil
    }

    /// `validateContainerInfo`: its volumes, and a DOCKER container's `docker`.
    static func containerProblem(_ container: ContainerInfo) -> String? {
        for volume in container.volumes {
            if let problem = Self.volumeProblem(volume) { return "Invalid volume: " + problem }
        }
        if container.type == .docker {
            if !container.hasDocker { return "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo" }
            if container.docker.parameters.contains(where: { $0.key == "name" }) {
                return "Parameter in DockerInfo must not be 'name'"
            }
        }
        return nil
    }

    private static func volumeProblem(_ volume: Mesos_V1_Volume) -> String? {
        let kinds = [volume.hasHostPath, volume.hasImage, volume.hasSource].filter { $0 }.count
        if kinds != 1 { return "Only one of them should be set: 'host_path', 'image' and 'source'" }
        guard volume.hasSource else { return nil }
        let source = volume.source
        switch source.type {
        case .dockerVolume where !source.hasDockerVolume: return "'source.docker_volume' is not set for DOCKER_VOLUME volume"
        case .hostPath where !source.hasHostPath: return "'source.host_path' is not set for HOST_PATH volume"
        case .sandboxPath where !source.hasSandboxPath: return "'source.sandbox_path' is not set for SANDBOX_PATH volume"
        case .secret where !source.hasSecret: return "'source.secret' is not set for SECRET volume"
        case .csiVolume where !source.hasCsiVolume: return "'source.csi_volume' is not set for CSI volume"
        case .csiVolume where !source.csiVolume.hasStaticProvisioning:
            return "'source.csi_volume.static_provisioning' is not set for CSI volume"
        case .unknown: return "'source.type' is unknown"
        default: return nil
        }
    }

    /// `validateHealthCheck`.
    static func healthCheckProblem(_ check: Mesos_V1_HealthCheck) -> String? {
        if !check.hasType { return "HealthCheck must specify 'type'" }
        switch check.type {
        case .command:
            if !check.hasCommand { return "Expecting 'command' to be set for COMMAND health check" }
            if !check.command.hasValue {
                return "Command health check must contain " + (check.command.shell ? "'shell command'" : "'executable path'")
            }
            if let problem = Self.environmentProblem(check.command.environment) {
                return "Health check's `CommandInfo` is invalid: " + problem
            }
        case .http:
            if !check.hasHTTP { return "Expecting 'http' to be set for HTTP health check" }
            if check.http.hasScheme, check.http.scheme != "http", check.http.scheme != "https" {
                return "Unsupported HTTP health check scheme: '\(check.http.scheme)'"
            }
            if check.http.hasPath, !check.http.path.hasPrefix("/") {
                return "The path '\(check.http.path)' of HTTP health check must start with '/'"
            }
        case .tcp:
            if !check.hasTcp { return "Expecting 'tcp' to be set for TCP health check" }
        case .unknown:
            return "'UNKNOWN' is not a valid health check type"
        }
        if check.hasDelaySeconds, check.delaySeconds < 0 { return "Expecting 'delay_seconds' to be non-negative" }
        if check.hasGracePeriodSeconds, check.gracePeriodSeconds < 0 {
            return "Expecting 'grace_period_seconds' to be non-negative"
        }
        if check.hasIntervalSeconds, check.intervalSeconds < 0 { return "Expecting 'interval_seconds' to be non-negative" }
        if check.hasTimeoutSeconds, check.timeoutSeconds < 0 { return "Expecting 'timeout_seconds' to be non-negative" }
        return nil
    }

    /// `validateCheckInfo`.
    static func checkProblem(_ check: Mesos_V1_CheckInfo) -> String? {
        if !check.hasType { return "CheckInfo must specify 'type'" }
        switch check.type {
        case .command:
            if !check.hasCommand { return "Expecting 'command' to be set for COMMAND check" }
            let command = check.command.command
            if !command.hasValue {
                return "Command check must contain " + (command.shell ? "'shell command'" : "'executable path'")
            }
            if let problem = Self.environmentProblem(command.environment) {
                return "Check's `CommandInfo` is invalid: " + problem
            }
        case .http:
            if !check.hasHTTP { return "Expecting 'http' to be set for HTTP check" }
            if check.http.hasPath, !check.http.path.hasPrefix("/") {
                return "The path '\(check.http.path)' of HTTP check must start with '/'"
            }
        case .tcp:
            if !check.hasTcp { return "Expecting 'tcp' to be set for TCP check" }
        case .unknown:
            return "'UNKNOWN' is not a valid check type"
        }
        if check.hasDelaySeconds, check.delaySeconds < 0 { return "Expecting 'delay_seconds' to be non-negative" }
        if check.hasIntervalSeconds, check.intervalSeconds < 0 { return "Expecting 'interval_seconds' to be non-negative" }
        if check.hasTimeoutSeconds, check.timeoutSeconds < 0 { return "Expecting 'timeout_seconds' to be non-negative" }
        return nil
    }

    // MARK: Mesos's ways of writing values

    /// `Resources::mem()` or `disk()`: the named scalar in whole megabytes, nil when there is none.
    static func megabytes(_ resources: Resources, _ name: String) -> UInt64? {
        guard resources.names.contains(name) else { return nil }
        let value = resources.scalar(named: name).doubleValue
        return value >= 0 ? UInt64(value) : 0
    }

    /// `Bytes(value, Bytes::MEGABYTES)`.
    private static func bytes(megabytes value: Double) -> UInt64 {
        let bytes = value * 1_048_576
        guard bytes.isFinite, bytes > 0 else { return 0 }
        return bytes >= 1.8e19 ? .max : UInt64(bytes)
    }

    /// stout's `operator<<(Bytes)`: the largest unit that loses nothing.
    static func stringifyBytes(_ bytes: UInt64) -> String {
        if bytes == 0 { return "0B" }
        let units: [(String, UInt64)] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)]
        for (name, size) in units where bytes % size == 0 { return "\(bytes / size)\(name)" }
        return "\(bytes)B"
    }

    /// `stringify(Resource)`, for a resource that may be invalid (so not one `Resources` holds).
    static func stringify(_ resource: Resource) -> String {
        let held = Resources(resource)
        if !held.isEmpty { return held.description }
        var text = resource.name + ":"
        switch resource.type {
        case .scalar: text += Self.stringify(resource.scalar.value)
        case .ranges: text += "[" + resource.ranges.range.map { "\($0.begin)-\($0.end)" }.joined(separator: ", ") + "]"
        case .set: text += "{" + resource.set.item.joined(separator: ", ") + "}"
        case .text: break
        }
        return text
    }
}
