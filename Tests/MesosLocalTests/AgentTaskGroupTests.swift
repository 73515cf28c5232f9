import Foundation
import Mesos
import MesosLocal
import Testing

@Suite("LocalAgent: task groups on the built-in default executor", .timeLimit(.minutes(2)))
struct AgentTaskGroupTests {
    static func defaultExecutor(_ id: String = "default-ex-1") -> ExecutorInfo {
        var executor = ExecutorInfo()
        executor.type = .default
        executor.executorID = ExecutorID(id)
        executor.frameworkID = AgentTest.frameworkID
        executor.resources = AgentTest.resources()
        return executor
    }

    @Test("each task runs in containers/<container> of the executor's sandbox, linked as tasks/<taskID>; updates carry the group's executor")
    func groupFinishes() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let tasks = [
                AgentTest.task("g1", shell: "echo one; echo $MESOS_SANDBOX > sandbox.txt"),
                AgentTest.task("g2", shell: "sleep 0.2; echo two"),
            ]
            agent.launch(framework: AgentTest.framework(), executor: Self.defaultExecutor(), tasks: tasks, asGroup: true)
            try await delegate.terminal("g1")
            try await delegate.terminal("g2")
            try await delegate.wait("the executor's exit") { !$0.terminated.isEmpty }
            for id in ["g1", "g2"] {
                let updates = delegate.updates(id)
                #expect(updates.map(\.state) == [.taskStarting, .taskRunning, .taskFinished])
                #expect(updates.last?.message == "Command exited with status 0")
                for update in updates {
                    #expect(update.executorID.value == "default-ex-1")
                    #expect(update.source == .executor)
                    #expect(update.containerStatus.containerID.hasParent)
                }
                #expect(!updates[0].containerStatus.hasExecutorPid)
                #expect(updates[1].containerStatus.hasExecutorPid)
            }
            // As recorded: each task's RUNNING carries its own process's pid, so the two differ.
            #expect(delegate.updates("g1")[1].containerStatus.executorPid != delegate.updates("g2")[1].containerStatus.executorPid)
            let parents = Set((delegate.updates("g1") + delegate.updates("g2")).map(\.containerStatus.containerID.parent.value))
            #expect(parents.count == 1)
            let sandbox = AgentTest.sandbox(agent, executor: "default-ex-1")
            #expect(AgentTest.read(sandbox + "/tasks/g1/stdout") == "one\n")
            #expect(AgentTest.read(sandbox + "/tasks/g2/stdout") == "two\n")
            let taskSandbox = AgentTest.read(sandbox + "/tasks/g1/sandbox.txt").trimmingCharacters(in: .whitespacesAndNewlines)
            let g1Container = try #require(delegate.updates("g1").first?.containerStatus.containerID.value)
            #expect(taskSandbox.hasSuffix("/runs/" + parents.first! + "/containers/" + g1Container))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: sandbox + "/tasks/g1") == taskSandbox)
            #expect(delegate.snapshot.terminated.map(\.executorID) == ["default-ex-1"])
            #expect(delegate.snapshot.terminated.first?.status == 0)
        }
    }

    @Test("a failed task takes the rest of its group down (TASK_KILLED)")
    func failureKillsGroup() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let tasks = [AgentTest.task("bad", shell: "sleep 0.2; exit 1"), AgentTest.task("good", shell: "sleep 1000")]
            agent.launch(framework: AgentTest.framework(), executor: Self.defaultExecutor(), tasks: tasks, asGroup: true)
            let failed = try await delegate.terminal("bad")
            #expect(failed.state == .taskFailed)
            #expect(failed.message == "Command exited with status 1")
            let killed = try await delegate.terminal("good")
            #expect(killed.state == .taskKilled)
            #expect(killed.message == "Command terminated with signal Terminated")
            #expect(delegate.states("good") == [.taskStarting, .taskRunning, .taskKilling, .taskKilled])
            try await delegate.wait("the executor's exit") { !$0.terminated.isEmpty }
        }
    }

    @Test("killing one task of a group kills the group")
    func killOne() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let tasks = [AgentTest.task("k1", shell: "sleep 1000"), AgentTest.task("k2", shell: "sleep 1000")]
            agent.launch(framework: AgentTest.framework(capabilities: []), executor: Self.defaultExecutor("default-ex-2"), tasks: tasks, asGroup: true)
            try await delegate.waitForState("k1", .taskRunning)
            try await delegate.waitForState("k2", .taskRunning)
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("k1"), killPolicy: nil)
            #expect(try await delegate.terminal("k1").state == .taskKilled)
            #expect(try await delegate.terminal("k2").state == .taskKilled)
            #expect(delegate.states("k1") == [.taskStarting, .taskRunning, .taskKilled])
        }
    }

    @Test("a second KILL of a task being killed is ignored by the default executor: its grace period stands")
    func secondKillIgnored() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let deaf = AgentTest.task("deaf", shell: "trap '' TERM; touch deaf; sleep 1000", gracePeriod: .seconds(600))
            agent.launch(framework: AgentTest.framework(), executor: Self.defaultExecutor("default-ex-deaf"), tasks: [deaf], asGroup: true)
            try await delegate.waitForState("deaf", .taskRunning)
            // Deaf to SIGTERM only once the shell has run `trap`.
            let marker = AgentTest.sandbox(agent, executor: "default-ex-deaf") + "/tasks/deaf/deaf"
            try await delegate.wait("the trap set") { _ in FileManager.default.fileExists(atPath: marker) }
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("deaf"), killPolicy: nil)
            try await delegate.waitForState("deaf", .taskKilling)
            var now = KillPolicy()
            now.gracePeriod.nanoseconds = 0
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("deaf"), killPolicy: now)
            try await Task.sleep(for: .seconds(1))
            // The command executor would have killed it now.
            #expect(delegate.states("deaf").last == .taskKilling, "\(delegate.updates("deaf").map { "\($0.state) \($0.message) \($0.reason)" })")
            agent.shutdownExecutor(frameworkID: AgentTest.frameworkID, executorID: ExecutorID("default-ex-deaf"))
        }
    }

    @Test("a second group joins a running default executor")
    func secondGroup() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.defaultExecutor(), tasks: [AgentTest.task("first", shell: "sleep 1000")], asGroup: true)
            try await delegate.waitForState("first", .taskRunning)
            agent.launch(framework: AgentTest.framework(), executor: Self.defaultExecutor(), tasks: [AgentTest.task("second", shell: "echo hi")], asGroup: true)
            #expect(try await delegate.terminal("second").state == .taskFinished)
            #expect(delegate.updates("second").first?.containerStatus.containerID.parent == delegate.updates("first").first?.containerStatus.containerID.parent)
            agent.shutdownExecutor(frameworkID: AgentTest.frameworkID, executorID: ExecutorID("default-ex-1"))
            #expect(try await delegate.terminal("first").state == .taskKilled)
            try await delegate.wait("the executor's exit") { !$0.terminated.isEmpty }
        }
    }
}
