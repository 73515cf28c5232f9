import FoundationEssentials
import Glibc
import Mesos
import MesosProcess

// A task's `health_check` and `check`, run by the built-in command and default executors as Mesos 1.11's checkers run
// them (src/checks/health_checker.cpp, checker.cpp, checker_process.cpp):
//   - the first probe `delay_seconds` after the task starts, then one `interval_seconds` after each result;
//   - COMMAND runs the command in the task's sandbox with the task's environment; HTTP runs
//     `curl -s -S -L -k -w %{http_code} -o /dev/null <scheme>://127.0.0.1:<port><path>`, as Mesos does; TCP connects
//     to 127.0.0.1:<port> (Mesos has its own `mesos-tcp-connect` helper; this agent uses bash's /dev/tcp); a probe
//     running longer than `timeout_seconds` is killed and counts as an error.
// Health checks: failures before the first success and within `grace_period_seconds` of the start are ignored;
// TASK_RUNNING with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED on the first success, on the first success
// after failures, and on every counted failure (an HTTP answer outside 2xx–3xx or a command's non-zero exit is a
// failure); `consecutive_failures` failures in a row kill the task (its kill policy, else 3 s), whose terminal update
// then says `healthy: false`.
// Checks: every update of the task carries a `check_status` of the check's type (empty until there is a result);
// each result that differs from the one before goes out as TASK_RUNNING with it and REASON_TASK_CHECK_STATUS_UPDATED.
extension AgentCore {
    /// What one probe found: a command's exit code, an HTTP status, a TCP connection made; nil fields for an error
    /// (a timeout, a command ended by a signal, curl failing).
    struct ProbeResult {
        var exitCode: Int32?
        var httpStatus: Int?
        var tcpSucceeded: Bool?
    }

    enum Probe {
        case command(CommandInfo)
        case http(scheme: String, host: String, port: UInt32, path: String)
        case tcp(host: String, port: UInt32)
    }

    /// Starts `task`'s health checks and checks, if it has any; call it once its process runs (on the queue).
    func armHealthCheck(_ task: TaskRecord, executor: ExecutorRecord, framework: FrameworkRecord, environment: [String: String]) {
        if task.info.hasHealthCheck, let probe = Self.probe(for: task.info.healthCheck) {
            let check = task.info.healthCheck
            task.health = TaskRecord.Health(start: ContinuousClock.now)
            self.probeLoop(task, probe, environment: environment, delay: check.delaySeconds, interval: check.intervalSeconds,
                timeout: check.timeoutSeconds) { result in
                let healthy: Bool =
                    switch check.type {
                    case .command: result.exitCode == 0
                    case .http: result.httpStatus.map { (200..<400).contains($0) } ?? false
                    default: result.tcpSucceeded == true
                    }
                self.healthCheckResult(task, healthy: healthy, executor: executor, framework: framework)
            }
        } else if task.info.hasHealthCheck {
            SandboxLog.appendRaw(task.directory + "/stderr", "Ignoring a health check this agent cannot run: \(task.info.healthCheck.type)\n")
        }
        if task.info.hasCheck, let probe = Self.probe(for: task.info.check) {
            let check = task.info.check
            self.probeLoop(task, probe, environment: environment, delay: check.delaySeconds, interval: check.intervalSeconds,
                timeout: check.timeoutSeconds) { result in
                var status = Self.emptyCheckStatus(check)
                switch check.type {
                case .command: if let code = result.exitCode { status.command.exitCode = code }
                case .http: if let code = result.httpStatus { status.http.statusCode = UInt32(code) }
                default: if let succeeded = result.tcpSucceeded { status.tcp.succeeded = succeeded }
                }
                self.checkResult(task, status, executor: executor, framework: framework)
            }
        }
    }

    /// The `check_status` every update of a task with a check carries before any result: its type, empty.
    static func emptyCheckStatus(_ check: Mesos_V1_CheckInfo) -> Mesos_V1_CheckStatusInfo {
        var status = Mesos_V1_CheckStatusInfo()
        status.type = check.type
        switch check.type {
        case .command: status.command = Mesos_V1_CheckStatusInfo.Command()
        case .http: status.http = Mesos_V1_CheckStatusInfo.Http()
        case .tcp: status.tcp = Mesos_V1_CheckStatusInfo.Tcp()
        default: break
        }
        return status
    }

    private static func probe(for check: Mesos_V1_HealthCheck) -> Probe? {
        switch check.type {
        case .command where check.hasCommand:
            return .command(check.command)
        case .http:
            return .http(
                scheme: check.http.hasScheme ? check.http.scheme : "http",
                host: check.http.protocol == .ipv6 ? "[::1]" : "127.0.0.1",
                port: check.http.port,
                path: check.http.path
            )
        case .tcp:
            return .tcp(host: check.tcp.protocol == .ipv6 ? "::1" : "127.0.0.1", port: check.tcp.port)
        default:
            return nil
        }
    }

    private static func probe(for check: Mesos_V1_CheckInfo) -> Probe? {
        switch check.type {
        case .command where check.hasCommand: .command(check.command.command)
        case .http: .http(scheme: "http", host: "127.0.0.1", port: check.http.port, path: check.http.path)
        case .tcp: .tcp(host: "127.0.0.1", port: check.tcp.port)
        default: nil
        }
    }

    /// Probes after `delay`, then `interval` after each result, until the task ends or is being killed.
    private func probeLoop(
        _ task: TaskRecord,
        _ probe: Probe,
        environment: [String: String],
        delay: Double,
        interval: Double,
        timeout: Double,
        onResult: @escaping @Sendable (ProbeResult) -> Void
    ) {
        self.after(.seconds(max(0, delay))) {
            guard !task.exited, !task.killing, !self.stopping else { return }
            self.runProbe(probe, task: task, environment: environment, timeout: timeout) { result in
                guard !task.exited, !task.killing else { return }
                onResult(result)
                self.probeLoop(task, probe, environment: environment, delay: interval, interval: interval, timeout: timeout, onResult: onResult)
            }
        }
    }

    private func runProbe(
        _ probe: Probe,
        task: TaskRecord,
        environment: [String: String],
        timeout: Double,
        completion: @escaping @Sendable (ProbeResult) -> Void
    ) {
        let outputPath = FileManager.default.temporaryDirectory.path + "/mesos-probe-\(UUID().uuidString)"
        let spec: ProcessLauncher.Spec
        switch probe {
        case .command(let command):
            var probeEnvironment = environment
            Self.apply(command.environment, to: &probeEnvironment)
            let (executable, argv) = Self.processSpec(for: command)
            spec = ProcessLauncher.Spec(
                executable: executable, argv: argv, environment: probeEnvironment, directory: task.directory,
                stdoutPath: "/dev/null", stderrPath: "/dev/null"
            )
        case .http(let scheme, let host, let port, let path):
            let slash = path.isEmpty || path.hasPrefix("/") ? "" : "/"
            spec = ProcessLauncher.Spec(
                argv: ["curl", "-s", "-S", "-L", "-k", "-w", "%{http_code}", "-o", "/dev/null", "\(scheme)://\(host):\(port)\(slash)\(path)"],
                environment: Self.processEnvironment(), directory: task.directory, stdoutPath: outputPath, stderrPath: "/dev/null"
            )
        case .tcp(let host, let port):
            spec = ProcessLauncher.Spec(
                argv: ["bash", "-c", "exec 3<>/dev/tcp/$0/$1", host, String(port)],
                environment: Self.processEnvironment(), directory: task.directory, stdoutPath: "/dev/null", stderrPath: "/dev/null"
            )
        }
        let run = ProbeRun()
        let finish: @Sendable (ProbeResult) -> Void = { result in
            // On the queue: the first of the probe's end and its timeout counts.
            guard !run.finished else { return }
            run.finished = true
            unlink(outputPath)
            completion(result)
        }
        let pid: pid_t
        do {
            pid = try ProcessLauncher.spawn(spec)
        } catch {
            self.after(.zero) { finish(ProbeResult()) }
            return
        }
        ProcessLauncher.watch(pid, on: self.queue, killingGroup: true) { raw in
            let status = WaitStatus(raw: raw)
            var result = ProbeResult()
            switch probe {
            case .command:
                if status.exited { result.exitCode = status.exitCode }
            case .http:
                let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
                if status.succeeded, let code = Int(text.filter(\.isNumber)) { result.httpStatus = code }
            case .tcp:
                result.tcpSucceeded = status.succeeded
            }
            finish(result)
        }
        self.after(.seconds(max(0, timeout))) {
            guard !run.finished else { return }
            ProcessLauncher.signalGroup(pid, SIGKILL)  // reaped by its watch, which then finds the run finished
            finish(ProbeResult())
        }
    }

    private func healthCheckResult(_ task: TaskRecord, healthy: Bool, executor: ExecutorRecord, framework: FrameworkRecord) {
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
                task, executor: executor, framework: framework, gracePeriod: task.info.killGracePeriod(override: nil)
            )
        }
    }

    private func checkResult(_ task: TaskRecord, _ status: Mesos_V1_CheckStatusInfo, executor: ExecutorRecord, framework: FrameworkRecord) {
        guard !task.exited, !task.killing else { return }
        let previous = task.checkStatus ?? Self.emptyCheckStatus(task.info.check)
        guard status != previous else { return }
        task.checkStatus = status
        self.sendExecutorUpdate(
            task, executor: executor, framework: framework, state: .taskRunning, reason: .taskCheckStatusUpdated,
            checkStatus: status
        )
    }
}

/// One probe's run: whether its end or its timeout has been counted. Confined to the agent's queue.
final class ProbeRun: @unchecked Sendable {
    var finished = false
}
