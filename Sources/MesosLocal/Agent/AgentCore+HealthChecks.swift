import FoundationEssentials
import Glibc
import Mesos
import MesosProcess

// A task's `health_check`, run by the built-in command and default executors as Mesos 1.11's health checker runs it
// (src/checks/health_checker.cpp, checker_process.cpp):
//   - the first check `delay_seconds` after the task starts, then one `interval_seconds` after each result;
//   - COMMAND runs the check's command in the task's sandbox with the task's environment; HTTP runs
//     `curl -s -S -L -k -w %{http_code} -o /dev/null <scheme>://127.0.0.1:<port><path>` (2xx and 3xx are healthy),
//     as Mesos does; TCP connects to 127.0.0.1:<port> (Mesos has its own `mesos-tcp-connect` helper; this agent uses
//     bash's /dev/tcp); a check running longer than `timeout_seconds` is killed and counts as a failure;
//   - failures before the first success and within `grace_period_seconds` of the start are ignored;
//   - TASK_RUNNING with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED on the first success, on the first
//     success after failures, and on every counted failure; `consecutive_failures` failures in a row kill the task
//     (its kill policy, else 3 s), whose terminal update then says `healthy: false`.
extension AgentCore {
    /// Starts `task`'s health checks, if it has any; call it once its process runs (on the queue).
    func armHealthCheck(_ task: TaskRecord, executor: ExecutorRecord, framework: FrameworkRecord, environment: [String: String]) {
        guard task.info.hasHealthCheck else { return }
        let check = task.info.healthCheck
        let supported: Bool =
            switch check.type {
            case .command: check.hasCommand
            case .http, .tcp: true
            default: false
            }
        guard supported else {
            SandboxLog.appendRaw(task.directory + "/stderr", "Ignoring a health check this agent cannot run: \(check.type)\n")
            return
        }
        task.health = TaskRecord.Health(start: ContinuousClock.now)
        self.after(.seconds(check.delaySeconds)) {
            self.runHealthCheck(task, executor: executor, framework: framework, environment: environment)
        }
    }

    private func runHealthCheck(
        _ task: TaskRecord,
        executor: ExecutorRecord,
        framework: FrameworkRecord,
        environment: [String: String]
    ) {
        guard !task.exited, !task.killing, !self.stopping else { return }
        let check = task.info.healthCheck
        let outputPath = FileManager.default.temporaryDirectory.path + "/mesos-health-\(UUID().uuidString)"
        var spec: ProcessLauncher.Spec
        switch check.type {
        case .http:
            let scheme = check.http.hasScheme ? check.http.scheme : "http"
            let host = check.http.protocol == .ipv6 ? "[::1]" : "127.0.0.1"
            var path = check.http.path
            if !path.isEmpty && !path.hasPrefix("/") { path = "/" + path }
            let url = "\(scheme)://\(host):\(check.http.port)\(path)"
            spec = ProcessLauncher.Spec(
                argv: ["curl", "-s", "-S", "-L", "-k", "-w", "%{http_code}", "-o", "/dev/null", url],
                environment: Self.processEnvironment(),
                directory: task.directory,
                stdoutPath: outputPath,
                stderrPath: "/dev/null"
            )
        case .tcp:
            let host = check.tcp.protocol == .ipv6 ? "::1" : "127.0.0.1"
            spec = ProcessLauncher.Spec(
                argv: ["bash", "-c", "exec 3<>/dev/tcp/$0/$1", host, String(check.tcp.port)],
                environment: Self.processEnvironment(),
                directory: task.directory,
                stdoutPath: "/dev/null",
                stderrPath: "/dev/null"
            )
        default:
            var checkEnvironment = environment
            Self.apply(check.command.environment, to: &checkEnvironment)
            let (executable, argv) = Self.processSpec(for: check.command)
            spec = ProcessLauncher.Spec(
                executable: executable,
                argv: argv,
                environment: checkEnvironment,
                directory: task.directory,
                stdoutPath: "/dev/null",
                stderrPath: "/dev/null"
            )
        }
        let run = HealthCheckRun()
        let done: @Sendable (Bool) -> Void = { healthy in
            // On the queue: the first of the check's end and its timeout counts.
            guard !run.finished else { return }
            run.finished = true
            unlink(outputPath)
            self.healthCheckResult(task, healthy: healthy, executor: executor, framework: framework)
            self.after(.seconds(check.intervalSeconds)) {
                self.runHealthCheck(task, executor: executor, framework: framework, environment: environment)
            }
        }
        let pid: pid_t
        do {
            pid = try ProcessLauncher.spawn(spec)
        } catch {
            done(false)
            return
        }
        ProcessLauncher.watch(pid, on: self.queue, killingGroup: true) { raw in
            let status = WaitStatus(raw: raw)
            var healthy = status.succeeded
            if healthy && check.type == .http {
                let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
                let code = Int(text.filter(\.isNumber)) ?? 0
                healthy = (200..<400).contains(code)
            }
            done(healthy)
        }
        self.after(.seconds(check.timeoutSeconds)) {
            guard !run.finished else { return }
            ProcessLauncher.signalGroup(pid, SIGKILL)  // reaped by its watch, which then finds the run finished
            done(false)
        }
    }

    private func healthCheckResult(
        _ task: TaskRecord,
        healthy: Bool,
        executor: ExecutorRecord,
        framework: FrameworkRecord
    ) {
        // No health updates once the task is being killed or has ended (as `taskHealthUpdated`).
        guard var health = task.health, !task.exited, !task.killing else { return }
        let check = task.info.healthCheck
        defer { task.health = health }
        if healthy {
            if health.initializing || health.consecutiveFailures > 0 {
                health.initializing = false
                self.sendExecutorUpdate(
                    task, executor: executor, framework: framework, state: .taskRunning,
                    reason: .taskHealthCheckStatusUpdated, healthy: true
                )
            }
            health.consecutiveFailures = 0
            return
        }
        if health.initializing && check.gracePeriodSeconds > 0
            && ContinuousClock.now - health.start <= .seconds(check.gracePeriodSeconds)
        {
            return  // still in the grace period
        }
        health.consecutiveFailures += 1
        self.sendExecutorUpdate(
            task, executor: executor, framework: framework, state: .taskRunning,
            reason: .taskHealthCheckStatusUpdated, healthy: false
        )
        if health.consecutiveFailures >= Int(check.consecutiveFailures) {
            health.killedByHealthCheck = true
            SandboxLog.appendRaw(
                task.directory + "/stderr",
                "\(check.type) health check for task '\(task.info.taskID.value)' failed \(health.consecutiveFailures) times consecutively\n"
            )
            task.health = health
            self.killTaskProcess(
                task, executor: executor, framework: framework, gracePeriod: Self.gracePeriod(override: nil, task: task.info)
            )
        }
    }
}

/// One health check's run: whether its end or its timeout has been counted. Confined to the agent's queue.
final class HealthCheckRun: @unchecked Sendable {
    var finished = false
}
