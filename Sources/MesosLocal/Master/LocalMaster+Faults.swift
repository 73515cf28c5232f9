import NIOHTTP1
import Synchronization
import Logging
import FoundationEssentials
public import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore

// Fault injection, for tests of clients: each makes the master do what a real one does when things go wrong.
extension LocalMaster {
    /// Drops the subscription of `frameworkID` as a dying master would: when `midRecord`, the connection closes
    /// after half of a record (a HEARTBEAT's length line and part of its body). The framework is disconnected and
    /// keeps its tasks for its `failover_timeout`.
    public func dropSubscription(of frameworkID: FrameworkID, midRecord: Bool = true) {
        let writer = self.state.withLock { state in state.frameworks[frameworkID.value]?.subscription?.writer }
        guard let writer else { return }
        if midRecord {
            var partial = ByteBuffer()
            partial.writeString("20\n{\"type\":\"HEART")
            writer.abort(after: partial)
        } else {
            writer.abort()
        }
    }

    /// While stalled, no HEARTBEAT events go out (the connection stays open and silent).
    public func stallHeartbeats(_ stalled: Bool) {
        self.state.withLock { $0.heartbeatsStalled = stalled }
    }

    /// Answers 503 "Master has not finished recovery" to scheduler calls for `duration`, as a recovering master.
    public func beUnavailable(for duration: Duration) {
        self.state.withLock { $0.unavailableUntil = .now + duration }
    }

    /// The offers of the next ACCEPT are gone by the time it arrives, as when they were rescinded while it was on its
    /// way: its tasks get TASK_DROPPED (TASK_LOST for a framework that is not partition-aware) with
    /// REASON_INVALID_OFFERS, and its offers' resources are offered again.
    public func loseOffersOfNextAccept() {
        self.state.withLock { $0.loseNextAcceptOffers = true }
    }

    /// Answers 503 "No leader elected" to every request but `/health` and `/version` for `duration`, as a master does
    /// while no master leads (the leading one is gone and the election has not ended): what it answers before it
    /// would redirect.
    public func beLeaderless(for duration: Duration) {
        self.state.withLock { $0.leaderlessUntil = .now + duration }
    }

    /// Makes this master a standby that redirects every request to `leader` (`host:port`) with 307 and a
    /// scheme-relative `Location`, as a non-leading Mesos master does; nil makes it the leader again.
    public func redirect(to leader: String?) {
        var effects = MasterEffects()
        self.state.withLock { state in
            state.leader = leader
            guard leader != nil else { return }
            // A master that lost leadership drops its schedulers' streams.
            for id in state.frameworks.keys {
                if let writer = state.frameworks[id]?.subscription?.writer { effects.closes.append(writer) }
            }
        }
        self.perform(effects)
    }

    /// Removes an agent as a partition or an operator would: its tasks are reported lost (or unreachable/gone
    /// to partition-aware frameworks), its offers rescinded, frameworks told with a FAILURE event; its processes
    /// are stopped.
    public func removeAgent(_ agentID: AgentID, reason: AgentRemoval) async {
        var effects = MasterEffects()
        let handle = self.state.withLock { state -> (any LocalAgentHandle)? in
            guard let agent = state.agents.removeValue(forKey: agentID.value) else { return nil }
            let removedAt = Date().timeIntervalSince1970
            state.removedAgents[agentID.value] = reason
            state.removedAt[agentID.value] = removedAt
            for (offerID, offer) in state.offers where offer.agentID == agentID.value {
                state.offers[offerID] = nil
                effects.send(.rescind(offer.offer.id), to: state.frameworks[offer.frameworkID]?.subscription)
            }
            for id in state.frameworks.keys {
                guard var framework = state.frameworks[id] else { continue }
                let aware = framework.partitionAware
                for task in framework.tasks.values where task.agentID == agentID.value {
                    let taskState: TaskState
                    let why: TaskStatus.Reason
                    let message: String
                    switch reason {
                    case .unreachable:
                        taskState = aware ? .taskUnreachable : .taskLost
                        why = .agentRemoved
                        message = "Agent \(agent.info.hostname) is unreachable"
                    case .gone:
                        taskState = aware ? .taskGoneByOperator : .taskLost
                        why = aware ? .agentRemovedByOperator : .agentRemoved
                        message = "Agent \(agent.info.hostname) has been marked gone"
                    }
                    var status = TaskStatus.fromMaster(
                        taskID: task.info.taskID, state: taskState, message: message, reason: why,
                        agentID: agentID, executorID: task.executorID.map { ExecutorID($0) }
                    )
                    if reason == .unreachable { status.unreachableTime.nanoseconds = Int64(removedAt * 1e9) }
                    framework.tasks[task.info.taskID.value] = nil
                    // `Master::updateTask` and `removeTask(task, unreachable)`: the task keeps its record, in the
                    // unreachable tasks unless a partition-aware framework hears it is gone (then it is completed).
                    // A task already terminal (its update not acknowledged) keeps its state.
                    var removed = task
                    if !task.terminal {
                        removed.state = taskState
                        var recorded = status
                        recorded.clearData()
                        removed.statuses.append(recorded)
                    }
                    if reason == .gone && aware {
                        framework.completedTasks.append(removed)
                        if framework.completedTasks.count > 1000 { framework.completedTasks.removeFirst() }
                    } else {
                        framework.unreachableTasks.append(removed)
                        if framework.unreachableTasks.count > 1000 { framework.unreachableTasks.removeFirst() }
                    }
                    effects.send(.update(status), to: framework.subscription)
                }
                framework.executors = framework.executors.filter { $0.value.agentID != agentID.value }
                state.frameworks[id] = framework
                var failure = SchedulerEvent()
                failure.type = .failure
                failure.failure.agentID = agentID
                effects.send(failure, to: framework.subscription)
            }
            self.persistRegistry(state)
            return agent.handle
        }
        self.perform(effects)
        await handle?.stop()
    }
}
