public import Mesos

/// What one pending task needs: the input of ``OfferMatcher``.
public struct TaskRequest: Sendable {
    /// The task's ID, unique among the tasks of a matching round.
    public var taskID: TaskID
    /// The role whose resources the task may use: resources allocated to this role (multi-role frameworks), and
    /// either unreserved or reserved for this role or one of its ancestors (`a` for `a/b`).
    public var role: String
    /// The resources it needs.
    public var resources: ResourceRequest
    /// Placement rules (hard) and preferences (soft).
    public var constraints: [PlacementConstraint]
    /// Higher goes first. Within a priority, tasks keep their submission order (bin-packing sorts by size within it).
    public var priority: Int
    /// The application or service the task belongs to: what UNIQUE, GROUP_BY, MAX_PER and CLUSTER count.
    public var group: String
    /// Tasks sharing a gang are placed together in one round, or not at all (possibly on different agents).
    public var gang: String?
    /// Tasks sharing a task group go to one agent in one `LAUNCH_GROUP` with ``executor``.
    public var taskGroup: String?
    /// For a task group: the executor that runs it (the default executor is `type: DEFAULT`). Its resources are
    /// counted once per group. The first member that sets it decides.
    public var executor: ExecutorInfo?
    /// The task as it will be launched: name, command, container, health check, kill policy, labels...
    /// The matcher sets `task_id`, `agent_id`, `resources` and, for named ports, `discovery.ports`.
    public var template: TaskInfo

    public init(
        taskID: TaskID,
        role: String = "*",
        resources: ResourceRequest,
        constraints: [PlacementConstraint] = [],
        priority: Int = 0,
        group: String = "",
        gang: String? = nil,
        template: TaskInfo = TaskInfo()
    ) {
        self.taskID = taskID
        self.role = role
        self.resources = resources
        self.constraints = constraints
        self.priority = priority
        self.group = group
        self.gang = gang
        self.template = template
    }
}

/// The resources a task needs, by quantity: the matcher picks which offered resources (and which port numbers)
/// satisfy them.
public struct ResourceRequest: Sendable, Hashable {
    public var cpus: ScalarQuantity
    /// Memory in MB.
    public var mem: ScalarQuantity
    /// Disk in MB.
    public var disk: ScalarQuantity
    public var gpus: ScalarQuantity
    /// Other scalar resources by name.
    public var scalars: [String: ScalarQuantity]
    /// How many ports, any numbers.
    public var ports: Int
    /// Ports the task names (`http`, `admin`): one each, reported in the placement and in `discovery.ports`.
    public var namedPorts: [String]

    public init(
        cpus: ScalarQuantity = 0,
        mem: ScalarQuantity = 0,
        disk: ScalarQuantity = 0,
        gpus: ScalarQuantity = 0,
        scalars: [String: ScalarQuantity] = [:],
        ports: Int = 0,
        namedPorts: [String] = []
    ) {
        self.cpus = cpus
        self.mem = mem
        self.disk = disk
        self.gpus = gpus
        self.scalars = scalars
        self.ports = ports
        self.namedPorts = namedPorts
    }

    /// All the ports asked for, named or not.
    public var portCount: Int { self.ports + self.namedPorts.count }

    static func + (lhs: ResourceRequest, rhs: ResourceRequest) -> ResourceRequest {
        var sum = lhs
        sum.cpus += rhs.cpus
        sum.mem += rhs.mem
        sum.disk += rhs.disk
        sum.gpus += rhs.gpus
        sum.scalars.merge(rhs.scalars, uniquingKeysWith: +)
        sum.ports += rhs.ports
        sum.namedPorts += rhs.namedPorts
        return sum
    }
}

/// A task already running, so constraints (UNIQUE, MAX_PER, GROUP_BY, CLUSTER) count it.
public struct RunningTask: Sendable {
    public var taskID: TaskID
    /// The group it counts for (see ``TaskRequest/group``).
    public var group: String
    /// The agent it runs on: hostname, attributes and domain are what constraints look at.
    public var agent: AgentInfo

    public init(taskID: TaskID, group: String, agent: AgentInfo) {
        self.taskID = taskID
        self.group = group
        self.agent = agent
    }
}
