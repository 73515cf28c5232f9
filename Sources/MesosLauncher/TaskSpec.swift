public import Mesos
public import MesosOffers

/// A task to run: what to run, with what, where, and what to do when it fails.
///
/// ```swift
/// var spec = TaskSpec(name: "report", shell: "./run.sh > report.txt")
/// spec.resources = TaskSpec.Resources(cpus: 0.5, mem: 256)
/// spec.artifacts = [.directory("build/app", extract: true)]
/// let outcome = try await launcher.submit(spec).result()
/// ```
public struct TaskSpec: Sendable {
    /// What the task runs.
    public enum Command: Sendable, Hashable {
        /// `/bin/sh -c <command>` on the agent.
        case shell(String)
        /// A program and its arguments, without a shell (`argv[0]` is the program).
        case argv([String])
    }

    /// How much of the agent the task takes.
    public struct Resources: Sendable, Hashable {
        public var cpus: Double
        /// Memory in MB.
        public var mem: Double
        /// Disk in MB.
        public var disk: Double
        public var gpus: Double
        /// How many ports (any numbers); each appears in the task's `PORT0`, `PORT1`… environment variables.
        public var ports: Int

        public init(cpus: Double = 0.1, mem: Double = 32, disk: Double = 0, gpus: Double = 0, ports: Int = 0) {
            self.cpus = cpus
            self.mem = mem
            self.disk = disk
            self.gpus = gpus
            self.ports = ports
        }
    }

    /// A file the task needs in its sandbox.
    public enum Artifact: Sendable, Hashable {
        /// A local file, served by the launcher's artifact server.
        case file(String, executable: Bool = false, extract: Bool = false, cache: Bool = true, outputFile: String? = nil)
        /// A local directory, packed once into a deterministic `.tar.gz` and served; extracted in the sandbox by
        /// default, so its files appear under the directory's name.
        case directory(String, extract: Bool = true, cache: Bool = true)
        /// A URI the fetcher downloads itself (http, https, file…).
        case uri(CommandInfo.URI)
    }

    /// When a failed task is tried again.
    public struct RetryPolicy: Sendable, Hashable {
        /// Attempts in all, the first included (1: never retry).
        public var attempts: Int
        /// The wait before the second attempt; doubled for each later one.
        public var backoff: Duration
        /// The terminal states that count as failures worth retrying.
        public var retryOn: Set<TaskState>

        public init(
            attempts: Int = 1,
            backoff: Duration = .seconds(1),
            retryOn: Set<TaskState> = [.taskFailed, .taskLost, .taskDropped, .taskGone, .taskUnreachable, .taskGoneByOperator]
        ) {
            self.attempts = max(1, attempts)
            self.backoff = backoff
            self.retryOn = retryOn
        }

        public static let never = RetryPolicy()
    }

    public var name: String
    /// The task ID of the first attempt (a retry runs as `<ID>.attempt-<n>`); nil: the launcher makes one from the
    /// name. It must be unique among the framework's tasks: the master refuses a duplicate.
    public var taskID: TaskID?
    /// The command; nil when ``executor`` runs the task.
    public var command: Command?
    /// A custom executor instead of the agent's command executor (its `command` is how the agent starts it).
    public var executor: ExecutorInfo?
    public var resources = Resources()
    /// The role whose resources the task uses; nil: the framework's (first) role.
    public var role: String?
    /// Placement constraints, Marathon-style (`hostname:UNIQUE`, `rack:GROUP_BY`, `zone:CLUSTER:a`).
    public var constraints: [PlacementConstraint] = []
    public var environment: [String: String] = [:]
    public var labels: [String: String] = [:]
    /// A container (a Mesos containerizer image, or Docker, with volumes).
    public var container: ContainerInfo?
    public var healthCheck: Mesos_V1_HealthCheck?
    /// SIGTERM, then SIGKILL after this long (Mesos's default: 3 s).
    public var killGracePeriod: Duration?
    public var retry = RetryPolicy.never
    public var artifacts: [Artifact] = []
    /// Bytes for the executor (`TaskInfo.data`): how a custom executor learns what to run (mesos-swift-executor
    /// runs them as a shell command line).
    public var data: [UInt8]?
    /// The application the task belongs to, for UNIQUE/GROUP_BY/MAX_PER constraints; defaults to ``name``.
    public var group: String?
    /// A `TaskInfo` the launched one starts from (``init(taskInfo:)`` keeps the one it was given): the fields this
    /// spec has no property for go out as they are there, such as `check`, `discovery`, `max_completion_time`,
    /// `limits`, and the command's `user` and secret environment variables. The spec's own properties replace the
    /// rest (name, command, environment values, URIs, executor, container, health check, kill policy, labels,
    /// data); the task ID, agent and resources come from the launch, as always.
    public var taskInfo: TaskInfo?

    /// A shell command.
    public init(name: String, shell command: String) {
        self.name = name
        self.command = .shell(command)
    }

    /// A program with arguments, no shell.
    public init(name: String, argv: [String]) {
        self.name = name
        self.command = .argv(argv)
    }

    /// A task run by a custom executor.
    public init(name: String, executor: ExecutorInfo) {
        self.name = name
        self.executor = executor
    }
}
