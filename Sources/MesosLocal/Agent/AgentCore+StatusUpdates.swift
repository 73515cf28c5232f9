import Dispatch
import FoundationEssentials
import Logging
import Mesos

/// One task's status update stream, as the agent's task status update manager keeps it: updates leave one at a
/// time, the oldest unacknowledged one is sent again with a growing interval until acknowledged, and the next one
/// only leaves after that.
final class UpdateStream: @unchecked Sendable {  // confined to the agent's queue
    let frameworkID: FrameworkID
    /// In order; the first one is the one in flight.
    var pending: [TaskStatus] = []
    /// UUIDs received: a duplicate (an executor retrying) is dropped.
    var received: Set<Data> = []
    var terminalReceived = false
    var generation = 0
    var interval: Duration

    init(frameworkID: FrameworkID, interval: Duration) {
        self.frameworkID = frameworkID
        self.interval = interval
    }
}

struct StreamKey: Hashable, Sendable {
    var frameworkID: String
    var taskID: String
}

extension AgentCore {
    /// What became of an update given to ``enqueue(_:framework:executor:)``.
    enum Enqueued {
        /// Taken into its task's stream.
        case taken
        /// Its uuid was taken before (an executor sending it again): nothing more to do.
        case duplicate
        /// Dropped: one after a terminal update, or the agent or framework is going away.
        case dropped
    }

    /// Adds an update to its task's stream; sends it at once if nothing is in flight.
    @discardableResult
    func enqueue(_ status: TaskStatus, framework: FrameworkRecord, executor: ExecutorRecord?) -> Enqueued {
        guard !self.stopping, !framework.terminating else { return .dropped }
        let key = StreamKey(frameworkID: framework.id.value, taskID: status.taskID.value)
        let stream: UpdateStream
        if let existing = self.streams[key] {
            stream = existing
        } else {
            stream = UpdateStream(frameworkID: framework.id, interval: self.configuration.statusUpdateRetryInterval)
            self.streams[key] = stream
        }
        if stream.received.contains(status.uuid) {
            self.logger.debug("dropping a duplicate status update", metadata: ["mesos.task_id": "\(status.taskID.value)"])
            return .duplicate
        }
        if stream.terminalReceived {
            self.logger.warning(
                "dropping a status update after a terminal one",
                metadata: ["mesos.task_id": "\(status.taskID.value)", "mesos.state": "\(Self.stateName(status.state))"]
            )
            return .dropped
        }
        stream.received.insert(status.uuid)
        if status.state.isTerminal { stream.terminalReceived = true }
        if let executor, let task = executor.tasks[status.taskID.value] { task.state = status.state }
        stream.pending.append(status)
        if stream.pending.count == 1 { self.forward(stream) }
        return .taken
    }

    /// Sends the stream's first update to the master and arms its retry timer.
    private func forward(_ stream: UpdateStream) {
        guard let status = stream.pending.first else { return }
        stream.generation += 1
        let generation = stream.generation
        self.delegate.agent(self.agentID, didSend: status, frameworkID: stream.frameworkID)
        let interval = stream.interval
        self.after(interval) {
            guard stream.generation == generation, !self.stopping, stream.pending.first?.uuid == status.uuid else {
                return
            }
            let maximum = self.configuration.statusUpdateRetryIntervalMaximum
            stream.interval = min(stream.interval * 2, maximum)
            self.logger.debug("resending an unacknowledged status update", metadata: ["mesos.task_id": "\(status.taskID.value)"])
            self.forward(stream)
        }
    }

    /// On the master's `UpdateFrameworkMessage` for a framework this agent knows: every unacknowledged update, of
    /// every framework, goes again at once, its retry interval back to the first (the agent resumes its status update
    /// manager as a whole, as Mesos's `Slave::updateFramework` does).
    func resendPending(frameworkID: FrameworkID) {
        let known = self.frameworks[frameworkID.value] != nil || self.streams.values.contains { $0.frameworkID == frameworkID }
        guard known else { return }
        for stream in self.streams.values where !stream.pending.isEmpty {
            stream.interval = self.configuration.statusUpdateRetryInterval
            self.forward(stream)
        }
    }

    func acknowledge(frameworkID: FrameworkID, taskID: TaskID, uuid: [UInt8]) {
        let key = StreamKey(frameworkID: frameworkID.value, taskID: taskID.value)
        guard let stream = self.streams[key], let first = stream.pending.first else {
            self.logger.debug("ignoring an acknowledgement for an unknown stream", metadata: ["mesos.task_id": "\(taskID.value)"])
            return
        }
        guard first.uuid == Data(uuid) else {
            self.logger.debug("ignoring an acknowledgement of an update not in flight", metadata: ["mesos.task_id": "\(taskID.value)"])
            return
        }
        stream.pending.removeFirst()
        stream.generation += 1
        stream.interval = self.configuration.statusUpdateRetryInterval
        if first.state.isTerminal && stream.pending.isEmpty {
            self.streams[key] = nil
        } else if !stream.pending.isEmpty {
            self.forward(stream)
        }
    }
}
