public import Mesos
public import MesosOffers

/// Tasks launched together on one agent with one `LAUNCH_GROUP` under Mesos's default executor (a pod).
///
/// The members start together and share the executor's sandbox (each has its own under `tasks/<task ID>`). As the
/// default executor does, the failure of one member kills the others, and killing one kills them all.
///
/// A group is retried as a whole by its own ``retry`` policy (each member's ``TaskSpec/retry`` is ignored): when every
/// member of an attempt has ended and the member that brought the group down (``TaskGroupOutcome/cause``) ended in
/// one of ``TaskSpec/RetryPolicy/retryOn``, every member launches again after the backoff, with new task IDs and a new
/// executor, and the members' handles carry on with the new attempt. A group that was killed is not retried.
///
/// ```swift
/// var group = TaskGroupSpec(name: "pod", tasks: [
///     TaskSpec(name: "server", shell: "./serve"),
///     TaskSpec(name: "sidecar", shell: "./ship-logs"),
/// ])
/// group.executorResources = TaskSpec.Resources(cpus: 0.1, mem: 32, disk: 32)
/// group.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .seconds(2))
/// let outcome = try await launcher.submitGroup(group).result()
/// print(outcome.succeeded, outcome.cause?.name ?? "-", outcome.exitCode ?? -1)
/// ```
public struct TaskGroupSpec: Sendable {
    /// The group's name: it prefixes the executor ID and is the default placement group.
    public var name: String
    /// The members, each with a command (``TaskSpec/command``; a custom ``TaskSpec/executor`` is not allowed in a
    /// group). Their ``TaskSpec/resources``, environment, artifacts, container, health check and kill policy apply.
    public var tasks: [TaskSpec]
    /// The role whose resources the group uses; nil: the framework's (first) role.
    public var role: String?
    /// Placement constraints for the group's agent.
    public var constraints: [PlacementConstraint] = []
    /// The application the group belongs to, for UNIQUE/GROUP_BY/MAX_PER constraints; defaults to ``name``.
    public var group: String?
    /// What the default executor itself takes, on top of its tasks. mesos-execute gives it `cpus:0.1;mem:32;disk:32`.
    public var executorResources = TaskSpec.Resources(cpus: 0.1, mem: 32, disk: 32)
    /// The executor's container, for the networks the group joins (`type: MESOS` with `network_infos`).
    public var executorContainer: ContainerInfo?
    /// When the group is tried again, as a whole (see above). Its outcome's ``TaskOutcome/attempts`` counts the group's
    /// attempts.
    public var retry = TaskSpec.RetryPolicy.never

    public init(name: String, tasks: [TaskSpec]) {
        self.name = name
        self.tasks = tasks
    }
}

extension TaskSpec {
    /// A spec from a `TaskInfo` in the Mesos v1 form (as `mesos-execute --task` takes it): name, command (shell or
    /// argv), its environment and URIs, resources (cpus, mem, disk, gpus, and as many ports as the `ports` ranges
    /// hold), container, health check, kill policy, labels and data. A non-empty task ID is kept as
    /// ``TaskSpec/taskID`` (as mesos-execute keeps it); the agent ID is not: the offer decides the agent. The whole
    /// `TaskInfo` is kept as ``TaskSpec/taskInfo``, so the fields a spec has no property for launch as given.
    public init(taskInfo info: TaskInfo) {
        self.init(name: info.name.isEmpty ? "task" : info.name, shell: info.command.value)
        self.taskInfo = info
        if info.hasTaskID, !info.taskID.value.isEmpty { self.taskID = info.taskID }
        if info.hasCommand, info.command.hasShell, !info.command.shell {
            self.command = .argv(info.command.arguments.isEmpty ? [info.command.value] : info.command.arguments)
        }
        if info.hasExecutor {
            self.command = nil
            self.executor = info.executor
        }
        for variable in info.command.environment.variables where variable.type != .secret {
            self.environment[variable.name] = variable.value
        }
        self.artifacts = info.command.uris.map { .uri($0) }
        let resources = Mesos.Resources(info.resources)
        self.resources = Resources(
            cpus: resources.cpus.doubleValue, mem: resources.mem.doubleValue, disk: resources.disk.doubleValue,
            gpus: resources.gpus.doubleValue, ports: Int(resources.ports.valueCount)
        )
        if info.hasContainer { self.container = info.container }
        if info.hasHealthCheck { self.healthCheck = info.healthCheck }
        if info.hasKillPolicy, info.killPolicy.hasGracePeriod {
            self.killGracePeriod = .nanoseconds(info.killPolicy.gracePeriod.nanoseconds)
        }
        for label in info.labels.labels { self.labels[label.key] = label.value }
        if info.hasData { self.data = Array(info.data) }
    }
}
