import ArgumentParser
import Foundation
import Logging
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLauncher
import MesosLocal
import MesosOffers
import MesosScheduler

/// Exit statuses of mesos-submit besides the task's own (documented in --help).
enum ExitStatus {
    static let usage: Int32 = 64
    static let taskInvalid: Int32 = 65
    static let unreachable: Int32 = 69
    static let internalError: Int32 = 70
    static let taskLost: Int32 = 75
    static let unauthorized: Int32 = 77
    static let timeout: Int32 = 124
    static let interrupted: Int32 = 130
}

@main
struct MesosSubmit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesos-submit",
        abstract: "Run a command, with its local files, on a Mesos cluster and exit with its exit status.",
        discussion: """
            Without --master, mesos-submit starts a local Mesos master with agents in
            its own process, so `mesos-submit -- echo hello` works anywhere. Local
            files and directories given with --artifact are served by an embedded
            HTTP server and fetched by the agent into the task's sandbox.

            On a terminal, a live view at the bottom of the screen shows each
            instance (state, agent, exit status) and each local artifact (size,
            downloads, bytes served), redrawn in place; notes and --follow output
            scroll above it. When stderr is not a terminal (a pipe, a file, CI), or
            with --plain, each state change is one plain line instead. --json
            prints one JSON object per event on stdout.

            EXAMPLES
              mesos-submit -- echo hello
              mesos-submit --artifact ./app --follow -- ./app/run.sh --verbose
              mesos-submit --master http://mesos:5050 --cpus 2 --mem 1024 \\
                  --instances 4 --constraint hostname:UNIQUE -- ./work.sh
              mesos-submit --artifact tool.tar.gz,extract \\
                  --uri https://example.com/data.csv -- ./tool/run data.csv
              mesos-submit --task task.json
              mesos-submit --task '{"name": "hi", "command": {"value": "echo hi"}}'
              mesos-submit --task-group pod.json --artifact ./app --follow
              mesos-submit --task-group '{"tasks": [
                  {"name": "web", "command": {"value": "./serve"}},
                  {"name": "sidecar", "command": {"value": "./ship-logs"}}]}'
              mesos-submit --plain --instances 3 -- ./work.sh 2> progress.log

            TASK IDS (--task, --task-group)
              A task_id given in the JSON is the task's ID, as with mesos-execute;
              a task without one gets an ID made from its name. With --instances N
              (N > 1) and a given ID, instance n (from 0) runs as <ID>-<n>; with
              --attempts, a retry runs as <ID>.attempt-<k>. Two tasks of a group
              with the same ID are a usage error.

            TASK GROUPS (--task-group FILE|JSON, as mesos-execute --task_group)
              A TaskGroupInfo in the Mesos v1 JSON form; task_id and agent_id may
              be left out (the offer decides the agent). The tasks launch
              together on one agent with LAUNCH_GROUP under Mesos's default
              executor (type DEFAULT, with cpus:0.1;mem:32;disk:32 for itself,
              as mesos-execute gives it). When one task fails, the executor kills
              the others; the exit status is then that task's. --env, --artifact,
              --uri and --kill-grace-period apply to every task; --cpus/--mem/...
              to a task that names no resources; --role, --constraint and
              --network to the group.

            REATTACHING (--state-dir DIR, with --master and --failover-timeout)
              The framework ID and the tasks are kept in DIR while they run. If
              this process dies (killed, crashed, the machine rebooted), run the
              same command again with the same DIR within --failover-timeout
              seconds: it fails over to the same framework and waits for the
              tasks the earlier run left, instead of submitting them again, and
              exits with their status. A run that ends normally (or by Ctrl-C)
              leaves DIR empty of tasks.
                mesos-submit --master http://mesos:5050 --state-dir ~/.job1 \\
                    --failover-timeout 3600 -- ./long-job.sh

            ARTIFACT OPTIONS (after a comma)
              extract, executable, nocache, as=NAME (output file name)

            EXIT STATUS
              the task's exit status (several instances: the first non-zero one;
              a task group: that of the task that failed first, 0 when all
              finished; a signal N gives 128+N)
              64 usage error, 65 invalid task (TASK_ERROR), 69 master unreachable,
              70 internal error, 75 task lost/dropped/gone/unreachable,
              77 authentication refused, 124 --timeout reached, 130 interrupted
              (Ctrl-C; 143 for SIGTERM): the tasks are killed and the framework
              torn down; a second Ctrl-C quits at once

            THE COMMAND AFTER --
              With the shell (the default), the words are joined with spaces and
              run by /bin/sh -c on the agent, as ssh does: quote what the remote
              shell must see as one word ('a b'), or use --no-shell to run the
              words as argv, each exactly as given.

            MASTER OUTAGES
              A master that does not answer at the start is reported within
              seconds (exit 69). Once subscribed, a lost master (a failover, a
              network blip) is waited for, up to --failover-timeout seconds and
              two minutes at least, while the tasks go on running.
            """
    )

    // Cluster and framework.
    @Option(name: .long, help: "Master URL (repeat for several candidates). Default: $MESOS_MASTER, else a local cluster in this process.")
    var master: [String] = []
    @Option(name: .long, help: "Framework name.") var frameworkName = "mesos-submit"
    @Option(name: .long, help: "Role for the framework and its task.") var role: String?
    @Option(name: .long, help: "Principal for HTTP Basic authentication.") var principal: String?
    @Option(name: .long, help: "Secret for --principal.") var secret: String?
    @Option(name: .long, help: "Read the secret from this file (first line).") var secretFile: String?
    @Option(name: .long, help: "CA certificates (PEM) that verify an https master and its agents (for --follow).")
    var caFile: String?
    @Flag(name: .long, help: "Ask the agent to checkpoint the task.") var checkpoint = false
    @Option(name: .long, help: "Wire format: json or protobuf.") var contentType = "json"
    @Option(name: .long, help: "Extra framework capability (e.g. GPU_RESOURCES); repeatable.") var capability: [String] = []
    @Flag(name: .long, help: "Declare the PARTITION_AWARE capability (it is on by default).") var partitionAware = false
    @Option(name: .long, help: "Seconds the master keeps the framework's tasks after it disconnects.") var failoverTimeout: Double = 0
    @Option(name: .long, help: "Keep the framework ID and the tasks here; a run that finds tasks left by an interrupted run reattaches to them.")
    var stateDir: String?

    // The task.
    @Option(name: .long, help: "Task name (default: the command's first word).") var name: String?
    @Flag(inversion: .prefixedNo, help: "Run the command with /bin/sh -c (default) or as argv.") var shell = true
    @Option(name: .long, help: "Environment variable NAME=VALUE; repeatable.") var env: [String] = []
    @Option(name: .long, help: "Resources in Mesos's form, e.g. \"cpus:1;mem:256;disk:100\".") var resources: String?
    @Option(name: .long, help: "CPUs (default 0.1).") var cpus: Double?
    @Option(name: .long, help: "Memory in MB (default 32).") var mem: Double?
    @Option(name: .long, help: "Disk in MB.") var disk: Double?
    @Option(name: .long, help: "GPUs.") var gpus: Double?
    @Option(name: .long, help: "How many ports (PORT0, PORT1… in the task's environment).") var ports: Int?
    @Option(name: .long, help: "Local file or directory to ship (repeatable): PATH[,extract][,executable][,nocache][,as=NAME].") var artifact: [String] = []
    @Option(name: .long, help: "URI for the fetcher (repeatable): URL[,extract][,executable][,nocache][,as=NAME].") var uri: [String] = []
    @Option(name: .long, help: "Instances of the task to run.") var instances = 1
    @Option(name: .long, help: "Placement constraint, e.g. hostname:UNIQUE or rack:CLUSTER:r1; repeatable.") var constraint: [String] = []
    @Option(name: .long, help: "Docker image to run the task in.") var dockerImage: String?
    @Option(name: .long, help: "Containerizer for --docker-image, --network and --volume: mesos (the default, as mesos-execute's; it runs Docker images itself) or docker.")
    var containerizer = "mesos"
    @Option(name: .long, help: "Volume HOST_PATH:CONTAINER_PATH[:ro]; repeatable.") var volume: [String] = []
    @Option(name: .long, help: "Network name for the container; repeatable.") var network: [String] = []
    @Option(name: .long, help: "Kill the task after this many seconds.") var killAfter: Double?
    @Option(name: .long, help: "Grace period in seconds between SIGTERM and SIGKILL.") var killGracePeriod: Double?
    @Option(name: .long, help: "Attempts per instance for failed or lost tasks.") var attempts = 1
    @Option(name: .long, help: "A TaskInfo in JSON (the Mesos v1 form), or a file holding it, to launch instead of a command.")
    var task: String?
    @Option(name: .long, help: "A TaskGroupInfo in JSON, or a file holding it: its tasks launch together under the default executor.")
    var taskGroup: String?

    // Output.
    @Flag(name: .long, help: "Stream the task's stdout and stderr while it runs.") var follow = false
    @Flag(name: .long, help: "One JSON object per event on stdout, for machines.") var json = false
    @Flag(name: .long, help: "Plain lines even on a terminal (no live view).") var plain = false
    @Option(name: .long, help: "Give up (killing the tasks) after this many seconds.") var timeout: Double?
    @Flag(name: .long, help: "Log what happens (to stderr).") var verbose = false

    // The embedded cluster.
    @Option(name: .long, help: "Agents of the local cluster (without --master).") var localAgents = 1
    @Option(name: .long, help: "Resources of each local agent.") var localResources = "cpus:4;mem:4096;disk:10000;ports:[31000-32000]"

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        if self.command.isEmpty && self.task == nil && self.taskGroup == nil {
            throw ValidationError("give a command after --, or --task/--task-group")
        }
        if self.task != nil && !self.command.isEmpty {
            throw ValidationError("--task takes its command from the TaskInfo: no command after --")
        }
        // Seconds: finite, and at most about 30 years (which also keeps them inside a `Duration`).
        let seconds: [(String, Double?, Bool)] = [
            ("--timeout", self.timeout, false), ("--kill-after", self.killAfter, false),
            ("--kill-grace-period", self.killGracePeriod, true), ("--failover-timeout", self.failoverTimeout, true),
        ]
        for (flag, value, zeroAllowed) in seconds {
            guard let value else { continue }
            guard value.isFinite, value <= 1e9, zeroAllowed ? value >= 0 : value > 0 else {
                throw ValidationError("\(flag) wants a number of seconds \(zeroAllowed ? "from 0" : "above 0") up to 1e9, got \(value)")
            }
        }
        if self.instances < 1 { throw ValidationError("--instances must be at least 1") }
        if self.taskGroup != nil {
            if self.task != nil { throw ValidationError("give either --task or --task-group, not both") }
            if !self.command.isEmpty { throw ValidationError("--task-group takes its commands from the group: no command after --") }
            if self.instances != 1 { throw ValidationError("--instances does not apply to --task-group") }
            if self.dockerImage != nil || !self.volume.isEmpty {
                throw ValidationError("--docker-image and --volume do not apply to --task-group: set each task's container in the JSON")
            }
        }
        if !["json", "protobuf"].contains(self.contentType) { throw ValidationError("--content-type must be json or protobuf") }
        if !["mesos", "docker"].contains(self.containerizer) { throw ValidationError("--containerizer must be mesos or docker") }
        for text in self.constraint {
            do { _ = try PlacementConstraint(parsing: text) } catch { throw ValidationError("\(error)") }
        }
        if let caFile = self.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ValidationError("cannot read --ca-file \(caFile)")
        }
        for text in self.env where !text.contains("=") {
            throw ValidationError("--env wants NAME=VALUE, got '\(text)'")
        }
        if self.stateDir != nil {
            // The embedded cluster dies with this process, and without a failover timeout the master ends the
            // framework (and its tasks) as soon as this process is gone: nothing would be left to reattach to.
            if self.master.isEmpty { throw ValidationError("--state-dir needs --master (an embedded cluster ends with this process)") }
            if !(self.failoverTimeout > 0) {
                throw ValidationError("--state-dir needs --failover-timeout above 0 (the master keeps the tasks only that long once this process is gone)")
            }
        }
    }

    func run() async throws {
        let code = await Runner(options: self).run()
        throw ExitCode(code)
    }
}
