import Mesos
import PropertyBased
import SwiftProtobuf
import Testing

/// Builders for resources in the shapes masters send.
enum Fixture {
    static func scalar(
        _ name: String,
        _ value: Double,
        reservations: [Resource.ReservationInfo] = [],
        allocation: String? = nil
    ) -> Resource {
        var resource = Resource()
        resource.name = name
        resource.type = .scalar
        resource.scalar.value = value
        resource.reservations = reservations
        if let allocation { resource.allocationInfo.role = allocation }
        return resource
    }

    static func ports(_ ranges: ValueRanges, reservations: [Resource.ReservationInfo] = []) -> Resource {
        var resource = Resource(name: "ports", ranges: ranges)
        resource.reservations = reservations
        return resource
    }

    static func volume(_ id: String, size: Double, shared: Bool = false, role: String = "eng") -> Resource {
        var resource = scalar("disk", size, reservations: [.dynamic(role: role, principal: "ops")])
        resource.disk.persistence.id = id
        resource.disk.volume.containerPath = "data"
        if shared { resource.shared = Resource.SharedInfo() }
        return resource
    }

    static func mountDisk(_ root: String, size: Double) -> Resource {
        var resource = scalar("disk", size)
        resource.disk.source.type = .mount
        resource.disk.source.mount.root = root
        return resource
    }
}

@Suite("Resources")
struct ResourcesTests {
    typealias F = Fixture

    // MARK: Scalars

    @Test("scalars add in fixed point: 0.1 + 0.2 is exactly 0.3")
    func fixedPoint() throws {
        let sum = Resources([F.scalar("cpus", 0.1), F.scalar("cpus", 0.2)])
        #expect(sum.cpus == ScalarQuantity(0.3))
        #expect(sum.protobufs.count == 1)
        #expect(sum.protobufs[0].scalar.value == 0.3)
        #expect(sum == Resources(F.scalar("cpus", 0.3)))

        var thousand = Resources()
        for _ in 0..<1000 { thousand += F.scalar("cpus", 0.001) }
        #expect(thousand.cpus == 1)
        #expect(thousand.protobufs[0].scalar.value == 1)
        #expect((thousand - F.scalar("cpus", 0.999)).cpus == ScalarQuantity(milli: 1))
    }

    @Test("scalars round to thousandths: 0.0005 rounds up, 0.0004 is nothing")
    func rounding() {
        #expect(Resources(F.scalar("cpus", 0.0005)).cpus == ScalarQuantity(milli: 1))
        #expect(Resources(F.scalar("cpus", 0.0005)).protobufs[0].scalar.value == 0.001)
        #expect(Resources(F.scalar("cpus", 0.0004)).isEmpty)
        #expect(!Resources(F.scalar("cpus", 100)).contains(F.scalar("cpus", 0.0004)))
        #expect(Resources(F.scalar("cpus", 1.23456)).description == "cpus:1.235")
        #expect((Resources(F.scalar("mem", 1)) - F.scalar("mem", 0.9996)).isEmpty)
    }

    // MARK: Adding and subtracting

    @Test("resources with the same identity merge; ranges coalesce, sets union")
    func merging() {
        var resources = Resources([F.scalar("cpus", 1), F.scalar("mem", 128), F.ports([31000...31002])])
        resources += F.scalar("cpus", 2)
        resources += F.ports([31003...31005])
        resources += Resource(name: "zones", set: ["a", "b"])
        resources += Resource(name: "zones", set: ["b", "c"])
        #expect(resources.description == "cpus:3;mem:128;ports:[31000-31005];zones:{a, b, c}")
        #expect(Array(resources).count == 4)
    }

    @Test(
        "different reservations, allocation roles, revocability and providers are kept apart",
        arguments: [
            ("reservation role", F.scalar("cpus", 1), F.scalar("cpus", 1, reservations: [.static(role: "eng")])),
            (
                "static vs dynamic",
                F.scalar("cpus", 1, reservations: [.static(role: "eng")]),
                F.scalar("cpus", 1, reservations: [.dynamic(role: "eng")])
            ),
            (
                "principal",
                F.scalar("cpus", 1, reservations: [.dynamic(role: "eng", principal: "a")]),
                F.scalar("cpus", 1, reservations: [.dynamic(role: "eng", principal: "b")])
            ),
            (
                "refinement",
                F.scalar("cpus", 1, reservations: [.static(role: "eng")]),
                F.scalar("cpus", 1, reservations: [.static(role: "eng"), .dynamic(role: "eng/web")])
            ),
            ("allocation role", F.scalar("cpus", 1, allocation: "web"), F.scalar("cpus", 1, allocation: "api")),
            ("allocated or not", F.scalar("cpus", 1), F.scalar("cpus", 1, allocation: "web")),
            ("revocable", F.scalar("cpus", 1), Self.revocableCPUs),
            ("provider", F.scalar("cpus", 1), Self.providerCPUs),
        ]
    )
    func identities(label: String, first: Resource, second: Resource) {
        let sum = Resources(first) + second
        #expect(sum.protobufs.count == 2, "\(label)")
        #expect(sum.cpus == 2, "\(label)")
        #expect(!Resources(first).contains(second), "\(label)")
        #expect(Resources(first) - second == Resources(first), "\(label)")
        #expect(sum - second == Resources(first), "\(label)")
        #expect((Resources(first) + first).protobufs.count == 1, "\(label)")
    }

    static var revocableCPUs: Resource {
        var resource = F.scalar("cpus", 1)
        resource.revocable = Resource.RevocableInfo()
        return resource
    }

    static var providerCPUs: Resource {
        var resource = F.scalar("cpus", 1)
        resource.providerID = "provider-1"
        return resource
    }

    @Test("allocation roles and reservation roles are separate identities")
    func allocationSeparate() {
        let web = F.scalar("cpus", 1, allocation: "web")
        let api = F.scalar("cpus", 1, allocation: "api")
        let none = F.scalar("cpus", 1)
        let resources = Resources([web, api, none, web])
        #expect(resources.protobufs.count == 3)
        #expect(resources.allocations["web"]?.cpus == 2)
        #expect(resources.allocations["api"]?.cpus == 1)
        #expect(resources.unallocated().protobufs.count == 1)
        #expect(resources.unallocated().cpus == 4)
        #expect(resources.allocated(to: "db").protobufs.map(\.allocationRole) == ["db"])
        #expect(resources.allocated(to: "db").unreserved.cpus == 4)
    }

    @Test("persistent volumes never merge, even with an identical copy, and differ by persistence id")
    func persistentVolumes() {
        let a = F.volume("a", size: 10)
        let b = F.volume("b", size: 10)
        #expect((Resources(a) + b).protobufs.count == 2)
        #expect((Resources(a) + a).protobufs.count == 2)
        #expect((Resources(a) + b).disk == 20)
        // Only taken out whole.
        #expect((Resources(a) - F.volume("a", size: 5)) == Resources(a))
        #expect((Resources(a) + b - a) == Resources(b))
        // The volume's mount point is not part of its identity.
        var elsewhere = a
        elsewhere.disk.volume.containerPath = "other"
        #expect((Resources(a) - elsewhere).isEmpty)
        // Each volume in `contains` needs its own volume.
        #expect(Resources(a).contains(Resources(a)))
        #expect(!Resources(a).contains(Resources(a) + a))
        #expect((Resources(a) + a).contains(Resources(a) + a))
    }

    @Test("MOUNT disks are exclusive: never merged, only subtracted whole")
    func mountDisks() {
        let disk = F.mountDisk("/mnt/a", size: 100)
        #expect((Resources(disk) + disk).protobufs.count == 2)
        #expect(Resources(disk) - F.mountDisk("/mnt/a", size: 10) == Resources(disk))
        #expect((Resources(disk) - disk).isEmpty)
        #expect(!Resources(disk).contains(F.mountDisk("/mnt/a", size: 10)))
        #expect(!Resources(disk).contains(F.mountDisk("/mnt/b", size: 100)))
    }

    @Test("shared resources are counted, not merged")
    func shared() throws {
        let volume = F.volume("shared", size: 10, shared: true)
        var resources = Resources(volume)
        resources += volume
        #expect(resources.protobufs.count == 1)
        #expect(resources.count(of: volume) == 2)
        #expect(resources.disk == 10)
        #expect(resources.description.hasSuffix("<SHARED>:10<2>"))
        #expect(resources.contains(Resources(volume) + volume))
        #expect(!Resources(volume).contains(Resources(volume) + volume))
        #expect(resources.shared == resources)
        #expect(resources.nonShared.isEmpty)

        resources -= volume
        #expect(resources.count(of: volume) == 1)
        resources -= volume
        #expect(resources.isEmpty)
        #expect(resources.count(of: volume) == 0)

        // A non-shared copy of the same volume is a different resource; so is a shared one of another size.
        var unshared = volume
        unshared.clearShared()
        #expect((Resources(volume) + unshared).protobufs.count == 2)
        #expect((Resources(volume) + F.volume("shared", size: 20, shared: true)).protobufs.count == 2)
        #expect(Resources(volume) - F.volume("shared", size: 5, shared: true) == Resources(volume))
        #expect(Resources(unshared).count(of: unshared) == 1)

        // Mesos `Resource_::isEmpty`: a shared volume of no size is nothing, however many copies are added.
        let empty = F.volume("shared", size: 0, shared: true)
        #expect(Resources(empty).isEmpty)
        #expect((Resources(volume) + empty + empty) == Resources(volume))
        #expect(Resources(volume).contains(Resources(empty)))
    }

    @Test("a range is refused only when it begins inside one listed before it, as in Mesos")
    func rangeOrderRule() {
        var later = Resource(name: "ports", ranges: [])
        later.ranges.range = [Self.range(5, 10), Self.range(1, 20)]
        #expect(Resources(later).ports == [1...20])
        var nested = Resource(name: "ports", ranges: [])
        nested.ranges.range = [Self.range(5, 10), Self.range(3, 7)]
        #expect(Resources(nested).ports == [3...10])
        var inside = Resource(name: "ports", ranges: [])
        inside.ranges.range = [Self.range(1, 20), Self.range(5, 10)]
        #expect(Resources(inside).isEmpty)
        var touching = Resource(name: "ports", ranges: [])
        touching.ranges.range = [Self.range(1, 5), Self.range(5, 8)]
        #expect(Resources(touching).isEmpty)
        var apart = Resource(name: "ports", ranges: [])
        apart.ranges.range = (0..<2000).map { Self.range(UInt64($0) * 3, UInt64($0) * 3 + 1) }
        #expect(Resources(apart).ports.valueCount == 4000)
    }

    @Test("subtracting removes the amount and drops what becomes empty or negative")
    func subtracting() {
        let offer = Resources([F.scalar("cpus", 4), F.scalar("mem", 1024), F.ports([31000...31010])])
        let task = Resources([F.scalar("cpus", 1.5), F.scalar("mem", 1024), F.ports([31005...31005])])
        let left = offer - task
        #expect(left.description == "cpus:2.5;ports:[31000-31004, 31006-31010]")
        #expect((offer - F.scalar("cpus", 5)).names == ["mem", "ports"])  // beyond: dropped, not negative
        #expect((offer - F.ports([0...UInt64.max])).names == ["cpus", "mem"])
        // A resource with another identity doesn't reduce this one.
        #expect(offer - F.scalar("cpus", 1, reservations: [.static(role: "eng")]) == offer)
        #expect(offer - F.scalar("cpus", 1, allocation: "web") == offer)

        var zones = Resources(Resource(name: "zones", set: ["a", "b", "c"]))
        zones -= Resource(name: "zones", set: ["b", "x"])
        #expect(zones.set(named: "zones") == ["a", "c"])
        zones -= Resource(name: "zones", set: ["a", "c"])
        #expect(zones.isEmpty)
    }

    @Test("empty and invalid resources are ignored, as in Mesos")
    func ignored() {
        var negative = F.scalar("cpus", -1)
        #expect(Resources(negative).isEmpty)
        negative.scalar.value = .infinity
        #expect(Resources(negative).isEmpty)

        var inverted = Resource(name: "ports", ranges: [])
        inverted.ranges.range = [Self.range(10, 5)]
        var overlapping = Resource(name: "ports", ranges: [])
        overlapping.ranges.range = [Self.range(1, 5), Self.range(3, 8)]
        var repeated = Resource(name: "zones", set: ["a"])
        repeated.set.item = ["a", "a"]
        var diskOnCPUs = F.scalar("cpus", 1)
        diskOnCPUs.disk.persistence.id = "x"
        var sharedCPUs = F.scalar("cpus", 1)
        sharedCPUs.shared = Resource.SharedInfo()
        var starDynamic = F.scalar("cpus", 1)
        starDynamic.reservation = Resource.ReservationInfo()
        var mixedValue = F.scalar("cpus", 1)
        mixedValue.set.item = ["a"]
        for empty in [F.scalar("cpus", 0), Resource(name: "ports", ranges: []), Resource(name: "zones", set: [])] {
            #expect(Resources(empty).isEmpty, "\(empty)")
            #expect((Resources(F.scalar("cpus", 1)) + empty) == Resources(F.scalar("cpus", 1)), "\(empty)")
        }
        let invalid = [
            inverted, overlapping, repeated, diskOnCPUs, sharedCPUs, starDynamic, mixedValue, F.scalar("", 1),
            F.scalar("cpus", 1, reservations: [.static(role: "eng"), .static(role: "eng/web")]),
            F.scalar("cpus", 1, reservations: [.static(role: "eng"), .dynamic(role: "ops")]),
            F.scalar("cpus", 1, reservations: [.static(role: "a//b")]),
        ]
        for resource in invalid {
            #expect(Resources(resource).isEmpty, "\(resource)")
            #expect(!Resources(F.scalar("cpus", 100)).contains(resource), "\(resource)")
        }
        #expect((Resources(F.scalar("cpus", 2)) - negative) == Resources(F.scalar("cpus", 2)))
    }

    // MARK: Reservation formats

    @Test("the deprecated role and reservation fields mean a static or dynamic reservation")
    func preRefinementFormat() throws {
        var staticOld = F.scalar("cpus", 1)
        staticOld.role = "eng"
        #expect(staticOld.reservationRole == "eng")
        #expect(staticOld.isReserved)
        #expect(!staticOld.isDynamicallyReserved)

        var dynamicOld = F.scalar("cpus", 2)
        dynamicOld.role = "eng"
        dynamicOld.reservation.principal = "ops"
        #expect(dynamicOld.isDynamicallyReserved)

        let resources = Resources([staticOld, dynamicOld])
        #expect(resources.protobufs.allSatisfy { !$0.hasRole && !$0.hasReservation })
        #expect(
            resources.protobufs.map(\.reservations) == [
                [.static(role: "eng")], [.dynamic(role: "eng", principal: "ops")],
            ]
        )
        // They merge with the same reservations written in the new format.
        let merged =
            resources + F.scalar("cpus", 1, reservations: [.static(role: "eng")])
            + F.scalar("cpus", 1, reservations: [.dynamic(role: "eng", principal: "ops")])
        #expect(merged.protobufs.count == 2)
        #expect(merged.reserved(for: "eng").cpus == 5)

        // The "endpoint" format carries both; it's accepted when they agree.
        var endpoint = F.scalar("cpus", 1, reservations: [.dynamic(role: "eng", principal: "ops")])
        endpoint.role = "eng"
        endpoint.reservation.principal = "ops"
        #expect(
            Resources(endpoint)
                == Resources(F.scalar("cpus", 1, reservations: [.dynamic(role: "eng", principal: "ops")]))
        )
        endpoint.reservation.principal = "someone else"
        #expect(Resources(endpoint).isEmpty)

        var unreservedOld = F.scalar("cpus", 1)
        unreservedOld.role = "*"
        #expect(unreservedOld.reservationRole == "*")
        #expect(!unreservedOld.isReserved)
        #expect(Resources(unreservedOld).protobufs == [F.scalar("cpus", 1)])
    }

    // MARK: Reservations

    @Test("reservation filters use the top-most reservation role")
    func reservationFilters() {
        let resources = Resources([
            F.scalar("cpus", 1),
            F.scalar("cpus", 2, reservations: [.static(role: "eng")]),
            F.scalar("cpus", 4, reservations: [.static(role: "eng"), .dynamic(role: "eng/web")]),
            F.scalar("cpus", 8, reservations: [.dynamic(role: "ops")]),
        ])
        #expect(resources.unreserved.cpus == 1)
        #expect(resources.reserved.cpus == 14)
        #expect(resources.reserved(for: "eng").cpus == 2)
        #expect(resources.reserved(for: "eng/web").cpus == 4)
        #expect(resources.reserved(for: "*").isEmpty)
        #expect(resources.reservations.mapValues(\.cpus) == ["eng": 2, "eng/web": 4, "ops": 8])
        #expect(resources.usable(byRole: "eng").cpus == 3)
        #expect(resources.usable(byRole: "eng/web").cpus == 7)
        #expect(resources.usable(byRole: "eng/web/x").cpus == 7)
        #expect(resources.usable(byRole: "engineering").cpus == 1)
        #expect(resources.scalar(named: "cpus") == 15)
    }

    @Test("push refines and pop undoes it")
    func pushAndPop() throws {
        let unreserved = Resources([F.scalar("cpus", 1), F.ports([31000...31001])])
        let eng = try unreserved.pushingReservation(.static(role: "eng"))
        #expect(eng.protobufs.allSatisfy { $0.reservationRole == "eng" })
        let web = try eng.pushingReservation(.dynamic(role: "eng/web", principal: "p"))
        #expect(web.protobufs.allSatisfy { $0.reservationRole == "eng/web" && $0.reservations.count == 2 })
        #expect(web.protobufs.allSatisfy { $0.isDynamicallyReserved })
        #expect(try web.poppingReservation() == eng)
        #expect(try web.poppingReservation().poppingReservation() == unreserved)
        #expect(try unreserved.pushingReservation(.dynamic(role: "eng/web")).reserved(for: "eng/web").cpus == 1)

        let resource = F.scalar("cpus", 1)
        #expect(try resource.pushingReservation(.dynamic(role: "a")).poppingReservation() == resource)
        var old = resource
        old.role = "eng"
        #expect(try old.pushingReservation(.dynamic(role: "eng/x")).reservations.map(\.role) == ["eng", "eng/x"])
        #expect(try old.poppingReservation() == resource)
    }

    @Test(
        "push rejects what Mesos would not accept",
        arguments: [
            ([Self.eng], Resource.ReservationInfo.dynamic(role: "ops"), ReservationError.Code.notARefinement),
            ([Self.eng], .dynamic(role: "eng"), .notARefinement),
            ([Self.eng], .dynamic(role: "engineering"), .notARefinement),
            ([Self.eng, .dynamic(role: "eng/web")], .dynamic(role: "eng/api"), .notARefinement),
            ([Self.eng, .dynamic(role: "eng/web")], .dynamic(role: "eng"), .notARefinement),
            ([Self.eng], .static(role: "eng/web"), .invalidType),
            ([Self.eng], Self.untyped("eng/web"), .invalidType),
            ([], Self.untyped("eng"), .invalidType),
            ([], .dynamic(role: "*"), .invalidRole),
            ([], .dynamic(role: "a//b"), .invalidRole),
            ([], .dynamic(role: "/a"), .invalidRole),
            ([], .dynamic(role: "a/"), .invalidRole),
            ([], .dynamic(role: "a/../b"), .invalidRole),
            ([], .dynamic(role: "a/./b"), .invalidRole),
            ([], .dynamic(role: "a/*"), .invalidRole),
            ([], .dynamic(role: "-a"), .invalidRole),
            ([], .dynamic(role: "a b"), .invalidRole),
            ([], .dynamic(role: "a\tb"), .invalidRole),
            ([], .dynamic(role: ""), .invalidRole),
            ([], Resource.ReservationInfo(), .invalidRole),
        ]
    )
    func pushErrors(
        stack: [Resource.ReservationInfo],
        reservation: Resource.ReservationInfo,
        code: ReservationError.Code
    ) throws {
        let resources = Resources(F.scalar("cpus", 1, reservations: stack))
        #expect(!resources.isEmpty)
        let error = #expect(throws: ReservationError.self) { try resources.pushingReservation(reservation) }
        #expect(error?.code == code)
        let single = #expect(throws: ReservationError.self) {
            try F.scalar("cpus", 1, reservations: stack).pushingReservation(reservation)
        }
        #expect(single?.code == code)
    }

    static let eng = Resource.ReservationInfo.static(role: "eng")

    static func untyped(_ role: String) -> Resource.ReservationInfo {
        var reservation = Resource.ReservationInfo()
        reservation.role = role
        return reservation
    }

    @Test("popping an unreserved resource is an error")
    func popUnreserved() throws {
        let error = #expect(throws: ReservationError.self) {
            try Resources([F.scalar("cpus", 1, reservations: [.static(role: "eng")]), F.scalar("mem", 1)])
                .poppingReservation()
        }
        #expect(error?.code == .notReserved)
        #expect(throws: ReservationError.self) { try F.scalar("cpus", 1).poppingReservation() }
        #expect(Resources().isEmpty)
        #expect(try Resources().poppingReservation().isEmpty)
    }

    @Test("flattening replaces every reservation stack and merges what becomes identical")
    func flattening() throws {
        let resources = Resources([
            F.scalar("cpus", 1),
            F.scalar("cpus", 2, reservations: [.static(role: "eng")]),
            F.scalar("cpus", 4, reservations: [.static(role: "eng"), .dynamic(role: "eng/web")]),
            F.scalar("cpus", 8, reservations: [.dynamic(role: "ops")], allocation: "ops"),
        ])
        let flat = resources.flattened()
        #expect(flat.protobufs.count == 2)  // the allocation role still sets one apart
        #expect(flat.unreserved.cpus == 15)

        let eng = try resources.flattened(role: "eng")
        #expect(eng.protobufs.count == 2)
        #expect(eng.protobufs.allSatisfy { $0.reservations == [.static(role: "eng")] })

        let dynamic = try resources.flattened(role: "eng", reservation: .dynamic(role: "ignored", principal: "p"))
        #expect(dynamic.protobufs.allSatisfy { $0.reservations == [.dynamic(role: "eng", principal: "p")] })

        #expect(try resources.flattened(role: "*") == flat)
        let star = #expect(throws: ReservationError.self) {
            try resources.flattened(role: "*", reservation: .dynamic(role: "*"))
        }
        #expect(star?.code == .invalidRole)
        let bad = #expect(throws: ReservationError.self) { try resources.flattened(role: "a//b") }
        #expect(bad?.code == .invalidRole)
    }

    @Test("reservation role and allocation role are different things")
    func rolesAreDistinct() {
        let resource = F.scalar("cpus", 1, reservations: [.static(role: "eng")], allocation: "eng/web")
        #expect(resource.reservationRole == "eng")
        #expect(resource.allocationRole == "eng/web")
        let moved = resource.allocated(to: "ops")
        #expect(moved.reservationRole == "eng")
        #expect(moved.allocationRole == "ops")
        #expect(F.scalar("cpus", 1).reservationRole == "*")
        #expect(F.scalar("cpus", 1).allocationRole == nil)
    }

    // MARK: Contains

    @Test("contains needs every resource, with the same identity, in full")
    func contains() {
        let offer = Resources([
            F.scalar("cpus", 4), F.scalar("mem", 1024), F.ports([31000...31010]),
            F.scalar("cpus", 2, reservations: [.static(role: "eng")]),
        ])
        #expect(offer.contains(Resources([F.scalar("cpus", 4), F.ports([31002...31003])])))
        #expect(offer.contains(F.scalar("cpus", 2, reservations: [.static(role: "eng")])))
        #expect(!offer.contains(F.scalar("cpus", 5)))  // reserved cpus don't make up the difference
        #expect(!offer.contains(F.scalar("cpus", 3, reservations: [.static(role: "eng")])))
        #expect(!offer.contains(F.ports([31010...31011])))
        #expect(!offer.contains(F.scalar("gpus", 1)))
        #expect(!offer.contains(F.scalar("cpus", 1, allocation: "web")))
        #expect(offer.contains(Resources()))
        #expect(offer.contains(offer))
        #expect(!Resources().contains(offer))
    }

    // MARK: Queries and filters

    @Test("amounts sum across identities")
    func amounts() {
        let resources = Resources([
            F.scalar("cpus", 1), F.scalar("cpus", 0.5, reservations: [.static(role: "eng")]),
            F.ports([1...2]), F.ports([5...6], reservations: [.static(role: "eng")]),
            Resource(name: "zones", set: ["a"]), F.scalar("gpus", 1), F.scalar("disk", 10), F.scalar("mem", 64),
        ])
        #expect(resources.cpus == 1.5)
        #expect(resources.gpus == 1)
        #expect(resources.disk == 10)
        #expect(resources.mem == 64)
        #expect(resources.ports == [1...2, 5...6])
        #expect(resources.ranges(named: "cpus").isEmpty)
        #expect(resources.scalar(named: "ports") == .zero)
        #expect(resources.set(named: "zones") == ["a"])
        #expect(resources.names == ["cpus", "ports", "zones", "gpus", "disk", "mem"])
    }

    @Test("filters keep the resources that match")
    func filters() {
        let volume = F.volume("v", size: 10)
        let shared = F.volume("s", size: 5, shared: true)
        let resources = Resources([Self.revocableCPUs, F.scalar("cpus", 2), volume, shared])
        #expect(resources.revocable == Resources(Self.revocableCPUs))
        #expect(resources.nonRevocable.cpus == 2)
        #expect(resources.persistentVolumes == Resources([volume, shared]))
        #expect(resources.shared == Resources(shared))
        #expect(resources.nonShared.protobufs.count == 3)
        #expect(resources.filter { $0.name == "disk" }.disk == 15)
        #expect(resources.filter { _ in false }.isEmpty)
    }

    // MARK: Values

    @Test("equality ignores order; protobufs round-trip")
    func equality() {
        let a = Resources([F.scalar("cpus", 1), F.scalar("mem", 2), F.ports([1...3])])
        let b = Resources([F.ports([1...1]), F.scalar("mem", 2), F.ports([2...3]), F.scalar("cpus", 1)])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        #expect(a != a + F.scalar("cpus", 0.001))
        #expect(Resources(a.protobufs) == a)
        #expect(a.protobufs.allSatisfy { $0.isInitialized })
        let literal: Resources = [F.scalar("cpus", 1), F.scalar("mem", 2), F.ports([1...3])]
        #expect(literal == a)
    }

    @Test("prints the text form, and Mesos's notation for what it can't express")
    func description() {
        #expect(Resources().description == "")
        var resource = F.scalar("disk", 10, reservations: [.dynamic(role: "eng", principal: "ops")], allocation: "eng")
        resource.disk.persistence.id = "v1"
        resource.disk.volume.containerPath = "data"
        #expect(
            Resources(resource).description == "disk(allocated: eng)(reservations: [(DYNAMIC,eng,ops)])[v1:data]:10"
        )
        #expect(Resources(Self.revocableCPUs).description == "cpus{REV}:1")
        #expect(Resources(F.mountDisk("/mnt", size: 5)).description == "disk[MOUNT:/mnt]:5")
    }

    // MARK: Properties

    /// Resources from a small vocabulary: four names, three reservation stacks, two allocation roles, revocability.
    /// `pool` keeps the range and set values of two generators apart.
    static func resources(pool: UInt64) -> Generator<Resources, some SendableSequenceType> {
        zip(Gen.int(in: 0...47), Gen.int(in: 0...5000), Gen.uint64(in: 0...40), Gen.uint64(in: 0...4))
            .map { shape, amount, start, length in
                let stacks: [[Resource.ReservationInfo]] = [
                    [], [.static(role: "eng")], [.static(role: "eng"), .dynamic(role: "eng/web")],
                ]
                var resource: Resource
                switch shape % 4 {
                case 0: resource = Resource(name: "cpus", scalar: ScalarQuantity(milli: Int64(amount)))
                case 1: resource = Resource(name: "mem", scalar: ScalarQuantity(milli: Int64(amount) * 1000))
                case 2:
                    let begin = pool * 100 + start
                    resource = Resource(name: "ports", ranges: [begin...(begin + length)])
                default:
                    let items = (0..<6).filter { amount & (1 << $0) != 0 }.map { "p\(pool)-\($0)" }
                    resource = Resource(name: "zones", set: items)
                }
                resource.reservations = stacks[(shape / 4) % 3]
                if (shape / 12) % 2 == 1 { resource.allocationInfo.role = "web" }
                if (shape / 24) % 2 == 1 { resource.revocable = Resource.RevocableInfo() }
                return resource
            }
            .array(of: 0...8)
            .map { Resources($0) }
    }

    @Test("(a + b) - b == a when b's ranges and set items are not already in a")
    func addThenSubtract() async {
        await propertyCheck(count: 300, input: Self.resources(pool: 0), Self.resources(pool: 1)) { a, b in
            #expect((a + b) - b == a, "a = \(a), b = \(b)")
            var c = a
            c += b
            c -= b
            #expect(c == a)
        }
    }

    @Test("a contains a - b, and a + b contains a and b")
    func containment() async {
        await propertyCheck(count: 300, input: Self.resources(pool: 0), Self.resources(pool: 0)) { a, b in
            #expect(a.contains(a - b), "a = \(a), b = \(b)")
            #expect((a + b).contains(a), "a = \(a), b = \(b)")
            #expect((a + b).contains(b), "a = \(a), b = \(b)")
            #expect(a.contains(a))
            if a.contains(b) { #expect((a - b) + b == a, "a = \(a), b = \(b)") }
        }
    }

    @Test("order of adding doesn't matter; protobufs round-trip")
    func orderIndependence() async {
        await propertyCheck(count: 200, input: Self.resources(pool: 0)) { a in
            let reversed = Resources(a.protobufs.reversed())
            #expect(reversed == a)
            #expect(reversed.hashValue == a.hashValue)
            #expect(Resources(a.protobufs) == a)
            #expect(
                a.scalar(named: "cpus")
                    == a.protobufs.filter { $0.name == "cpus" }.reduce(.zero) { $0 + $1.scalar.quantity }
            )
        }
    }

    static func range(_ begin: UInt64, _ end: UInt64) -> Mesos_V1_Value.Range {
        var range = Mesos_V1_Value.Range()
        range.begin = begin
        range.end = end
        return range
    }
}
