// Benchmarks of the moving parts against a real (local) master: launch throughput, allocation rounds, scheduler
// calls per second, failover time, mesos-submit latency, many instances with an
// artifact. Each figure is one `bench=<name> key=value...` line on stdout.
//
// Usage: ClusterBenchmark <part> [options]   (cluster.sh runs every part with the binaries it needs)
//   launch MESOS_LOCAL_BIN           10,000 `true` tasks over 4 agents of a mesos-local process
//   offer-cycle                      100 agents, 10 frameworks declining everything: time per allocation round
//   calls MESOS_LOCAL_BIN            ACKNOWLEDGE storm on one keep-alive connection
//   failover                         master restarts: time to the re-established subscription
//   submit MESOS_LOCAL_BIN MESOS_SUBMIT_BIN   `mesos-submit -- true`, 20 times
//   instances MESOS_LOCAL_BIN        5,000 instances with a 10 MB artifact through MesosLauncher
import BenchSupport
import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLauncher
import MesosLocal
import MesosRecordIO
import MesosScheduler
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

// MARK: - Helpers

/// CPU seconds (user + system) and peak resident memory of a process, from /proc.
func processUsage(_ pid: Int32) -> (cpu: Double, peakMB: Double) {
    var cpu = 0.0
    if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    {
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
        if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
            cpu = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }
    var peak = 0.0
    if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
        for row in status.split(separator: "\n") where row.hasPrefix("VmHWM:") {
            peak = (Double(row.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
    }
    return (cpu, peak)
}

/// A mesos-local process, its URL read from its first line of output.
final class LocalProcess {
    let process = Process()
    let url: String

    init(binary: String, arguments: [String]) throws {
        let pipe = Pipe()
        self.process.executableURL = URL(fileURLWithPath: binary)
        self.process.arguments = ["--port", "0"] + arguments
        self.process.standardOutput = pipe
        self.process.standardError = FileHandle.nullDevice
        try self.process.run()
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        self.url = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    var pid: Int32 { self.process.processIdentifier }

    func stop() {
        self.process.interrupt()
        self.process.waitUntilExit()
    }
}

/// A shared counter.
final class Count: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int) { self.value.add(amount, ordering: .relaxed) }
    var current: Int { self.value.load(ordering: .relaxed) }
}

// MARK: - launch

/// One framework launching `count` `true` tasks as fast as offers allow, acknowledging every update.
func launch(binary: String, count: Int = 10_000) async throws {
    let local = try LocalProcess(binary: binary, arguments: ["--agents", "4", "--resources", "cpus:16;mem:16384;disk:1000;ports:[31000-32000]"])
    defer { local.stop() }
    let before = processUsage(local.pid)
    let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [local.url]))
    let events = try await client.subscribe(framework("launch-bench"))
    var next = 0
    var finished = 0
    var failed = 0
    var started: ContinuousClock.Instant?
    var filters = Filters()
    filters.refuseSeconds = 0
    loop: for try await event in events {
        switch event {
        case .offers(let offers):
            for offer in offers {
                let free = Resources(offer.resources)
                let fit = min(Int(free.cpus.doubleValue / 0.1 + 1e-9), Int(free.mem.doubleValue / 16 + 1e-9), count - next)
                guard fit > 0 else {
                    try await client.decline(offerIDs: [offer.id], filters: filters)
                    continue
                }
                var tasks: [TaskInfo] = []
                for _ in 0..<fit {
                    var task = TaskInfo()
                    task.name = "t\(next)"
                    task.taskID = TaskID("t\(next)")
                    task.agentID = offer.agentID
                    task.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 16)]
                    task.command.value = "true"
                    tasks.append(task)
                    next += 1
                }
                if started == nil { started = .now }
                try await client.accept(offerIDs: [offer.id], operations: [.launch(tasks)], filters: filters)
            }
        case .update(let status):
            Task { _ = try? await client.acknowledge(status) }
            switch status.state {
            case .taskFinished: finished += 1
            case .taskFailed, .taskError, .taskLost, .taskDropped, .taskKilled: failed += 1
            default: break
            }
            if finished + failed == count { break loop }
        default:
            break
        }
    }
    let elapsed = ContinuousClock.now - (started ?? .now)
    let after = processUsage(local.pid)
    line("local-launch", [
        "tasks": count, "agents": 4, "finished": finished, "failed": failed,
        "seconds": seconds(elapsed), "tasks_per_s": Double(count) / seconds(elapsed),
        "master_cpu_s": after.cpu - before.cpu, "master_peak_rss_mb": after.peakMB,
    ])
    try? await client.stop(teardown: true)
}

// MARK: - offer-cycle

/// 100 agents, 10 frameworks that decline every offer at once: the master allocates round after round.
func offerCycle(agents: Int = 100, frameworks: Int = 10, duration: Duration = .seconds(5)) async throws {
    var configuration = LocalClusterConfiguration()
    configuration.agents = agents
    configuration.master.allocationInterval = .milliseconds(50)
    configuration.logger.logLevel = .critical
    try await LocalCluster.with(configuration) { cluster in
        let offers = Count()
        var tasks: [Task<Void, Never>] = []
        var clients: [SchedulerClient] = []
        for index in 0..<frameworks {
            let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
            clients.append(client)
            let events = try await client.subscribe(framework("cycle-\(index)"))
            tasks.append(Task {
                var filters = Filters()
                filters.refuseSeconds = 0
                do {
                    for try await event in events {
                        if case .offers(let list) = event {
                            offers.add(list.count)
                            try await client.decline(offerIDs: list.map(\.id), filters: filters)
                        }
                    }
                } catch {}
            })
        }
        let before = cluster.master.allocationStatistics
        try await Task.sleep(for: duration)
        let after = cluster.master.allocationStatistics
        let rounds = after.rounds - before.rounds
        let mean = rounds == 0 ? Duration.zero : (after.total - before.total) / rounds
        line("local-offer-cycle", [
            "agents": agents, "frameworks": frameworks, "rounds": rounds,
            "round_mean_ms": milliseconds(mean), "round_max_ms": milliseconds(after.maximum),
            "offers_per_s": Double(offers.current) / seconds(duration),
        ])
        for task in tasks { task.cancel() }
        for client in clients { try? await client.stop(teardown: true) }
    }
}

// MARK: - calls

/// A random (version 4) UUID's 16 bytes: the master refuses an ACKNOWLEDGE whose uuid is not a UUID of version 1 to
/// 5 ("Not a valid UUID"), as Mesos does.
func randomStatusUUID() -> Data {
    withUnsafeBytes(of: UUID().uuid) { Data($0) }
}

/// ACKNOWLEDGE calls one after another on the client's keep-alive call connection.
func calls(binary: String, count: Int = 20_000) async throws {
    let local = try LocalProcess(binary: binary, arguments: ["--agents", "1"])
    defer { local.stop() }
    let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [local.url]))
    let events = try await client.subscribe(framework("calls-bench"))
    let drain = Task { do { for try await _ in events {} } catch {} }
    var status = TaskStatus()
    status.taskID = "unknown"
    status.agentID = "unknown"
    status.state = .taskRunning
    for _ in 0..<200 {  // warm-up
        status.uuid = randomStatusUUID()
        _ = try await client.acknowledge(status)
    }
    let started = ContinuousClock.now
    for _ in 0..<count {
        status.uuid = randomStatusUUID()
        _ = try await client.acknowledge(status)
    }
    let elapsed = ContinuousClock.now - started
    line("scheduler-calls", [
        "call": "ACKNOWLEDGE", "calls": count, "connection": "keep-alive",
        "calls_per_s": Double(count) / seconds(elapsed), "mean_us": seconds(elapsed) / Double(count) * 1e6,
    ])
    drain.cancel()
    try? await client.stop(teardown: true)
}

// MARK: - failover

/// Restarts the master under a subscribed client, `rounds` times: how long until the client is subscribed again.
func failover(rounds: Int = 10) async throws {
    try await LocalCluster.with { cluster in
        let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
        let subscriptions = Count()
        var info = framework("failover-bench")
        info.failoverTimeout = 300
        let events = try await client.subscribe(info)
        let drain = Task {
            do {
                for try await event in events {
                    if case .subscribed = event { subscriptions.add(1) }
                }
            } catch {}
        }
        var fromDrop: [Double] = []
        var fromBack: [Double] = []
        for _ in 0..<rounds {
            let before = subscriptions.current
            let dropped = ContinuousClock.now
            try await cluster.master.restart(downtime: .milliseconds(100))
            let back = ContinuousClock.now
            while subscriptions.current == before { try await Task.sleep(for: .milliseconds(1)) }
            let done = ContinuousClock.now
            fromDrop.append(milliseconds(done - dropped))
            fromBack.append(milliseconds(done - back))
        }
        line("scheduler-failover", [
            "restarts": rounds, "downtime_ms": 100,
            "from_restart_p50_ms": percentile(fromDrop, 0.5), "from_restart_max_ms": fromDrop.max() ?? 0,
            "after_master_back_p50_ms": percentile(fromBack, 0.5), "after_master_back_max_ms": fromBack.max() ?? 0,
        ])
        drain.cancel()
        try? await client.stop(teardown: true)
    }
}

// MARK: - submit

/// `mesos-submit --master URL -- true`, timed from start to exit.
func submit(localBinary: String, submitBinary: String, runs: Int = 20) async throws {
    let local = try LocalProcess(binary: localBinary, arguments: ["--agents", "1"])
    defer { local.stop() }
    var times: [Double] = []
    var failures = 0
    for _ in 0..<runs {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: submitBinary)
        process.arguments = ["--master", local.url, "--", "true"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        times.append(milliseconds(ContinuousClock.now - started))
        if process.terminationStatus != 0 { failures += 1 }
    }
    line("submit-latency", [
        "command": "true", "runs": runs, "failures": failures,
        "median_ms": percentile(times, 0.5), "p90_ms": percentile(times, 0.9), "min_ms": times.min() ?? 0,
    ])
}

// MARK: - instances

/// One launcher running `count` instances of a trivial task that each need a 10 MB artifact.
func instances(binary: String, count: Int = 5_000) async throws {
    let local = try LocalProcess(binary: binary, arguments: ["--agents", "4", "--resources", "cpus:16;mem:16384;disk:100000;ports:[31000-32000]"])
    defer { local.stop() }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("artifact-10mb.bin")
    var bytes = [UInt8](repeating: 0, count: 10 << 20)
    for index in stride(from: 0, to: bytes.count, by: 4096) { bytes[index] = UInt8(truncatingIfNeeded: index >> 12) }
    try Data(bytes).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [local.url], frameworkName: "instances-bench"))
    try await launcher.start()
    let started = ContinuousClock.now
    var handles: [TaskHandle] = []
    for index in 0..<count {
        var spec = TaskSpec(name: "i\(index)", shell: "test -s artifact-10mb.bin && rm artifact-10mb.bin")
        spec.resources = TaskSpec.Resources(cpus: 0.1, mem: 16)
        spec.artifacts = [.file(file.path, cache: true)]
        handles.append(try await launcher.submit(spec))
    }
    var finished = 0
    for handle in handles {
        if let outcome = try? await handle.result(), outcome.succeeded { finished += 1 }
    }
    let elapsed = ContinuousClock.now - started
    let served = await launcher.artifactBytesServed
    line("submit-instances", [
        "instances": count, "artifact_mb": 10, "agents": 4, "finished": finished,
        "seconds": seconds(elapsed), "tasks_per_s": Double(count) / seconds(elapsed),
        "framework_peak_rss_mb": processUsage(getpid()).peakMB, "artifact_bytes_served": served,
        "artifact_fetches": served / (10 << 20),
    ])
    await launcher.shutdown(.killTasks(grace: .seconds(5)))
}

// MARK: - main

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: ClusterBenchmark launch|offer-cycle|calls|failover|submit|instances ...")
    exit(2)
}
switch arguments[1] {
case "launch": try await launch(binary: arguments[2])
case "offer-cycle": try await offerCycle()
case "calls": try await calls(binary: arguments[2])
case "failover": try await failover()
case "submit": try await submit(localBinary: arguments[2], submitBinary: arguments[3])
case "instances": try await instances(binary: arguments[2])
default:
    print("unknown part \(arguments[1])")
    exit(2)
}
