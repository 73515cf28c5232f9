import FoundationEssentials
import Mesos
import MesosCodecs
import MesosOffers
import SwiftProtobuf

/// A ``TaskSpec`` as the launcher keeps it in its state directory, so that a restarted process can launch a recovered
/// task again by its retry policy.
///
/// Everything a new attempt is built from is here, in the spec's own terms: local artifacts as their paths and options
/// (a retry registers them with the new process's artifact server; the old one's URLs are dead), remote URIs as they
/// were given. Protobuf fields (executor, container, health check, URIs) are Mesos JSON (``MessageCodec``), exact and
/// versioned by the schema.
struct SavedTaskSpec: Codable, Equatable {
    var name: String
    var taskID: String?
    var shell: String?
    var argv: [String]?
    var executor: String?
    var resources: SavedResources
    var role: String?
    var constraints: [SavedConstraint]
    var environment: [String: String]
    var labels: [String: String]
    var container: String?
    var healthCheck: String?
    var killGracePeriod: Duration?
    var retry: SavedRetryPolicy
    var artifacts: [SavedArtifact]
    var data: Data?
    var group: String?
    /// ``TaskSpec/taskInfo``, in Mesos JSON.
    var taskInfo: String?

    struct SavedResources: Codable, Equatable {
        var cpus: Double
        var mem: Double
        var disk: Double
        var gpus: Double
        var ports: Int

        init(_ resources: TaskSpec.Resources) {
            (self.cpus, self.mem, self.disk) = (resources.cpus, resources.mem, resources.disk)
            (self.gpus, self.ports) = (resources.gpus, resources.ports)
        }

        /// - Throws: ``LauncherError`` for an amount no spec could have asked for (negative, not finite, more ports
        ///   than there are).
        func resources(of owner: String) throws -> TaskSpec.Resources {
            for (name, amount) in [("cpus", self.cpus), ("mem", self.mem), ("disk", self.disk), ("gpus", self.gpus)]
            where !amount.isFinite || amount < 0 || amount > Self.largest {
                throw LauncherError("the saved \(name) of \(owner) is out of range: \(amount)")
            }
            guard (0...65_536).contains(self.ports) else {
                throw LauncherError("the saved port count of \(owner) is out of range: \(self.ports)")
            }
            return TaskSpec.Resources(cpus: self.cpus, mem: self.mem, disk: self.disk, gpus: self.gpus, ports: self.ports)
        }

        /// More than any agent has (in the resource's unit); past it a saved amount is garbage.
        static let largest = 1e15
    }

    /// Marathon notation, as ``PlacementConstraint/init(parsing:soft:)`` reads it, and whether it is soft.
    struct SavedConstraint: Codable, Equatable {
        var text: String
        var soft: Bool

        init(_ constraint: PlacementConstraint) {
            var hard = constraint
            hard.isSoft = false
            self.text = hard.description
            self.soft = constraint.isSoft
        }

        func constraint(of owner: String) throws -> PlacementConstraint {
            do {
                return try PlacementConstraint(parsing: self.text, soft: self.soft)
            } catch {
                throw LauncherError("a saved constraint of \(owner) does not parse", underlying: error)
            }
        }
    }

    struct SavedRetryPolicy: Codable, Equatable {
        var attempts: Int
        var backoff: Duration
        /// `TaskState` numbers.
        var retryOn: [Int]

        init(_ policy: TaskSpec.RetryPolicy) {
            self.attempts = policy.attempts
            self.backoff = policy.backoff
            self.retryOn = policy.retryOn.map(\.rawValue).sorted()
        }

        /// - Throws: ``LauncherError`` for a backoff that is negative or too long to double (the launcher doubles it
        ///   for each attempt).
        func policy(of owner: String) throws -> TaskSpec.RetryPolicy {
            try SavedTaskSpec.checkDuration(self.backoff, "retry backoff", of: owner)
            return TaskSpec.RetryPolicy(
                attempts: self.attempts, backoff: self.backoff, retryOn: Set(self.retryOn.compactMap { TaskState(rawValue: $0) })
            )
        }
    }

    struct SavedArtifact: Codable, Equatable {
        enum Kind: String, Codable { case file, directory, uri }
        var kind: Kind
        var path: String?
        var executable: Bool?
        var extract: Bool?
        var cache: Bool?
        var outputFile: String?
        /// A remote URI (`CommandInfo.URI` as JSON).
        var uri: String?
    }

    /// - Throws: swift-protobuf's error when a protobuf field cannot be written as JSON.
    init(_ spec: TaskSpec) throws {
        self.name = spec.name
        self.taskID = spec.taskID?.value
        switch spec.command {
        case .shell(let line): self.shell = line
        case .argv(let argv): self.argv = argv
        case nil: break
        }
        self.executor = try spec.executor.map(Self.json)
        self.resources = SavedResources(spec.resources)
        self.role = spec.role
        self.constraints = spec.constraints.map(SavedConstraint.init)
        self.environment = spec.environment
        self.labels = spec.labels
        self.container = try spec.container.map(Self.json)
        self.healthCheck = try spec.healthCheck.map(Self.json)
        self.killGracePeriod = spec.killGracePeriod
        self.retry = SavedRetryPolicy(spec.retry)
        self.artifacts = try spec.artifacts.map { artifact in
            switch artifact {
            case .file(let path, let executable, let extract, let cache, let outputFile):
                SavedArtifact(kind: .file, path: path, executable: executable, extract: extract, cache: cache, outputFile: outputFile)
            case .directory(let path, let extract, let cache):
                SavedArtifact(kind: .directory, path: path, extract: extract, cache: cache)
            case .uri(let uri):
                SavedArtifact(kind: .uri, uri: try Self.json(uri))
            }
        }
        self.data = spec.data.map { Data($0) }
        self.group = spec.group
        self.taskInfo = try spec.taskInfo.map(Self.json)
    }

    /// The spec again.
    ///
    /// - Throws: ``LauncherError`` naming the field that no longer reads (a protobuf field, a constraint, an artifact).
    func spec() throws -> TaskSpec {
        var spec: TaskSpec
        if let shell = self.shell {
            spec = TaskSpec(name: self.name, shell: shell)
        } else if let argv = self.argv {
            spec = TaskSpec(name: self.name, argv: argv)
        } else if let executor = self.executor {
            spec = TaskSpec(name: self.name, executor: try Self.message(ExecutorInfo.self, executor, field: "executor"))
        } else {
            throw LauncherError("the saved task \(self.name) has neither a command nor an executor")
        }
        if let executor = self.executor, spec.executor == nil {
            spec.executor = try Self.message(ExecutorInfo.self, executor, field: "executor")
        }
        spec.taskID = self.taskID.map { TaskID($0) }
        spec.taskInfo = try self.taskInfo.map { try Self.message(TaskInfo.self, $0, field: "task info") }
        spec.resources = try self.resources.resources(of: self.name)
        spec.role = self.role
        spec.constraints = try self.constraints.map { try $0.constraint(of: self.name) }
        spec.environment = self.environment
        spec.labels = self.labels
        spec.container = try self.container.map { try Self.message(ContainerInfo.self, $0, field: "container") }
        spec.healthCheck = try self.healthCheck.map { try Self.message(Mesos_V1_HealthCheck.self, $0, field: "health check") }
        if let grace = self.killGracePeriod { try Self.checkDuration(grace, "kill grace period", of: self.name) }
        spec.killGracePeriod = self.killGracePeriod
        spec.retry = try self.retry.policy(of: self.name)
        spec.artifacts = try self.artifacts.map { saved in
            switch saved.kind {
            case .file:
                guard let path = saved.path else { throw LauncherError("a saved file artifact of \(self.name) has no path") }
                return .file(
                    path, executable: saved.executable ?? false, extract: saved.extract ?? false, cache: saved.cache ?? true,
                    outputFile: saved.outputFile
                )
            case .directory:
                guard let path = saved.path else { throw LauncherError("a saved directory artifact of \(self.name) has no path") }
                return .directory(path, extract: saved.extract ?? true, cache: saved.cache ?? true)
            case .uri:
                guard let uri = saved.uri else { throw LauncherError("a saved URI artifact of \(self.name) has no URI") }
                return .uri(try Self.message(CommandInfo.URI.self, uri, field: "URI"))
            }
        }
        spec.data = self.data.map { Array($0) }
        spec.group = self.group
        return spec
    }

    /// The longest backoff or grace period a saved spec may hold: far past any real one, and far from the limits of
    /// the arithmetic done on them (a backoff doubles up to 16 times; a grace period becomes Int64 nanoseconds).
    static let longest = Duration.seconds(1_000_000_000)

    static func checkDuration(_ duration: Duration, _ field: String, of owner: String) throws {
        guard duration >= .zero, duration <= Self.longest else {
            throw LauncherError("the saved \(field) of \(owner) is out of range: \(duration)")
        }
    }

    /// Protobuf fields are kept as Mesos JSON, by the codec the rest of the project reads and writes it with.
    static let codec = MessageCodec(.json)

    static func json(_ message: some SwiftProtobuf.Message) throws -> String {
        String(decoding: try Self.codec.encode(message), as: UTF8.self)
    }

    static func message<M: SwiftProtobuf.Message>(_ type: M.Type, _ json: String, field: String) throws -> M {
        do {
            return try Self.codec.decode(M.self, from: Array(json.utf8))
        } catch {
            throw LauncherError("a saved task's \(field) does not read as \(M.protoMessageName)", underlying: error)
        }
    }
}

/// A ``TaskGroupSpec`` as the launcher keeps it in its state directory (see ``SavedTaskSpec``).
struct SavedTaskGroupSpec: Codable, Equatable {
    var name: String
    var tasks: [SavedTaskSpec]
    var role: String?
    var constraints: [SavedTaskSpec.SavedConstraint]
    var group: String?
    var executorResources: SavedTaskSpec.SavedResources
    var executorContainer: String?
    var retry: SavedTaskSpec.SavedRetryPolicy

    /// - Throws: swift-protobuf's error when a protobuf field cannot be written as JSON.
    init(_ spec: TaskGroupSpec) throws {
        self.name = spec.name
        self.tasks = try spec.tasks.map(SavedTaskSpec.init)
        self.role = spec.role
        self.constraints = spec.constraints.map(SavedTaskSpec.SavedConstraint.init)
        self.group = spec.group
        self.executorResources = SavedTaskSpec.SavedResources(spec.executorResources)
        self.executorContainer = try spec.executorContainer.map(SavedTaskSpec.json)
        self.retry = SavedTaskSpec.SavedRetryPolicy(spec.retry)
    }

    /// - Throws: ``LauncherError`` naming the field that no longer reads.
    func spec() throws -> TaskGroupSpec {
        var spec = TaskGroupSpec(name: self.name, tasks: try self.tasks.map { try $0.spec() })
        spec.role = self.role
        spec.constraints = try self.constraints.map { try $0.constraint(of: self.name) }
        spec.group = self.group
        spec.executorResources = try self.executorResources.resources(of: self.name)
        spec.executorContainer = try self.executorContainer.map {
            try SavedTaskSpec.message(ContainerInfo.self, $0, field: "executor container")
        }
        spec.retry = try self.retry.policy(of: self.name)
        return spec
    }
}

/// A saved value that may not read back (a file from another version, or edited by hand): the error is kept in its
/// place, so one unreadable spec costs its task the retries after a restart, not the whole file.
struct Lenient<Value: Codable>: Codable {
    private let result: Result<Value, LauncherError>

    init(_ value: Value) { self.result = .success(value) }

    init(from decoder: any Swift.Decoder) {
        do {
            self.result = .success(try Value(from: decoder))
        } catch {
            self.result = .failure(LauncherError("the saved spec does not read", underlying: error))
        }
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self.result {
        case .success(let value): try container.encode(value)
        case .failure: try container.encodeNil()
        }
    }

    /// The value, or the reason it did not read.
    func get() throws(LauncherError) -> Value { try self.result.get() }
}
