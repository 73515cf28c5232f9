public import Mesos

/// How the matcher chooses among the agents a task fits on.
public struct MatchingStrategy: Sendable {
    enum Kind: Sendable {
        case binPacking
        case spreading
        case fitness(@Sendable (TaskRequest, AgentView) -> Double)
    }
    let kind: Kind

    /// First-fit decreasing on the dominant resource: larger tasks first, each on the first agent (in agent ID
    /// order) it fits on. Fills agents up and leaves whole agents free.
    public static let binPacking = MatchingStrategy(kind: .binPacking)

    /// Least loaded first: each task on the agent with the largest free share of its dominant resource.
    public static let spreading = MatchingStrategy(kind: .spreading)

    /// The fitting agent with the highest score in `0...1` wins; ties go to the first agent in ID order.
    public static func fitness(_ score: @escaping @Sendable (TaskRequest, AgentView) -> Double) -> MatchingStrategy {
        MatchingStrategy(kind: .fitness(score))
    }
}

/// What a fitness function sees of an agent.
public struct AgentView: Sendable {
    public var agentID: AgentID
    public var hostname: String
    public var attributes: [Attribute]
    public var domain: DomainInfo?
    /// Free resources for the task's role, after what this round already placed.
    public var freeCPUs: ScalarQuantity
    public var freeMem: ScalarQuantity
    public var freeDisk: ScalarQuantity
    public var freePorts: Int
    /// What the agent offered for the task's role at the start of the round.
    public var offeredCPUs: ScalarQuantity
    public var offeredMem: ScalarQuantity
    /// Tasks this round placed on the agent so far.
    public var placedTasks: Int
}

/// How a matching round behaves.
public struct MatchingConfiguration: Sendable {
    public var strategy: MatchingStrategy = .binPacking
    /// Stop looking once an agent scores at least this (`0...1`) for the fitness strategy or for tasks with
    /// constraints, instead of scanning every agent: "good enough" for large clusters. Nil scans everything.
    public var goodEnough: Double?
    /// `refuse_seconds` for declined offers whose role still has tasks waiting.
    public var retryRefuseSeconds: Double = 5
    /// `refuse_seconds` for declined offers nothing is waiting for.
    public var idleRefuseSeconds: Double = 120

    public init(strategy: MatchingStrategy = .binPacking) {
        self.strategy = strategy
    }
}
