import NIOHTTP1
import Synchronization
import Logging
import FoundationEssentials
import Mesos
import MesosCodecs

// `/master/state` (and `/state`) in the real master's JSON shape (`Master::ReadOnlyHandler::state`, with the
// writers of `src/common/http.cpp`): the master, its flags and leader, agents with their resources, frameworks with
// their tasks, completed tasks, offers and executors, completed frameworks.
extension LocalMaster {
    func stateJSON() -> [UInt8] {
        let snapshot = self.state.withLock { $0 }
        let codec = MessageCodec(.json)
        let json = MasterJSONWriter()
        let info = snapshot.masterInfo
        json.object {
            json.field("version", "1.11.0")
            json.field("git_tag", "1.11.0")
            json.field("build_date", "local")
            json.field("build_time", Double(0))
            json.field("build_user", "swift-mesos")
            json.field("start_time", snapshot.startTime)
            json.field("elected_time", snapshot.startTime)
            json.field("id", info.id)
            json.field("pid", info.pid)
            json.field("hostname", info.hostname)
            // The master's /state names every capability it has, QUOTA_V2 too (the one without a v1 name).
            json.key("capabilities")
            json.array(info.capabilities) { json.string($0.hasType ? Self.enumName($0.type) : "QUOTA_V2") }
            json.field("activated_slaves", Double(snapshot.agents.count))
            json.field("deactivated_slaves", Double(0))
            json.field("unreachable_slaves", Double(snapshot.removedAgents.values.filter { $0 == .unreachable }.count))
            if let leader = snapshot.leader {
                json.field("leader", "master@" + leader)
            } else {
                json.field("leader", info.pid)
                json.key("leader_info")
                json.object {
                    json.field("id", info.id)
                    json.field("pid", info.pid)
                    json.field("port", Double(info.port))
                    json.field("hostname", info.hostname)
                }
            }
            json.key("flags")
            json.object {
                for (name, value) in self.flags() { json.field(name, value) }
            }
            json.key("slaves")
            json.array(snapshot.agents.values.sorted { Self.agentOrder($0.info.id.value) < Self.agentOrder($1.info.id.value) }) { agent in
                json.object {
                    self.agentFields(agent.info, json: json)
                    json.field("pid", "slave(1)@\(MasterURLParts(agent.handle.endpoint).map { "\($0.host):\($0.port)" } ?? "")")
                    json.field("registered_time", agent.registeredTime)
                    json.key("resources"); json.resources(agent.total)
                    json.key("used_resources"); json.resources(agent.used)
                    let offered = snapshot.offers.values.filter { $0.agentID == agent.info.id.value }
                        .reduce(Resources()) { $0 + $1.resources.unallocated() }
                    json.key("offered_resources"); json.resources(offered)
                    json.key("reserved_resources")
                    json.object {
                        for (role, reserved) in agent.total.reservations.sorted(by: { $0.key < $1.key }) {
                            json.key(role); json.resources(reserved)
                        }
                    }
                    json.key("unreserved_resources"); json.resources(agent.total.unreserved)
                    json.field("active", true)
                    json.field("deactivated", false)
                    json.field("version", "1.11.0")
                    json.key("capabilities")
                    json.array(Self.agentCapabilities) { json.string($0) }
                }
            }
            json.key("recovered_slaves")
            json.array(snapshot.recoveredAgents.values.sorted { Self.agentOrder($0.id.value) < Self.agentOrder($1.id.value) }) { agent in
                json.object { self.agentFields(agent, json: json) }
            }
            json.key("frameworks")
            json.array(snapshot.frameworks.values.sorted { $0.id < $1.id }) { framework in
                json.object { self.frameworkFields(framework, snapshot: snapshot, codec: codec, json: json) }
            }
            json.key("completed_frameworks")
            json.array(snapshot.completedFrameworkRecords) { framework in
                json.object { self.frameworkFields(framework, snapshot: snapshot, codec: codec, json: json) }
            }
            json.key("orphan_tasks"); json.array([Int]()) { _ in }
            json.key("unregistered_frameworks"); json.array([Int]()) { _ in }
        }
        return json.bytes
    }

    /// A 1.11 agent's default capabilities (`AGENT_CAPABILITIES()`).
    static let agentCapabilities = [
        "HIERARCHICAL_ROLE", "MULTI_ROLE", "RESERVATION_REFINEMENT", "RESOURCE_PROVIDER", "RESIZE_VOLUME",
        "AGENT_OPERATION_FEEDBACK", "AGENT_DRAINING", "TASK_RESOURCE_LIMITS",
    ]

    /// The master's flags as `/master/state` lists them (names of the real master's flags; values as it prints them).
    func flags() -> [(String, String)] {
        let configuration = self.configuration
        func duration(_ value: Duration) -> String {
            let (seconds, attoseconds) = value.components
            let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
            return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)secs" : "\(milliseconds)ms"
        }
        var flags: [(String, String)] = [
            ("allocation_interval", duration(configuration.allocationInterval)),
            ("authenticate_http_frameworks", configuration.credentials == nil ? "false" : "true"),
            ("hostname", configuration.hostname),
            ("ip", configuration.host),
            ("max_completed_frameworks", "50"),
            ("max_completed_tasks_per_framework", "1000"),
            ("port", String(self.port)),
            ("registry", configuration.workDirectory == nil ? "in_memory" : "replicated_log"),
            ("version", "false"),
        ]
        if let timeout = configuration.offerTimeout { flags.append(("offer_timeout", duration(timeout))) }
        if let work = configuration.workDirectory { flags.append(("work_dir", work)) }
        return flags.sorted { $0.0 < $1.0 }
    }

    /// `json(SlaveInfo)`: id, hostname, port, attributes, domain.
    private func agentFields(_ info: AgentInfo, json: MasterJSONWriter) {
        json.field("id", info.id.value)
        json.field("hostname", info.hostname)
        json.field("port", Double(info.port))
        json.key("attributes")
        json.object {
            for attribute in info.attributes {
                switch attribute.type {
                case .scalar: json.field(attribute.name, attribute.scalar.value)
                case .text: json.field(attribute.name, attribute.text.value)
                case .ranges:
                    json.field(attribute.name, "[" + attribute.ranges.range.map { "\($0.begin)-\($0.end)" }.joined(separator: ", ") + "]")
                case .set: json.field(attribute.name, "{" + attribute.set.item.joined(separator: ", ") + "}")
                }
            }
        }
        if info.hasDomain, let domain = try? MessageCodec(.json).encode(info.domain) { json.raw("domain", domain) }
    }

    /// `FullFrameworkWriter`.
    private func frameworkFields(_ framework: MasterFramework, snapshot: State, codec: MessageCodec, json: MasterJSONWriter) {
        let info = framework.info
        let used = framework.tasks.values.filter { !$0.released }.reduce(Resources()) { $0 + $1.resources }
            + framework.executors.values.reduce(Resources()) { $0 + $1.resources }
        let offers = snapshot.offers.values.filter { $0.frameworkID == framework.id }.sorted { $0.offer.id.value < $1.offer.id.value }
        let offered = offers.reduce(Resources()) { $0 + $1.resources.unallocated() }
        json.field("id", framework.id)
        json.field("name", info.name)
        json.key("used_resources"); json.resources(used)
        json.key("offered_resources"); json.resources(offered)
        json.key("capabilities"); json.array(info.capabilities) { json.string(Self.enumName($0.type)) }
        json.field("hostname", info.hostname)
        json.field("webui_url", info.webuiURL)
        json.field("active", framework.subscription != nil)
        json.field("connected", framework.subscription != nil)
        json.field("recovered", framework.recovered)
        json.field("user", info.user)
        json.field("failover_timeout", info.failoverTimeout)
        json.field("checkpoint", info.checkpoint)
        json.field("registered_time", framework.registeredTime)
        json.field("unregistered_time", framework.unregisteredTime)
        if info.hasPrincipal { json.field("principal", info.principal) }
        json.key("resources"); json.resources(used + offered)
        if let reregistered = framework.reregisteredTime { json.field("reregistered_time", reregistered) }
        if info.capabilities.contains(where: { $0.type == .multiRole }) {
            json.key("roles"); json.array(info.roles) { json.string($0) }
        } else {
            json.field("role", info.hasRole ? info.role : "*")
        }
        json.key("tasks")
        json.array(framework.tasks.values.sorted { $0.info.taskID.value < $1.info.taskID.value }) { task in
            json.object { self.taskFields(task, codec: codec, json: json) }
        }
        json.key("unreachable_tasks")
        json.array(framework.unreachableTasks) { task in
            json.object { self.taskFields(task, codec: codec, json: json) }
        }
        json.key("completed_tasks")
        json.array(framework.completedTasks) { task in
            json.object { self.taskFields(task, codec: codec, json: json) }
        }
        json.key("offers")
        json.array(offers) { offer in
            json.object {
                json.field("id", offer.offer.id.value)
                json.field("framework_id", framework.id)
                json.key("allocation_info"); json.object { json.field("role", offer.role) }
                json.field("slave_id", offer.agentID)
                json.key("resources"); json.resources(offer.resources)
            }
        }
        json.key("executors")
        json.array(framework.executors.values.sorted { $0.info.executorID.value < $1.info.executorID.value }) { executor in
            json.object {
                json.field("executor_id", executor.info.executorID.value)
                json.field("name", executor.info.name)
                json.field("framework_id", framework.id)
                if let command = try? codec.encode(executor.info.command) { json.raw("command", command) }
                json.key("resources"); json.resources(executor.resources)
                if executor.info.hasType { json.field("type", Self.enumName(executor.info.type)) }
                json.field("slave_id", executor.agentID)
            }
        }
        if info.hasLabels, let labels = try? codec.encode(info.labels) { json.raw("labels", labels) }
        // `JSON::Protobuf(offerConstraints())`: what the framework set, `{}` when it set none.
        if let constraints = framework.offerConstraints?.constraints, let encoded = try? codec.encode(constraints) {
            json.raw("offer_constraints", encoded)
        } else {
            json.key("offer_constraints"); json.object {}
        }
    }

    /// `json(Task)`.
    private func taskFields(_ task: MasterTask, codec: MessageCodec, json: MasterJSONWriter) {
        json.field("id", task.info.taskID.value)
        json.field("name", task.info.name)
        json.field("framework_id", task.frameworkID)
        json.field("executor_id", task.info.hasExecutor ? task.info.executor.executorID.value : "")
        json.field("slave_id", task.agentID)
        json.field("state", Self.stateName(task.state))
        json.key("resources"); json.resources(task.resources)
        json.field("role", task.role)
        json.key("statuses")
        json.array(task.statuses) { status in
            json.object {
                json.field("state", Self.stateName(status.state))
                json.field("timestamp", status.timestamp)
                if status.hasLabels, let labels = try? codec.encode(status.labels) { json.raw("labels", labels) }
                if status.hasContainerStatus, status.containerStatus.hasContainerID,
                    let id = try? codec.encode(status.containerStatus.containerID)
                {
                    json.key("container_status")
                    json.object { json.raw("container_id", id) }
                }
                if status.hasHealthy { json.field("healthy", status.healthy) }
            }
        }
        if task.info.hasLabels, let labels = try? codec.encode(task.info.labels) { json.raw("labels", labels) }
        if task.info.hasDiscovery, let discovery = try? codec.encode(task.info.discovery) { json.raw("discovery", discovery) }
        if task.info.hasContainer, let container = try? codec.encode(task.info.container) { json.raw("container", container) }
        if task.info.hasHealthCheck, let check = try? codec.encode(task.info.healthCheck) { json.raw("health_check", check) }
    }

    /// The enum's Mesos name (`TASK_RUNNING`), as the agent writes it.
    static func stateName(_ state: TaskState) -> String { AgentCore.stateName(state) }

    /// A protobuf enum value's name as Mesos spells it (`multiRole` → `MULTI_ROLE`).
    static func enumName(_ value: some Any) -> String {
        var name = ""
        for character in String(describing: value) {
            if character.isUppercase, !name.isEmpty { name += "_" }
            name += character.uppercased()
        }
        return name
    }
}

/// A minimal JSON text writer (the state endpoints' shapes are not messages, so the codecs do not apply).
final class MasterJSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = [false]

    func separator() {
        if self.needsComma[self.needsComma.count - 1] { self.bytes.append(UInt8(ascii: ",")) }
        self.needsComma[self.needsComma.count - 1] = true
    }

    func object(_ body: () -> Void) {
        self.separator()
        self.bytes.append(UInt8(ascii: "{"))
        self.needsComma.append(false)
        body()
        self.needsComma.removeLast()
        self.bytes.append(UInt8(ascii: "}"))
    }

    func array<S: Sequence>(_ items: S, _ body: (S.Element) -> Void) {
        self.separator()
        self.bytes.append(UInt8(ascii: "["))
        self.needsComma.append(false)
        for item in items { body(item) }
        self.needsComma.removeLast()
        self.bytes.append(UInt8(ascii: "]"))
    }

    func key(_ name: String) {
        self.separator()
        self.quoted(name)
        self.bytes.append(UInt8(ascii: ":"))
        // The value that follows must not write another comma; writing it sets the flag again.
        self.needsComma[self.needsComma.count - 1] = false
    }

    func string(_ value: String) {
        self.separator()
        self.quoted(value)
    }

    func field(_ name: String, _ value: String) { self.key(name); self.string(value) }
    func field(_ name: String, _ value: Double) { self.key(name); self.number(value) }
    func field(_ name: String, _ value: Int64) {
        self.key(name)
        self.separator()
        self.bytes.append(contentsOf: Array(String(value).utf8))
    }
    func field(_ name: String, _ value: Bool) {
        self.key(name)
        self.separator()
        self.bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    func number(_ value: Double) {
        self.separator()
        let text = value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)) : "null"
        self.bytes.append(contentsOf: Array(text.utf8))
    }

    /// `name` with JSON text written elsewhere (a message in Mesos's JSON form) as its value.
    func raw(_ name: String, _ json: [UInt8]) {
        self.key(name)
        self.separator()
        self.bytes.append(contentsOf: json)
    }

    /// Resources as `json(Resources)` writes them: every scalar summed by name (`cpus`, `gpus`, `mem` and `disk`
    /// always; revocable ones as `<name>_revocable`), ranges as `[a-b, c-d]`, sets as `{a, b}`.
    func resources(_ resources: Resources) {
        var scalars: [String: Double] = ["cpus": 0, "gpus": 0, "mem": 0, "disk": 0]
        var ranges: [String: [Resource]] = [:]
        var sets: [String: [String]] = [:]
        for resource in resources {
            let name = resource.name + (resource.hasRevocable ? "_revocable" : "")
            switch resource.type {
            case .scalar: scalars[name, default: 0] += resource.scalar.value
            case .ranges: ranges[name, default: []].append(resource)
            case .set: sets[name, default: []] += resource.set.item
            case .text: break
            }
        }
        self.object {
            for (name, value) in scalars.sorted(by: { $0.key < $1.key }) {
                self.field(name, (value * 1000).rounded() / 1000)
            }
            for (name, list) in ranges.sorted(by: { $0.key < $1.key }) {
                self.field(name, Resources(list).ranges(named: list[0].name).description)
            }
            for (name, items) in sets.sorted(by: { $0.key < $1.key }) {
                self.field(name, "{" + items.joined(separator: ", ") + "}")
            }
        }
    }

    private func quoted(_ text: String) {
        self.bytes.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case "\\": self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case "\n": self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case "\r": self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case "\t": self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    self.bytes.append(contentsOf: Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8))
                } else {
                    self.bytes.append(contentsOf: Array(String(scalar).utf8))
                }
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}
