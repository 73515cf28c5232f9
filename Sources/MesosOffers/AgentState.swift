import Mesos

/// The resource dimensions the matcher indexes, in thousandths (ports: a count).
struct Amounts: Equatable {
    var cpus: Int64 = 0
    var mem: Int64 = 0
    var disk: Int64 = 0
    var gpus: Int64 = 0
    var ports: Int64 = 0

    init() {}

    init(_ request: ResourceRequest) {
        self.cpus = request.cpus.milli
        self.mem = request.mem.milli
        self.disk = request.disk.milli
        self.gpus = request.gpus.milli
        self.ports = Int64(request.portCount)
    }

    func covers(_ need: Amounts) -> Bool {
        self.cpus >= need.cpus && self.mem >= need.mem && self.disk >= need.disk && self.gpus >= need.gpus
            && self.ports >= need.ports
    }

    static func += (lhs: inout Amounts, rhs: Amounts) {
        lhs.cpus += rhs.cpus
        lhs.mem += rhs.mem
        lhs.disk += rhs.disk
        lhs.gpus += rhs.gpus
        lhs.ports += rhs.ports
    }
}

/// Offered resources of one agent that share a reservation and an allocation role: what a task of an eligible
/// role can draw from. Persistent volumes, shared, revocable and provider resources are left out: a task asking
/// for quantities never takes them.
struct Pool {
    /// The allocation role the offer was made to (multi-role frameworks), nil without allocation info.
    var allocationRole: String?
    /// The role of the top-most reservation, `*` for unreserved resources.
    var reservationRole: String
    /// The identity (value cleared) of each named resource, copied into what tasks launch with.
    var templates: [String: Resource] = [:]
    var free = Amounts()
    var otherScalars: [String: Int64] = [:]
    var portRanges = ValueRanges()

    func isEligible(for role: String) -> Bool {
        if let allocationRole, allocationRole != role { return false }
        return self.reservationRole == "*" || self.reservationRole == role || role.hasPrefix(self.reservationRole + "/")
    }
}

/// One agent's offers in a matching round, and what is left of them.
struct AgentState {
    var agentID: AgentID
    var hostname: String
    var attributes: [Attribute]
    var domain: DomainInfo?
    var offers: [Offer]
    var pools: [Pool]
    var placedTasks = 0

    /// Free amounts over the pools eligible for `role`.
    func free(for role: String) -> Amounts {
        var total = Amounts()
        for pool in self.pools where pool.isEligible(for: role) { total += pool.free }
        return total
    }

    func freeScalar(_ name: String, for role: String) -> Int64 {
        self.pools.reduce(0) { $0 + ($1.isEligible(for: role) ? $1.otherScalars[name, default: 0] : 0) }
    }

    /// Takes `request` from the eligible pools (reserved ones first) and returns the resources taken, with the
    /// named ports chosen. The caller has checked that it fits.
    mutating func take(_ request: ResourceRequest, role: String) -> (resources: [Resource], namedPorts: [String: UInt64]) {
        // Reserved pools first, then unreserved; most agents have a single pool.
        let order: [Int]
        if self.pools.count == 1 {
            order = self.pools[0].isEligible(for: role) ? [0] : []
        } else {
            let eligible = self.pools.indices.filter { self.pools[$0].isEligible(for: role) }
            order = eligible.filter { self.pools[$0].reservationRole != "*" } + eligible.filter { self.pools[$0].reservationRole == "*" }
        }
        var taken: [Resource] = []
        func takeScalar(_ name: String, _ amount: Int64, _ keyPath: WritableKeyPath<Amounts, Int64>?) {
            var remaining = amount
            for index in order where remaining > 0 {
                let available = keyPath.map { self.pools[index].free[keyPath: $0] } ?? self.pools[index].otherScalars[name, default: 0]
                let part = min(available, remaining)
                guard part > 0, var resource = self.pools[index].templates[name] else { continue }
                if let keyPath {
                    self.pools[index].free[keyPath: keyPath] -= part
                } else {
                    self.pools[index].otherScalars[name, default: 0] -= part
                }
                resource.scalar = Mesos_V1_Value.Scalar(ScalarQuantity(milli: part))
                taken.append(resource)
                remaining -= part
            }
        }
        takeScalar("cpus", request.cpus.milli, \.cpus)
        takeScalar("mem", request.mem.milli, \.mem)
        takeScalar("disk", request.disk.milli, \.disk)
        takeScalar("gpus", request.gpus.milli, \.gpus)
        for name in request.scalars.keys.sorted() { takeScalar(name, request.scalars[name]!.milli, nil) }

        var ports: [UInt64] = []
        var remaining = request.portCount
        for index in order where remaining > 0 {
            let available = self.pools[index].portRanges
            let count = Int(min(available.valueCount, UInt64(remaining)))
            guard count > 0, let picked = available.first(count), var resource = self.pools[index].templates["ports"] else { continue }
            self.pools[index].portRanges = available.removingFirst(count)
            self.pools[index].free.ports -= Int64(count)
            remaining -= count
            for range in picked { ports += Array(range) }
            resource.ranges = Mesos_V1_Value.Ranges(picked)
            taken.append(resource)
        }
        var named: [String: UInt64] = [:]
        for (name, port) in zip(request.namedPorts, ports) { named[name] = port }
        self.placedTasks += 1
        return (taken, named)
    }
}

extension AgentState {
    /// Groups offers by agent, in agent ID order, each agent's offers in offer ID order.
    static func make(from offers: [Offer]) -> [AgentState] {
        var byAgent: [String: [Offer]] = [:]
        for offer in offers { byAgent[offer.agentID.value, default: []].append(offer) }
        return byAgent.keys.sorted().map { id in
            let offers = byAgent[id]!.sorted { $0.id.value < $1.id.value }
            var pools: [Pool] = []
            var poolIndex: [PoolKey: Int] = [:]
            for offer in offers {
                for resource in offer.resources where Self.isAllocatable(resource) {
                    let key = PoolKey(resource)
                    let index: Int
                    if let existing = poolIndex[key] {
                        index = existing
                    } else {
                        index = pools.count
                        poolIndex[key] = index
                        pools.append(
                            Pool(
                                allocationRole: resource.hasAllocationInfo ? resource.allocationInfo.role : nil,
                                reservationRole: resource.reservationRole
                            )
                        )
                    }
                    Self.add(resource, to: &pools[index])
                }
            }
            let first = offers[0]
            return AgentState(
                agentID: first.agentID,
                hostname: first.hostname,
                attributes: first.attributes,
                domain: first.hasDomain ? first.domain : nil,
                offers: offers,
                pools: pools
            )
        }
    }

    /// What makes offered resources interchangeable for a task: allocation and reservations. (Hashing whole
    /// `Resource` messages instead costs more than the rest of a round's setup.)
    private struct PoolKey: Hashable {
        var allocationRole: String?
        var role: String?
        var reservations: [Mesos_V1_Resource.ReservationInfo]
        var reservation: Mesos_V1_Resource.ReservationInfo?

        init(_ resource: Resource) {
            self.allocationRole = resource.hasAllocationInfo ? resource.allocationInfo.role : nil
            self.role = resource.hasRole ? resource.role : nil
            self.reservations = resource.reservations
            self.reservation = resource.hasReservation ? resource.reservation : nil
        }
    }

    private static func isAllocatable(_ resource: Resource) -> Bool {
        !resource.hasRevocable && !resource.hasShared && !resource.hasProviderID
            && !(resource.hasDisk && (resource.disk.hasPersistence || resource.disk.hasSource || resource.disk.hasVolume))
    }

    private static func add(_ resource: Resource, to pool: inout Pool) {
        if pool.templates[resource.name] == nil {
            var template = resource
            template.clearScalar()
            template.clearRanges()
            template.clearSet()
            pool.templates[resource.name] = template
        }
        switch resource.type {
        case .scalar:
            let amount = resource.scalar.quantity.milli
            switch resource.name {
            case "cpus": pool.free.cpus += amount
            case "mem": pool.free.mem += amount
            case "disk": pool.free.disk += amount
            case "gpus": pool.free.gpus += amount
            default: pool.otherScalars[resource.name, default: 0] += amount
            }
        case .ranges where resource.name == "ports":
            pool.portRanges += ValueRanges(resource.ranges.range.filter { $0.begin <= $0.end }.map { $0.begin...$0.end })
            // A count of ports, saturated (a range from the network may span all of UInt64).
            pool.free.ports = Int64(min(pool.portRanges.valueCount, UInt64(Int32.max)))
        default:
            break  // sets and other ranges: not requested by quantity
        }
    }
}
