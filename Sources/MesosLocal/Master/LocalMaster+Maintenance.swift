import Logging
public import FoundationEssentials
public import Mesos
import NIOCore
import NIOHTTP1
import Synchronization

// Maintenance and inverse offers, as Mesos 1.11 does them: an operator posts a schedule (windows of machines with an
// unavailability: start, and optionally duration) to `/master/maintenance/schedule`; the agents on those machines
// are "draining". Their offers carry the `unavailability`, and every active framework with resources offered or
// allocated on such an agent gets an inverse offer for it (`HierarchicalAllocatorProcess::generateInverseOffers`:
// empty resources, meaning the whole agent). The framework answers with ACCEPT_INVERSE_OFFERS or
// DECLINE_INVERSE_OFFERS; the answer is recorded (`/master/maintenance/status`) and, with its filter, keeps the next
// inverse offer for that agent away for `refuse_seconds`.

/// One window of a maintenance schedule (`maintenance.Window`): machines and when they become unavailable.
public struct MaintenanceWindow: Sendable, Codable, Hashable {
    /// A machine (`MachineID`): an agent is on the machine with its hostname and IP.
    public struct Machine: Sendable, Codable, Hashable {
        public var hostname: String?
        public var ip: String?
        public init(hostname: String? = nil, ip: String? = nil) {
            self.hostname = hostname
            self.ip = ip
        }
    }
    public var machines: [Machine]
    /// When the machines become unavailable, in nanoseconds since the epoch (`Unavailability.start`).
    public var startNanoseconds: Int64
    /// For how long (`Unavailability.duration`); nil: indefinitely.
    public var durationNanoseconds: Int64?

    public init(machines: [Machine], start: Date, duration: Duration?) {
        self.machines = machines
        self.startNanoseconds = Int64((start.timeIntervalSince1970 * 1e9).rounded())
        self.durationNanoseconds = duration.map { Int64($0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000 }
    }

    var unavailability: Mesos_V1_Unavailability {
        var unavailability = Mesos_V1_Unavailability()
        unavailability.start.nanoseconds = self.startNanoseconds
        if let durationNanoseconds { unavailability.duration.nanoseconds = durationNanoseconds }
        return unavailability
    }
}

/// What a framework answered to an inverse offer (`allocator::InverseOfferStatus`).
public struct InverseOfferStatus: Sendable, Hashable {
    public enum Answer: String, Sendable {
        case unknown = "UNKNOWN"
        case accept = "ACCEPT"
        case decline = "DECLINE"
    }
    public var frameworkID: FrameworkID
    public var status: Answer
    /// Seconds since the epoch.
    public var timestamp: Double
}

/// `/master/maintenance/status` for one draining machine: the answers of the frameworks to its inverse offers.
public struct DrainingMachine: Sendable, Hashable {
    public var machine: MaintenanceWindow.Machine
    public var statuses: [InverseOfferStatus]
}

/// An inverse offer the master made and has not seen answered.
struct MasterInverseOffer {
    var offer: InverseOffer
    var frameworkID: String
    var agentID: String
}

extension LocalMaster {
    /// The machine an agent is on (`MachineID` from its hostname and IP).
    static func machine(of agent: MasterAgent) -> MaintenanceWindow.Machine {
        MaintenanceWindow.Machine(hostname: agent.info.hostname.lowercased(), ip: MasterURLParts(agent.handle.endpoint)?.host)
    }

    static func matches(_ window: MaintenanceWindow.Machine, _ machine: MaintenanceWindow.Machine) -> Bool {
        // A MachineID names a hostname, an IP or both; what it names must match.
        if window.hostname == nil && window.ip == nil { return false }
        if let hostname = window.hostname, hostname.lowercased() != machine.hostname { return false }
        if let ip = window.ip, ip != machine.ip { return false }
        return true
    }

    /// `JSON::protobuf(MachineID)`.
    static func json(_ machine: MaintenanceWindow.Machine) -> String {
        let writer = MasterJSONWriter()
        writer.object {
            if let hostname = machine.hostname { writer.field("hostname", hostname) }
            if let ip = machine.ip { writer.field("ip", ip) }
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The unavailability scheduled for an agent, if its machine is in a window.
    static func unavailability(of agent: MasterAgent, in schedule: [MaintenanceWindow]) -> Mesos_V1_Unavailability? {
        let machine = Self.machine(of: agent)
        return schedule.first { $0.machines.contains { Self.matches($0, machine) } }?.unavailability
    }

    /// `POST /master/maintenance/schedule`: replaces the whole schedule. Offers and inverse offers on agents whose
    /// unavailability changed are rescinded; from the next allocation on, their offers carry the unavailability and
    /// frameworks using them get inverse offers.
    ///
    /// - Throws: ``LocalMasterError`` with the real master's text when the schedule is invalid.
    public func scheduleMaintenance(_ windows: [MaintenanceWindow]) throws {
        var seen = Set<MaintenanceWindow.Machine>()
        for window in windows {
            if window.machines.isEmpty { throw LocalMasterError("List of machines in the maintenance window is empty") }
            for machine in window.machines {
                if machine.hostname == nil && machine.ip == nil {
                    throw LocalMasterError("Both 'hostname' and 'ip' for a machine are empty")
                }
                let normalized = MaintenanceWindow.Machine(hostname: machine.hostname?.lowercased(), ip: machine.ip)
                guard seen.insert(normalized).inserted else {
                    throw LocalMasterError("Machine '\(Self.json(normalized))' appears more than once in the schedule")
                }
            }
            if let duration = window.durationNanoseconds, duration < 0 {
                throw LocalMasterError("Unavailability 'duration' is negative")
            }
        }
        var effects = MasterEffects()
        self.state.withLock { state in
            let old = state.maintenance
            state.maintenance = windows.map { window in
                var window = window
                window.machines = window.machines.map { .init(hostname: $0.hostname?.lowercased(), ip: $0.ip) }
                return window
            }
            for (agentID, agent) in state.agents {
                let before = Self.unavailability(of: agent, in: old)
                let after = Self.unavailability(of: agent, in: state.maintenance)
                guard before != after else { continue }
                // `Master::updateUnavailability`: offers rescinded, inverse offers rescinded, answers forgotten.
                for (offerID, offer) in state.offers where offer.agentID == agentID {
                    state.offers[offerID] = nil
                    effects.send(.rescind(offer.offer.id), to: state.frameworks[offer.frameworkID]?.subscription)
                }
                for (offerID, inverse) in state.inverseOffers where inverse.agentID == agentID {
                    state.inverseOffers[offerID] = nil
                    var event = SchedulerEvent()
                    event.type = .rescindInverseOffer
                    event.rescindInverseOffer.inverseOfferID = inverse.offer.id
                    effects.send(event, to: state.frameworks[inverse.frameworkID]?.subscription)
                }
                state.inverseOfferStatuses[agentID] = nil
                for id in state.frameworks.keys { state.frameworks[id]?.inverseOfferFilters[agentID] = nil }
            }
            state.allocationWanted = true
            self.persistRegistry(state)
        }
        self.perform(effects)
    }

    /// Schedules maintenance for the machine an agent is on, starting at `start`, for `duration` (nil: no end);
    /// it joins the schedule in a window of its own.
    public func scheduleMaintenance(for agentID: AgentID, start: Date, duration: Duration?) throws {
        let (machine, schedule) = try self.state.withLock { state -> (MaintenanceWindow.Machine, [MaintenanceWindow]) in
            guard let agent = state.agents[agentID.value] else { throw LocalMasterError("Unknown agent \(agentID.value)") }
            return (Self.machine(of: agent), state.maintenance)
        }
        var windows = schedule.compactMap { window -> MaintenanceWindow? in
            var window = window
            window.machines.removeAll { $0 == machine }
            return window.machines.isEmpty ? nil : window
        }
        windows.append(MaintenanceWindow(machines: [machine], start: start, duration: duration))
        try self.scheduleMaintenance(windows)
    }

    /// The schedule (`GET /master/maintenance/schedule`).
    public var maintenanceSchedule: [MaintenanceWindow] { self.state.withLock { $0.maintenance } }

    /// The draining machines and the frameworks' answers to their inverse offers (`/master/maintenance/status`).
    public var maintenanceStatus: [DrainingMachine] {
        self.state.withLock { state in
            var machines: [DrainingMachine] = []
            for window in state.maintenance {
                for machine in window.machines {
                    var statuses: [InverseOfferStatus] = []
                    for (agentID, agent) in state.agents where Self.matches(machine, Self.machine(of: agent)) {
                        statuses += (state.inverseOfferStatuses[agentID] ?? [:]).values
                    }
                    machines.append(DrainingMachine(machine: machine, statuses: statuses.sorted { $0.frameworkID.value < $1.frameworkID.value }))
                }
            }
            return machines
        }
    }

    /// The inverse offers outstanding (made, not answered), for tests.
    public var outstandingInverseOffers: [InverseOffer] {
        self.state.withLock { state in state.inverseOffers.values.map(\.offer).sorted { $0.id.value < $1.id.value } }
    }

    // MARK: Allocation

    /// `generateInverseOffers`, run with each allocation round: one inverse offer per (framework, draining agent)
    /// for active frameworks with resources offered or allocated there, none outstanding, and no inverse offer filter.
    func generateInverseOffers(state: inout State, effects: inout MasterEffects) {
        guard !state.maintenance.isEmpty else { return }
        let now = ContinuousClock.now
        var byFramework: [String: [InverseOffer]] = [:]
        for agentID in state.agents.keys.sorted() {
            guard let agent = state.agents[agentID], let unavailability = Self.unavailability(of: agent, in: state.maintenance) else { continue }
            var users = Set(state.offers.values.filter { $0.agentID == agentID }.map(\.frameworkID))
            for framework in state.frameworks.values {
                if framework.tasks.values.contains(where: { $0.agentID == agentID && !$0.released })
                    || framework.executors.values.contains(where: { $0.agentID == agentID })
                {
                    users.insert(framework.id)
                }
            }
            for frameworkID in users.sorted() {
                guard let framework = state.frameworks[frameworkID], framework.subscription != nil else { continue }
                if state.inverseOffers.values.contains(where: { $0.agentID == agentID && $0.frameworkID == frameworkID }) { continue }
                if let until = framework.inverseOfferFilters[agentID], until > now { continue }
                var offer = InverseOffer()
                offer.id = self.nextOfferID(&state)
                offer.frameworkID = framework.info.id
                offer.agentID = agent.info.id
                offer.url = Self.url(of: agent)
                offer.unavailability = unavailability
                state.inverseOffers[offer.id.value] = MasterInverseOffer(offer: offer, frameworkID: frameworkID, agentID: agentID)
                byFramework[frameworkID, default: []].append(offer)
            }
        }
        for (frameworkID, offers) in byFramework {
            var event = SchedulerEvent()
            event.type = .inverseOffers
            event.inverseOffers.inverseOffers = offers
            effects.send(event, to: state.frameworks[frameworkID]?.subscription)
        }
    }

    /// ACCEPT_INVERSE_OFFERS and DECLINE_INVERSE_OFFERS: each valid inverse offer is answered (the status recorded
    /// with its time) and removed; `filters.refuse_seconds` (5 s by default) keeps the next one for that agent away.
    func answerInverseOffers(_ ids: [OfferID], accept: Bool, filters: Filters, frameworkID: String, state: inout State) {
        for id in ids {
            guard let inverse = state.inverseOffers[id.value], inverse.frameworkID == frameworkID else {
                self.logger.warning("local master: ignoring \(accept ? "accept" : "decline") of inverse offer \(id.value) since it is no longer valid")
                continue
            }
            state.inverseOffers[id.value] = nil
            state.inverseOfferStatuses[inverse.agentID, default: [:]][frameworkID] = InverseOfferStatus(
                frameworkID: FrameworkID(frameworkID), status: accept ? .accept : .decline, timestamp: Date().timeIntervalSince1970
            )
            var seconds = filters.refuseSeconds
            if !seconds.isFinite || seconds > 365 * 24 * 3600 { seconds = 365 * 24 * 3600 }
            if seconds > 0 {
                state.frameworks[frameworkID]?.inverseOfferFilters[inverse.agentID] = .now + .nanoseconds(Int64(seconds * 1e9))
            }
        }
        state.allocationWanted = true
    }
}

// MARK: - `/master/maintenance/schedule` and `/master/maintenance/status`

/// `maintenance.Schedule` in JSON, as the endpoints read and write it.
struct MaintenanceScheduleJSON: Codable {
    struct Machine: Codable {
        var hostname: String?
        var ip: String?
    }
    struct Time: Codable {
        var nanoseconds: Int64
    }
    struct Unavailability: Codable {
        var start: Time
        var duration: Time?
    }
    struct Window: Codable {
        var machine_ids: [Machine]?
        var unavailability: Unavailability
    }
    var windows: [Window]?
}

extension LocalMaster {
    func maintenanceScheduleEndpoint(_ request: LocalHTTPRequest) -> LocalHTTPResponse {
        switch request.method {
        case .GET:
            let schedule = self.maintenanceSchedule
            let json = MasterJSONWriter()
            json.object {
                guard !schedule.isEmpty else { return }
                json.key("windows")
                json.array(schedule) { window in
                    json.object {
                        json.key("machine_ids")
                        json.array(window.machines) { machine in
                            json.object {
                                if let hostname = machine.hostname { json.field("hostname", hostname) }
                                if let ip = machine.ip { json.field("ip", ip) }
                            }
                        }
                        json.key("unavailability")
                        json.object {
                            json.key("start")
                            json.object { json.field("nanoseconds", window.startNanoseconds) }
                            if let duration = window.durationNanoseconds {
                                json.key("duration")
                                json.object { json.field("nanoseconds", duration) }
                            }
                        }
                    }
                }
            }
            return .json(.ok, json.bytes)
        case .POST:
            let decoded: MaintenanceScheduleJSON
            do {
                decoded = try JSONDecoder().decode(MaintenanceScheduleJSON.self, from: Data(request.body.readableBytesView))
            } catch {
                return .text(.badRequest, "Failed to convert JSON into Schedule protobuf: \(error)")
            }
            let windows = (decoded.windows ?? []).map { window in
                var converted = MaintenanceWindow(
                    machines: (window.machine_ids ?? []).map { MaintenanceWindow.Machine(hostname: $0.hostname, ip: $0.ip) },
                    start: Date(timeIntervalSince1970: 0),
                    duration: nil
                )
                converted.startNanoseconds = window.unavailability.start.nanoseconds
                converted.durationNanoseconds = window.unavailability.duration?.nanoseconds
                return converted
            }
            do {
                try self.scheduleMaintenance(windows)
            } catch {
                return .text(.badRequest, (error as? LocalMasterError)?.description ?? "\(error)")
            }
            return .empty(.ok)
        default:
            return .text(
                .methodNotAllowed,
                "405 Method Not Allowed. Expecting one of { 'GET', 'POST' }, but received '\(request.method.rawValue)'.",
                headers: ["Allow": "GET, POST"]
            )
        }
    }

    func maintenanceStatusEndpoint(_ request: LocalHTTPRequest) -> LocalHTTPResponse {
        guard request.method == .GET else {
            return .text(
                .methodNotAllowed,
                "405 Method Not Allowed. Expecting one of { 'GET' }, but received '\(request.method.rawValue)'.",
                headers: ["Allow": "GET"]
            )
        }
        let draining = self.maintenanceStatus
        let json = MasterJSONWriter()
        json.object {
            guard !draining.isEmpty else { return }
            json.key("draining_machines")
            json.array(draining) { machine in
                json.object {
                    json.key("id")
                    json.object {
                        if let hostname = machine.machine.hostname { json.field("hostname", hostname) }
                        if let ip = machine.machine.ip { json.field("ip", ip) }
                    }
                    guard !machine.statuses.isEmpty else { return }
                    json.key("statuses")
                    json.array(machine.statuses) { status in
                        json.object {
                            json.key("framework_id")
                            json.object { json.field("value", status.frameworkID.value) }
                            json.field("status", status.status.rawValue)
                            json.key("timestamp")
                            json.object { json.field("nanoseconds", Int64((status.timestamp * 1e9).rounded())) }
                        }
                    }
                }
            }
        }
        return .json(.ok, json.bytes)
    }
}
