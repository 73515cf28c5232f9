import Mesos
import MesosOffers

/// Builders for offers as a master sends them.
enum OfferFixtures {
    static func scalar(_ name: String, _ value: Double, role: String? = nil, allocation: String? = "*") -> Resource {
        var resource = Resource()
        resource.name = name
        resource.type = .scalar
        resource.scalar.value = value
        if let role {
            var reservation = Mesos_V1_Resource.ReservationInfo()
            reservation.type = .static
            reservation.role = role
            resource.reservations = [reservation]
        }
        if let allocation { resource.allocationInfo.role = allocation }
        return resource
    }

    static func ports(_ ranges: [ClosedRange<UInt64>], role: String? = nil, allocation: String? = "*") -> Resource {
        var resource = scalar("ports", 0, role: role, allocation: allocation)
        resource.type = .ranges
        resource.clearScalar()
        resource.ranges.range = ranges.map {
            var range = Mesos_V1_Value.Range()
            range.begin = $0.lowerBound
            range.end = $0.upperBound
            return range
        }
        return resource
    }

    static func text(_ name: String, _ value: String) -> Attribute {
        var attribute = Attribute()
        attribute.name = name
        attribute.type = .text
        attribute.text.value = value
        return attribute
    }

    static func offer(
        _ id: String,
        agent: String,
        host: String? = nil,
        cpus: Double = 4,
        mem: Double = 4096,
        disk: Double = 0,
        ports: [ClosedRange<UInt64>] = [31000...31009],
        attributes: [Attribute] = [],
        zone: String? = nil,
        allocation: String? = "*",
        extra: [Resource] = []
    ) -> Offer {
        var offer = Offer()
        offer.id = OfferID(id)
        offer.frameworkID = "framework"
        offer.agentID = AgentID(agent)
        offer.hostname = host ?? agent + ".example"
        var resources = [scalar("cpus", cpus, allocation: allocation), scalar("mem", mem, allocation: allocation)]
        if disk > 0 { resources.append(scalar("disk", disk, allocation: allocation)) }
        if !ports.isEmpty { resources.append(self.ports(ports, allocation: allocation)) }
        offer.resources = resources + extra
        offer.attributes = attributes
        if let allocation { offer.allocationInfo.role = allocation }
        if let zone {
            offer.domain.faultDomain.region.name = "region-1"
            offer.domain.faultDomain.zone.name = zone
        }
        return offer
    }

    static func task(
        _ id: String,
        cpus: ScalarQuantity = 1,
        mem: ScalarQuantity = 128,
        ports: Int = 0,
        role: String = "*",
        group: String = "app",
        constraints: [PlacementConstraint] = [],
        priority: Int = 0,
        gang: String? = nil
    ) -> TaskRequest {
        var template = TaskInfo()
        template.command.value = "sleep 10"
        return TaskRequest(
            taskID: TaskID(id),
            role: role,
            resources: ResourceRequest(cpus: cpus, mem: mem, ports: ports),
            constraints: constraints,
            priority: priority,
            group: group,
            gang: gang,
            template: template
        )
    }

    static func agentInfo(host: String, attributes: [Attribute] = []) -> AgentInfo {
        var info = AgentInfo()
        info.hostname = host
        info.attributes = attributes
        return info
    }
}

extension MatchResult {
    func agent(of task: String) -> String? {
        self.placements.first { $0.taskID.value == task }?.agentID.value
    }

    /// Total scalar `name` placed per agent.
    func placedScalar(_ name: String) -> [String: Double] {
        var totals: [String: Double] = [:]
        for placement in self.placements {
            for resource in placement.resources where resource.name == name {
                totals[placement.agentID.value, default: 0] += resource.scalar.value
            }
        }
        return totals
    }
}
