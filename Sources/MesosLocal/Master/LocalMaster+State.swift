import NIOHTTP1
import Synchronization
import Logging
import FoundationEssentials
import Mesos

// `/master/state` in the real master's JSON shape, for the fields clients read.
extension LocalMaster {
    func stateJSON() -> [UInt8] {
        let snapshot = self.state.withLock { $0 }
        let json = MasterJSONWriter()
        json.object {
            json.field("version", "1.11.0")
            json.field("git_tag", "1.11.0")
            json.field("id", snapshot.masterInfo.id)
            json.field("pid", snapshot.masterInfo.pid)
            json.field("hostname", snapshot.masterInfo.hostname)
            json.field("leader", snapshot.masterInfo.pid)
            json.field("activated_slaves", Double(snapshot.agents.count))
            json.field("deactivated_slaves", 0)
            json.key("slaves")
            json.array(snapshot.agents.values.sorted { $0.info.id.value < $1.info.id.value }) { agent in
                json.object {
                    json.field("id", agent.info.id.value)
                    json.field("hostname", agent.info.hostname)
                    json.field("port", Double(agent.info.port))
                    json.field("pid", "slave(1)@\(MasterURLParts(agent.handle.endpoint).map { "\($0.host):\($0.port)" } ?? "")")
                    json.field("active", true)
                    json.field("version", "1.11.0")
                    json.field("registered_time", agent.registeredTime)
                    json.key("resources"); json.resources(agent.total)
                    json.key("used_resources"); json.resources(agent.used)
                    let offered = snapshot.offers.values.filter { $0.agentID == agent.info.id.value }
                        .reduce(Resources()) { $0 + $1.resources.unallocated() }
                    json.key("offered_resources"); json.resources(offered)
                    json.key("unreserved_resources"); json.resources(agent.total.unreserved)
                    json.key("attributes")
                    json.object {
                        for attribute in agent.info.attributes {
                            switch attribute.type {
                            case .scalar: json.field(attribute.name, attribute.scalar.value)
                            case .text: json.field(attribute.name, attribute.text.value)
                            case .ranges:
                                json.field(attribute.name, "[" + attribute.ranges.range.map { "\($0.begin)-\($0.end)" }.joined(separator: ", ") + "]")
                            case .set: json.field(attribute.name, "{" + attribute.set.item.joined(separator: ",") + "}")
                            }
                        }
                    }
                }
            }
            json.key("frameworks")
            json.array(snapshot.frameworks.values.sorted { $0.id < $1.id }) { framework in
                json.object {
                    json.field("id", framework.id)
                    json.field("name", framework.info.name)
                    json.field("user", framework.info.user)
                    json.field("principal", framework.info.principal)
                    json.field("role", framework.info.role)
                    json.key("roles"); json.array(framework.roles) { json.string($0) }
                    json.field("active", framework.subscription != nil)
                    json.field("connected", framework.subscription != nil)
                    json.field("recovered", false)
                    json.field("failover_timeout", framework.info.failoverTimeout)
                    json.field("checkpoint", framework.info.checkpoint)
                    json.field("registered_time", framework.registeredTime)
                    let used = framework.tasks.values.filter { !$0.released }.reduce(Resources()) { $0 + $1.resources }
                    json.key("used_resources"); json.resources(used)
                    let offers = snapshot.offers.values.filter { $0.frameworkID == framework.id }
                    json.key("offered_resources"); json.resources(offers.reduce(Resources()) { $0 + $1.resources.unallocated() })
                    json.key("tasks")
                    json.array(framework.tasks.values.sorted { $0.info.taskID.value < $1.info.taskID.value }) { task in
                        json.object {
                            json.field("id", task.info.taskID.value)
                            json.field("name", task.info.name)
                            json.field("framework_id", framework.id)
                            json.field("executor_id", task.executorID ?? "")
                            json.field("slave_id", task.agentID)
                            json.field("state", "\(Self.stateName(task.state))")
                            json.field("role", task.role)
                            json.key("resources"); json.resources(task.resources)
                            json.key("statuses")
                            json.array(task.latestStatus.map { [$0] } ?? []) { status in
                                json.object {
                                    json.field("state", Self.stateName(status.state))
                                    json.field("timestamp", status.timestamp)
                                }
                            }
                        }
                    }
                    json.key("offers")
                    json.array(offers.sorted { $0.offer.id.value < $1.offer.id.value }) { offer in
                        json.object {
                            json.field("id", offer.offer.id.value)
                            json.field("framework_id", framework.id)
                            json.field("slave_id", offer.agentID)
                            json.key("resources"); json.resources(offer.resources.unallocated())
                        }
                    }
                }
            }
            json.key("completed_frameworks")
            json.array(snapshot.completedFrameworks.sorted()) { id in json.object { json.field("id", id) } }
        }
        return json.bytes
    }

    /// The enum's Mesos name (`TASK_RUNNING`), as the agent writes it.
    static func stateName(_ state: TaskState) -> String { AgentCore.stateName(state) }
}

/// A minimal JSON text writer (the state endpoints' shapes are not messages, so the codecs do not apply).
final class MasterJSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = [false]

    private func separator() {
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

    func resources(_ resources: Resources) {
        self.object {
            for name in ["cpus", "mem", "disk", "gpus"] { self.field(name, resources.scalar(named: name).doubleValue) }
            let ports = resources.ports
            if !ports.isEmpty { self.field("ports", ports.description) }
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
