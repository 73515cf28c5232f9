import Mesos
import Testing

/// `Resource.mesosValidationError` and `MesosRoles`: Mesos 1.11's `Resources::validate` and `roles::validate`, word for
/// word, which is what a master puts in the TASK_ERROR for a task with such a resource.
@Suite("Mesos's validation texts")
struct MesosValidationTests {
    typealias F = Fixture

    @Test("each rule of Resources::validate, with Mesos's text")
    func resourceRules() {
        var ranges = Resource(name: "ports", ranges: [])
        ranges.ranges.range = [ResourcesTests.range(1, 20), ResourcesTests.range(5, 10)]
        var inverted = Resource(name: "ports", ranges: [])
        inverted.ranges.range = [ResourcesTests.range(9, 3)]
        var repeated = Resource(name: "zones", set: ["a"])
        repeated.set.item = ["a", "a"]
        var mixed = F.scalar("cpus", 1)
        mixed.set.item = ["a"]
        var diskOnCPUs = F.scalar("cpus", 1)
        diskOnCPUs.disk.persistence.id = "x"
        var blockWithPath = F.scalar("disk", 1)
        blockWithPath.disk.source.type = .block
        blockWithPath.disk.source.path.root = "/x"
        var starDynamic = F.scalar("cpus", 1)
        starDynamic.reservation = Resource.ReservationInfo()
        var typedOld = F.scalar("cpus", 1)
        typedOld.role = "eng"
        typedOld.reservation.type = .dynamic
        var noType = F.scalar("cpus", 1)
        noType.reservations = [Resource.ReservationInfo()]
        noType.reservations[0].role = "eng"
        var sharedCPUs = F.scalar("cpus", 1)
        sharedCPUs.shared = Resource.SharedInfo()
        var sharedDisk = F.scalar("disk", 1)
        sharedDisk.shared = Resource.SharedInfo()
        var roleMismatch = F.scalar("cpus", 1, reservations: [.static(role: "eng")])
        roleMismatch.role = "ops"
        var text = F.scalar("cpus", 1)
        text.type = .text
        var unnamed = F.scalar("cpus", 1)
        unnamed.name = ""
        let cases: [(Resource, String)] = [
            (unnamed, "Empty resource name"),
            (F.scalar("cpus", -1), "Invalid scalar resource: value <= 0"),
            (F.scalar("cpus", 0.0004), "Invalid scalar resource: value <= 0"),
            (F.scalar("cpus", .infinity), "Invalid scalar resource: value <= 0"),
            (mixed, "Invalid scalar resource"),
            (inverted, "Invalid ranges resource: begin > end"),
            (ranges, "Invalid ranges resource: overlapping ranges"),
            (repeated, "Invalid set resource: duplicated elements"),
            (text, "Unsupported resource type"),
            (diskOnCPUs, "DiskInfo should not be set for cpus resource"),
            (blockWithPath, "Path should not be set for BLOCK disk source"),
            (starDynamic, "Invalid reservation: role \"*\" cannot be dynamically reserved"),
            (typedOld, "'Resource.ReservationInfo.type' must not be set for the 'Resource.reservation' field"),
            (noType, "Invalid reservation: 'Resource.ReservationInfo.type' field must be set."),
            (F.scalar("cpus", 1, reservations: [.static(role: "eng"), .static(role: "eng/web")]),
             "Invalid refined reservation: A refined reservation cannot be STATIC"),
            (F.scalar("cpus", 1, reservations: [.static(role: "eng"), .dynamic(role: "ops")]),
             "Invalid refined reservation: role 'ops' is not a refinement of 'eng'"),
            (F.scalar("cpus", 1, reservations: [.static(role: "a//b")]), "Role 'a//b' cannot contain two adjacent slashes"),
            (roleMismatch,
             "Invalid resource format: 'Resource.role' field with 'ops' does not match the role 'eng' in 'Resource.reservations'"),
            (sharedCPUs, "Resource cpus cannot be shared"),
            (sharedDisk, "Only persistent volumes can be shared"),
        ]
        for (resource, expected) in cases {
            #expect(resource.mesosValidationError == expected, "\(resource)")
            // `Resources` applies the same rules: what Mesos refuses, it ignores.
            #expect(Resources(resource).isEmpty, "\(resource)")
        }
        let valid = [
            F.scalar("cpus", 0), F.scalar("cpus", 0.5), F.volume("v", size: 10, shared: true), F.mountDisk("/mnt", size: 5),
            F.scalar("cpus", 1, reservations: [.static(role: "eng"), .dynamic(role: "eng/web", principal: "p")]),
        ]
        for resource in valid { #expect(resource.mesosValidationError == nil, "\(resource)") }
    }

    @Test("role names, as roles::validate words its refusals")
    func roles() {
        #expect(MesosRoles.problem(with: "*") == nil)
        #expect(MesosRoles.problem(with: "eng/web") == nil)
        #expect(MesosRoles.problem(with: "") == "Role names cannot be the empty string")
        #expect(MesosRoles.problem(with: "/eng") == "Role '/eng' cannot start with a slash")
        #expect(MesosRoles.problem(with: "eng/") == "Role 'eng/' cannot end with a slash")
        #expect(MesosRoles.problem(with: "eng/../x") == "Role 'eng/../x' cannot include '..' as a component")
        #expect(MesosRoles.problem(with: "eng/-x") == "Role component '-x' is invalid because it starts with a dash")
        #expect(MesosRoles.problem(with: "a b") == "Role component 'a b' is invalid because it contains backspace or whitespace")
    }
}
