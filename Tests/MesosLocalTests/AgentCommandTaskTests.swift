import Foundation
import Mesos
import MesosLocal
import Synchronization
import Testing

@Suite("LocalAgent: command tasks", .timeLimit(.minutes(2)))
struct AgentCommandTaskTests {
    @Test("a shell command runs in its sandbox and reports STARTING, RUNNING, FINISHED as the command executor does")
    func finishedTask() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task("t1", shell: "echo hello > out.txt; echo to-stdout; echo to-stderr >&2")
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let finished = try await delegate.terminal("t1")
            try await delegate.wait("executor terminated") { !$0.terminated.isEmpty }

            let updates = delegate.updates("t1")
            #expect(updates.map(\.state) == [.taskStarting, .taskRunning, .taskFinished])
            #expect(finished.message == "Command exited with status 0")
            #expect(!finished.hasReason)
            for update in updates {
                #expect(update.source == .executor)
                #expect(update.agentID.value == "agent-test-S0")
                #expect(update.executorID.value == "t1")  // the command executor's ID is the task's
                #expect(update.uuid.count == 16)
                #expect(update.timestamp > 1_600_000_000)
                #expect(update.containerStatus.hasContainerID)
                #expect(update.containerStatus.networkInfos.first?.ipAddresses.first?.ipAddress == "127.0.0.1")
            }
            #expect(Set(updates.map(\.uuid)).count == 3)
            #expect(Set(updates.map(\.containerStatus.containerID.value)).count == 1)

            let sandbox = AgentTest.sandbox(agent, executor: "t1")
            #expect(AgentTest.read(sandbox + "/out.txt") == "hello\n")
            #expect(AgentTest.read(sandbox + "/stdout") == "to-stdout\n")
            let stderr = AgentTest.read(sandbox + "/stderr")
            #expect(stderr.contains("to-stderr"))
            #expect(stderr.contains("Starting task t1"))
            #expect(stderr.contains("Command exited with status 0 (pid: "))
            // `latest` points at runs/<container ID>, the container of the updates.
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: sandbox)
            #expect(target == updates[0].containerStatus.containerID.value)

            let terminated = delegate.snapshot.terminated
            #expect(terminated.map(\.executorID) == ["t1"])
            #expect(terminated.first?.status == 0)
        }
    }

    @Test("the task sees the agent's MESOS_* variables and its own environment")
    func environment() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task("env-task", shell: "env > env.txt", environment: ["GREETING": "hi there"])
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.terminal("env-task")
            let sandbox = AgentTest.sandbox(agent, executor: "env-task")
            let real = try FileManager.default.destinationOfSymbolicLink(atPath: sandbox)
            let directory = (sandbox as NSString).deletingLastPathComponent + "/" + real
            var environment: [String: String] = [:]
            for line in AgentTest.read(sandbox + "/env.txt").split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { environment[String(parts[0])] = String(parts[1]) }
            }
            let port = agent.agentInfo.port
            #expect(environment["GREETING"] == "hi there")
            #expect(environment["MESOS_SANDBOX"] == directory)
            #expect(environment["MESOS_DIRECTORY"] == directory)
            #expect(environment["MESOS_FRAMEWORK_ID"] == AgentTest.frameworkID.value)
            #expect(environment["MESOS_EXECUTOR_ID"] == "env-task")
            #expect(environment["MESOS_SLAVE_ID"] == "agent-test-S0")
            #expect(environment["MESOS_AGENT_ENDPOINT"] == "127.0.0.1:\(port)")
            #expect(environment["MESOS_SLAVE_PID"] == "slave(1)@127.0.0.1:\(port)")
            #expect(environment["MESOS_CHECKPOINT"] == "0")
            #expect(environment["MESOS_HTTP_COMMAND_EXECUTOR"] == "0")
            #expect(environment["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs")
            #expect(environment["MESOS_ALLOCATION_ROLE"] == "*")
            #expect(environment["LIBPROCESS_PORT"] == "0")
            #expect(environment["PWD"] == directory || environment["PWD"] == nil)
        }
    }

    @Test("a failing command is TASK_FAILED with the command executor's message")
    func failedTask() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("bad", shell: "exit 3")], asGroup: false)
            let failed = try await delegate.terminal("bad")
            #expect(failed.state == .taskFailed)
            #expect(failed.message == "Command exited with status 3")
            #expect(failed.source == .executor)
            #expect(delegate.states("bad") == [.taskStarting, .taskRunning, .taskFailed])
        }
    }

    @Test("a command without a shell runs value with arguments as its argv")
    func argvCommand() async throws {
        try await AgentTest.withAgent { agent, delegate in
            var task = AgentTest.task("argv", shell: "/bin/echo")
            task.command.shell = false
            task.command.arguments = ["echo", "one", "two words", "$HOME"]
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let finished = try await delegate.terminal("argv")
            #expect(finished.state == .taskFinished)
            #expect(AgentTest.read(AgentTest.sandbox(agent, executor: "argv") + "/stdout") == "one two words $HOME\n")
        }
    }

    @Test("KILL: TASK_KILLING for frameworks with TASK_KILLING_STATE, SIGTERM, TASK_KILLED")
    func killWithKillingState() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("sleeper", shell: "sleep 1000")], asGroup: false)
            try await delegate.waitForState("sleeper", .taskRunning)
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("sleeper"), killPolicy: nil)
            let killed = try await delegate.terminal("sleeper")
            #expect(delegate.states("sleeper") == [.taskStarting, .taskRunning, .taskKilling, .taskKilled])
            #expect(killed.state == .taskKilled)
            #expect(killed.message == "Command terminated with signal Terminated")
            #expect(killed.source == .executor)
        }
    }

    @Test("KILL without TASK_KILLING_STATE sends no TASK_KILLING")
    func killWithoutKillingState() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(capabilities: []), executor: nil, tasks: [AgentTest.task("s2", shell: "sleep 1000")], asGroup: false)
            try await delegate.waitForState("s2", .taskRunning)
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("s2"), killPolicy: nil)
            try await delegate.terminal("s2")
            #expect(delegate.states("s2") == [.taskStarting, .taskRunning, .taskKilled])
        }
    }

    @Test("a task that ignores SIGTERM gets SIGKILL after the KILL call's grace period, which overrides the task's")
    func killEscalation() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task(
                "stubborn",
                shell: "trap '' TERM; echo ready; while true; do sleep 0.05; done",
                gracePeriod: .seconds(60)
            )
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.waitForState("stubborn", .taskRunning)
            let stdout = AgentTest.sandbox(agent, executor: "stubborn") + "/stdout"
            while !AgentTest.read(stdout).contains("ready") { try await Task.sleep(for: .milliseconds(20)) }
            var policy = KillPolicy()
            policy.gracePeriod.nanoseconds = 300_000_000
            let start = ContinuousClock.now
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("stubborn"), killPolicy: policy)
            let killed = try await delegate.terminal("stubborn")
            #expect(killed.state == .taskKilled)
            #expect(killed.message == "Command terminated with signal Killed")
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(ContinuousClock.now - start < .seconds(30))
            let stderr = AgentTest.read(AgentTest.sandbox(agent, executor: "stubborn") + "/stderr")
            #expect(stderr.contains("Received kill for task stubborn with grace period of 300ms"))
            #expect(stderr.contains("did not terminate after 300ms, sending SIGKILL"))
        }
    }

    @Test("a kill reaches the task's children: the whole process group goes")
    func killProcessGroup() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(
                framework: AgentTest.framework(),
                executor: nil,
                tasks: [AgentTest.task("tree", shell: "sleep 1000 & echo $! > child.pid; wait")],
                asGroup: false
            )
            try await delegate.waitForState("tree", .taskRunning)
            let pidFile = AgentTest.sandbox(agent, executor: "tree") + "/child.pid"
            var child: pid_t = 0
            while child == 0 {
                child = pid_t(AgentTest.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(AgentTest.processExists(child))
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("tree"), killPolicy: nil)
            try await delegate.terminal("tree")
            let deadline = ContinuousClock.now + .seconds(5)
            while AgentTest.processExists(child) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!AgentTest.processExists(child))
        }
    }

    @Test("updates leave one at a time: the next only after the ack, the unacknowledged one is re-sent")
    func reliableStream() async throws {
        try await AgentTest.withAgent(autoAcknowledge: false, configure: { $0.statusUpdateRetryInterval = .milliseconds(200) }) { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("r1", shell: "true")], asGroup: false)
            try await delegate.wait("a retry of TASK_STARTING") { $0.updates.count >= 2 }
            var updates = delegate.updates("r1")
            // The task has finished long ago, yet only TASK_STARTING went out, twice, with the same uuid.
            #expect(updates.allSatisfy { $0.state == .taskStarting })
            #expect(Set(updates.map(\.uuid)).count == 1)

            // A wrong uuid is not an acknowledgement.
            agent.acknowledge(frameworkID: AgentTest.frameworkID, taskID: TaskID("r1"), uuid: Array(repeating: 7, count: 16))
            try await Task.sleep(for: .milliseconds(100))
            #expect(!delegate.states("r1").contains(.taskRunning))

            var acknowledged = 0
            for expected in [TaskState.taskStarting, .taskRunning, .taskFinished] {
                try await delegate.wait("\(expected)") { recorded in recorded.updates.contains { $0.state == expected } }
                updates = delegate.updates("r1")
                let current = updates.last!
                #expect(current.state == expected)
                agent.acknowledge(frameworkID: AgentTest.frameworkID, taskID: TaskID("r1"), uuid: Array(current.uuid))
                acknowledged += 1
            }
            try await Task.sleep(for: .milliseconds(500))
            // Order kept, nothing lost, nothing after the acknowledged terminal update.
            let states = delegate.states("r1")
            var distinct: [TaskState] = []
            for state in states where distinct.last != state { distinct.append(state) }
            #expect(distinct == [.taskStarting, .taskRunning, .taskFinished])
            #expect(delegate.updates("r1").last?.state == .taskFinished)
            let count = delegate.updates("r1").count
            try await Task.sleep(for: .milliseconds(500))
            #expect(delegate.updates("r1").count == count)
            #expect(acknowledged == 3)
        }
    }

    @Test("shutdownFramework kills its tasks and sends no more updates")
    func shutdownFramework() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(
                framework: AgentTest.framework(),
                executor: nil,
                tasks: [AgentTest.task("a", shell: "sleep 1000"), AgentTest.task("b", shell: "sleep 1000")],
                asGroup: false
            )
            try await delegate.waitForState("a", .taskRunning)
            try await delegate.waitForState("b", .taskRunning)
            agent.shutdownFramework(frameworkID: AgentTest.frameworkID)
            try await delegate.wait("both executors terminated") { $0.terminated.count == 2 }
            #expect(!delegate.states("a").contains(.taskKilled))
            #expect(Set(delegate.snapshot.terminated.map(\.executorID)) == ["a", "b"])
        }
    }

    @Test("a killed task is TASK_KILLED even when it exits 0 on SIGTERM (1.11's command executor)")
    func killedCleanExit() async throws {
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task("polite", shell: "trap 'exit 0' TERM; echo ready; while true; do sleep 0.05; done")
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.waitForState("polite", .taskRunning)
            let stdout = AgentTest.sandbox(agent, executor: "polite") + "/stdout"
            while !AgentTest.read(stdout).contains("ready") { try await Task.sleep(for: .milliseconds(20)) }
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("polite"), killPolicy: nil)
            let killed = try await delegate.terminal("polite")
            #expect(killed.state == .taskKilled)
            #expect(killed.message == "Command exited with status 0")
        }
    }

    @Test("max_completion_time: the task is killed and fails with REASON_MAX_COMPLETION_TIME_REACHED")
    func maxCompletionTime() async throws {
        try await AgentTest.withAgent { agent, delegate in
            var task = AgentTest.task("slow", shell: "sleep 1000")
            task.maxCompletionTime.nanoseconds = 300_000_000
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let failed = try await delegate.terminal("slow")
            #expect(failed.state == .taskFailed)
            #expect(failed.reason == .maxCompletionTimeReached)
            #expect(failed.message.hasPrefix("Command terminated with signal "))
            // As recorded: the command executor's pid, the same on every update of the task.
            #expect(Set(delegate.updates("slow").map(\.containerStatus.executorPid)).count == 1)
            #expect(delegate.updates("slow").allSatisfy { $0.containerStatus.hasExecutorPid })
            // No TASK_KILLING, although the framework understands it: nobody asked for this kill.
            #expect(delegate.states("slow") == [.taskStarting, .taskRunning, .taskFailed])
            let stderr = AgentTest.read(AgentTest.sandbox(agent, executor: "slow") + "/stderr")
            #expect(stderr.contains("Task slow has a max completion time of 300ms"))
        }
    }

    @Test("KILL of a task the agent does not know: TASK_LOST, 'Cannot find executor' (TASK_DROPPED if partition-aware)")
    func killUnknownTask() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("known", shell: "true")], asGroup: false)
            try await delegate.terminal("known")
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("ghost"), killPolicy: nil)
            let lost = try await delegate.terminal("ghost")
            #expect(lost.state == .taskLost)
            #expect(lost.source == .agent)
            #expect(lost.reason == .executorTerminated)
            #expect(lost.message == "Cannot find executor")
        }
    }

    @Test("a task ID that could leave the sandbox tree fails the task instead")
    func invalidTaskID() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("../escape", shell: "touch x")], asGroup: false)
            let failed = try await delegate.terminal("../escape")
            #expect(failed.state == .taskFailed)
            #expect(failed.source == .agent)
            #expect(failed.reason == .containerLaunchFailed)
            #expect(!FileManager.default.fileExists(atPath: agent.configuration.workDirectory + "/slaves/agent-test-S0/frameworks/escape"))
        }
    }

    @Test("stop() kills running tasks")
    func stopKills() async throws {
        let work = AgentTest.makeTemporaryDirectory()
        var configuration = LocalAgentConfiguration(id: AgentID("agent-test-S0"), workDirectory: work)
        configuration.stopGracePeriod = .milliseconds(300)
        let delegate = RecordingDelegate(autoAcknowledge: true)
        let agent = LocalAgent(configuration: configuration, delegate: delegate)
        delegate.agent.withLock { $0 = agent }
        try await agent.start()
        agent.launch(
            framework: AgentTest.framework(),
            executor: nil,
            tasks: [AgentTest.task("stubborn", shell: "trap '' TERM; echo $$ > pid; while true; do sleep 0.05; done")],
            asGroup: false
        )
        try await delegate.waitForState("stubborn", .taskRunning)
        let pidFile = AgentTest.sandbox(agent, executor: "stubborn") + "/pid"
        var pid: pid_t = 0
        while pid == 0 {
            pid = pid_t(AgentTest.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            try await Task.sleep(for: .milliseconds(20))
        }
        await agent.stop()
        #expect(!AgentTest.processExists(pid))
        try? FileManager.default.removeItem(atPath: work)
    }
}
