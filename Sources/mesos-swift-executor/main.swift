// A ready Mesos executor in Swift: runs each task's command as a child process in the sandbox and reports its
// states with the texts of Mesos's command executor. Give it as an ExecutorInfo's command (`shell: false`, value: the
// path of this binary); the agent starts it with the environment ExecutorEnvironment reads.
//
// What a task runs: its `command` when it has one (tasks of a task group), else its `data` as a shell command line
// (a task for a custom executor cannot carry a CommandInfo: the master refuses tasks with both).
//
// Framework messages: bytes the scheduler sends are appended to `messages.in` in the sandbox; every line a task
// appends to `messages.out` there is sent to the scheduler. Tasks find both paths in MESOS_EXECUTOR_MESSAGES_IN/OUT.
//
// Exit status: 0 after SHUTDOWN (or once the agent is gone without checkpointing), 1 when the environment is not an
// executor's, 2 when the agent refuses it or does not come back within the recovery timeout.
import Foundation
import Logging
import Mesos
import MesosExecutor
import MesosProcess
import Synchronization

@main
struct MesosSwiftExecutor {
    static func main() async {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let environment: ExecutorEnvironment
        do {
            environment = try ExecutorEnvironment.fromProcess()
        } catch {
            FileHandle.standardError.write(Data("mesos-swift-executor: \(error)\n".utf8))
            exit(1)
        }
        let client = ExecutorClient(environment: environment, logger: Logger(label: "mesos.executor"))
        let runner = TaskRunner(client: client)
        let relay = Task { await runner.relayMessages() }
        var code: Int32 = 0
        do {
            for try await event in client.events() {
                switch event {
                case .subscribed(let subscribed):
                    let killing = subscribed.frameworkInfo.capabilities.contains { $0.type == .taskKillingState }
                    runner.sendsKillingState = killing
                case .launch(let task):
                    runner.launch(task)
                case .launchGroup(let group):
                    for task in group.tasks { runner.launch(task) }
                case .kill(let taskID, let policy):
                    Task { await runner.kill(taskID, policy: policy) }
                case .message(let data):
                    if let handle = FileHandle(forWritingAtPath: environment.sandbox + "/messages.in") ?? {
                        _ = FileManager.default.createFile(atPath: environment.sandbox + "/messages.in", contents: nil)
                        return FileHandle(forWritingAtPath: environment.sandbox + "/messages.in")
                    }() {
                        handle.seekToEndOfFile()
                        handle.write(data + Data("\n".utf8))
                        try? handle.close()
                    }
                case .shutdown:
                    // The agent destroys the executor's container once its shutdown grace period has passed. As
                    // Mesos's command executor does, the kills leave 2 s of it (the reaper's interval and a second)
                    // for the forced kills and the TASK_KILLED updates; what is left goes to the acknowledgements,
                    // which the client still reads after SHUTDOWN.
                    let deadline = ContinuousClock.now + environment.shutdownGracePeriod
                    await runner.killAll(grace: max(.zero, environment.shutdownGracePeriod - .seconds(2)))
                    while client.pendingUpdates > 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
                case .error(let message):
                    FileHandle.standardError.write(Data("mesos-swift-executor: the agent says: \(message)\n".utf8))
                case .acknowledged, .heartbeat, .disconnected:
                    break
                }
            }
        } catch let error as ExecutorError {
            FileHandle.standardError.write(Data("mesos-swift-executor: \(error)\n".utf8))
            code = error.code == .agentLost ? 0 : 2
        } catch {
            FileHandle.standardError.write(Data("mesos-swift-executor: \(error)\n".utf8))
            code = 2
        }
        relay.cancel()
        exit(code)
    }
}
