public import Mesos

/// Where one task goes, with exactly what it takes.
public struct Placement: Sendable, Hashable {
    public var taskID: TaskID
    public var agentID: AgentID
    public var hostname: String
    /// The offers the ACCEPT for this agent uses (all the agent's offers for the task's allocation role).
    public var offerIDs: [OfferID]
    /// The resources the task launches with, carved from the offers: concrete port numbers included.
    public var resources: [Resource]
    /// The port chosen for each named port.
    public var namedPorts: [String: UInt64]
}

/// One ACCEPT call: every offer of an agent (for one allocation role) and the operations to run on them.
public struct AcceptPlan: Sendable, Hashable {
    public var agentID: AgentID
    public var offerIDs: [OfferID]
    /// `LAUNCH` (plain tasks) and `LAUNCH_GROUP` (task groups), ready for `Call.Accept.operations`.
    public var operations: [Offer.Operation]
}

/// Offers nothing was placed on, to decline with a filter.
public struct DeclinePlan: Sendable, Hashable {
    public var offerIDs: [OfferID]
    /// A suggested `Filters.refuse_seconds`: short while tasks of that role still wait (the offer may fit after
    /// other tasks finish), long when nothing is pending for it.
    public var refuseSeconds: Double
}

/// A task that could not be placed, and why, in words a CLI can print.
public struct Unplaced: Sendable, Hashable, CustomStringConvertible {
    public var taskID: TaskID
    /// One line per cause, most common first, e.g. "insufficient cpus on 998 of 1000 agents (needs 4, most free 3.5)".
    public var reasons: [String]
    public var description: String { "\(self.taskID): " + self.reasons.joined(separator: "; ") }
}

/// The outcome of one matching round.
public struct MatchResult: Sendable {
    /// Placed tasks, in the order they were placed.
    public var placements: [Placement]
    /// One ACCEPT per agent and allocation role that received tasks, in agent order.
    public var accepts: [AcceptPlan]
    /// The offers to decline.
    public var declines: [DeclinePlan]
    /// The tasks left pending, with reasons.
    public var unplaced: [Unplaced]
}
