// Helpers on the generated `Resource` (`Mesos_V1_Resource`): building, the two kinds of role, reservation
// refinement, and the rules `Resources` relies on (identity, validity, the reservation formats).
//
// Two roles describe a resource, and they are easy to mix up:
// - the *reservation role* (`reservationRole`, from `reservations`): who the resource is set aside for, on the
//   agent, until it is unreserved. `*` when unreserved.
// - the *allocation role* (`allocationRole`, from `allocation_info.role`): which of a multi-role framework's roles
//   an offer was made to, and so which role the framework uses it as. Says nothing about reservations.

extension Mesos_V1_Resource {
    /// An unreserved scalar resource such as `cpus` or `mem`.
    public init(name: String, scalar: ScalarQuantity) {
        self.init()
        self.name = name
        self.type = .scalar
        self.scalar = Mesos_V1_Value.Scalar(scalar)
    }

    /// An unreserved ranges resource such as `ports`.
    public init(name: String, ranges: ValueRanges) {
        self.init()
        self.name = name
        self.type = .ranges
        self.ranges = ranges.protobuf
    }

    /// An unreserved set resource; items keep their order, repeats are dropped.
    public init(name: String, set items: some Sequence<String>) {
        self.init()
        self.name = name
        self.type = .set
        var seen = Swift.Set<String>()
        self.set.item = items.filter { seen.insert($0).inserted }
    }

    // MARK: Reservation role

    /// The **reservation** role: the role of the top-most (most refined) reservation, or `*` when unreserved.
    ///
    /// Reads the pre-refinement `role` field when `reservations` is empty, so resources from a master talking to a
    /// framework without the `RESERVATION_REFINEMENT` capability answer the same. This is *not* the role the
    /// resource was offered to; see ``allocationRole``.
    public var reservationRole: String {
        if let top = self.reservations.last { return top.role }
        return self.role  // "*" when unset
    }

    /// Whether the resource carries a reservation, in either format.
    public var isReserved: Bool { !self.reservations.isEmpty || self.role != "*" }

    /// Whether the top-most reservation is dynamic (made by an operator or framework, not on the agent command line).
    public var isDynamicallyReserved: Bool {
        if let top = self.reservations.last { return top.type == .dynamic }
        return self.role != "*" && self.hasReservation
    }

    /// Whether the resource is a persistent volume (`disk` with `disk.persistence`).
    public var isPersistentVolume: Bool { self.hasDisk && self.disk.hasPersistence }

    /// The resource with `reservation` pushed on top of its reservation stack (Mesos `pushReservation`).
    ///
    /// On an unreserved resource any valid role and either type will do. On a reserved resource this is a
    /// *refinement*: the reservation must be `DYNAMIC` and its role a strict sub-role of the current reservation
    /// role (`eng` → `eng/web`). Deprecated pre-refinement fields are converted first.
    /// - Throws: ``ReservationError`` `.invalidRole`, `.invalidType` or `.notARefinement`.
    public func pushingReservation(
        _ reservation: Mesos_V1_Resource.ReservationInfo
    ) throws(ReservationError)
        -> Mesos_V1_Resource
    {
        var resource = self.postRefinement
        try Self.checkPush(reservation, onto: resource.reservations.last)
        resource.reservations.append(reservation)
        return resource
    }

    /// The resource without its top-most reservation (Mesos `popReservation`): a refined reservation goes back to
    /// its parent role; a single reservation makes the resource unreserved.
    /// - Throws: ``ReservationError`` `.notReserved` when there is no reservation.
    public func poppingReservation() throws(ReservationError) -> Mesos_V1_Resource {
        var resource = self.postRefinement
        guard !resource.reservations.isEmpty else {
            throw ReservationError(code: .notReserved, message: "resource '\(self.name)' is not reserved")
        }
        resource.reservations.removeLast()
        return resource
    }

    // MARK: Allocation role

    /// The **allocation** role: the role this resource was offered to (`allocation_info.role`), or `nil` when unset.
    ///
    /// Masters set it on every offered resource for `MULTI_ROLE` frameworks, and expect it back unchanged in
    /// operations on those resources. It says nothing about reservations; see ``reservationRole``.
    public var allocationRole: String? {
        self.hasAllocationInfo && self.allocationInfo.hasRole ? self.allocationInfo.role : nil
    }

    /// The resource with its **allocation** role (`allocation_info.role`) set to `role` (Mesos `allocate`).
    /// The reservation is unchanged.
    public func allocated(to role: String) -> Mesos_V1_Resource {
        var resource = self
        resource.allocationInfo.role = role
        return resource
    }
}

extension Mesos_V1_Resource.ReservationInfo {
    /// A `STATIC` reservation, as an agent's `--resources` makes.
    public static func `static`(role: String) -> Self {
        var reservation = Self()
        reservation.type = .static
        reservation.role = role
        return reservation
    }

    /// A `DYNAMIC` reservation, as a `RESERVE` operation makes.
    public static func dynamic(role: String, principal: String? = nil, labels: Mesos_V1_Labels? = nil) -> Self {
        var reservation = Self()
        reservation.type = .dynamic
        reservation.role = role
        if let principal { reservation.principal = principal }
        if let labels { reservation.labels = labels }
        return reservation
    }
}

// MARK: - Roles

/// Mesos's rules for role names (`roles::validate`).
public enum MesosRoles {
    /// Why Mesos would refuse `role` as a role name, in Mesos's words; `nil` when it is valid. `*` is valid.
    public static func problem(with role: String) -> String? {
        if role == "*" { return nil }
        if role.hasPrefix("/") { return "Role '\(role)' cannot start with a slash" }
        if role.hasSuffix("/") { return "Role '\(role)' cannot end with a slash" }
        if role.contains("//") { return "Role '\(role)' cannot contain two adjacent slashes" }
        let components = role.split(separator: "/")
        if components.isEmpty { return "Role names cannot be the empty string" }
        for component in components {
            switch component {
            case ".", "..", "*":
                return "Role '\(role)' cannot include '\(component)' as a component"
            default:
                break
            }
            if component.hasPrefix("-") { return "Role component '\(component)' is invalid because it starts with a dash" }
            if component.utf8.contains(where: { (0x09...0x0D).contains($0) || $0 == 0x20 || $0 == 0x7F }) {
                return "Role component '\(component)' is invalid because it contains backspace or whitespace"
            }
        }
        return nil
    }

    /// Whether `child` is strictly below `parent` in the role tree (`a/b` under `a`, not `ab` nor `a`).
    static func isStrictSubrole(_ child: String, of parent: String) -> Bool {
        let prefix = Array((parent + "/").utf8)
        return child.utf8.count > prefix.count && child.utf8.starts(with: prefix)
    }
}

// MARK: - Formats and validation

extension Mesos_V1_Resource {
    /// The resource in the post-reservation-refinement format `Resources` works in: the reservation stack in
    /// `reservations`, and the deprecated `role`/`reservation` fields cleared (`role: r` alone is a static
    /// reservation, `role: r` with `reservation` a dynamic one, `role: *` unreserved).
    var postRefinement: Mesos_V1_Resource {
        var resource = self
        if resource.reservations.isEmpty && resource.role != "*" {
            var reservation = Mesos_V1_Resource.ReservationInfo()
            if resource.hasReservation {
                reservation = resource.reservation
                reservation.type = .dynamic
            } else {
                reservation.type = .static
            }
            reservation.role = resource.role
            resource.reservations = [reservation]
        }
        resource.clearRole()
        resource.clearReservation()
        return resource
    }

    static func checkPush(
        _ reservation: Mesos_V1_Resource.ReservationInfo,
        onto current: Mesos_V1_Resource.ReservationInfo?
    ) throws(ReservationError) {
        guard reservation.hasRole else {
            throw ReservationError(code: .invalidRole, message: "the reservation has no role")
        }
        if reservation.role == "*" {
            throw ReservationError(code: .invalidRole, message: "role '*' cannot be reserved")
        }
        if let problem = MesosRoles.problem(with: reservation.role) {
            throw ReservationError(code: .invalidRole, message: problem)
        }
        guard reservation.hasType, reservation.type != .unknown else {
            throw ReservationError(code: .invalidType, message: "the reservation type must be STATIC or DYNAMIC")
        }
        guard let current else { return }
        guard reservation.type == .dynamic else {
            throw ReservationError(code: .invalidType, message: "a refined reservation cannot be STATIC")
        }
        guard MesosRoles.isStrictSubrole(reservation.role, of: current.role) else {
            throw ReservationError(
                code: .notARefinement,
                message: "role '\(reservation.role)' is not a refinement of '\(current.role)'"
            )
        }
    }
}

// MARK: - Identity

/// Mesos's equality of resource parts: what makes two resources "the same resource" apart from their amount.
enum MesosIdentity {
    /// Same resource and same amount (Mesos `Resource ==`). Values compare as values: fixed-point scalars,
    /// coalesced ranges, sets regardless of order.
    static func equal(_ left: Mesos_V1_Resource, _ right: Mesos_V1_Resource) -> Bool {
        sameIdentity(left, right) && sameValue(left, right)
    }

    /// Same resource, whatever the amount: name, type, allocation role, reservation stack, disk (source and
    /// persistence id; not the volume, which only says how a task mounts it), revocable, provider and shared-ness.
    static func sameIdentity(_ left: Mesos_V1_Resource, _ right: Mesos_V1_Resource) -> Bool {
        guard left.name == right.name, left.type == right.type else { return false }
        guard left.hasAllocationInfo == right.hasAllocationInfo else { return false }
        if left.hasAllocationInfo {
            guard left.allocationInfo.hasRole == right.allocationInfo.hasRole,
                left.allocationInfo.role == right.allocationInfo.role
            else { return false }
        }
        guard left.reservations.count == right.reservations.count,
            zip(left.reservations, right.reservations).allSatisfy(reservationsEqual)
        else { return false }
        guard left.hasDisk == right.hasDisk else { return false }
        if left.hasDisk && !disksEqual(left.disk, right.disk) { return false }
        guard left.hasRevocable == right.hasRevocable else { return false }
        guard left.hasProviderID == right.hasProviderID, left.providerID.value == right.providerID.value else {
            return false
        }
        return left.hasShared == right.hasShared
    }

    static func sameValue(_ left: Mesos_V1_Resource, _ right: Mesos_V1_Resource) -> Bool {
        switch left.type {
        case .scalar: left.scalar.quantity == right.scalar.quantity
        case .ranges: ValueRanges(left.ranges) == ValueRanges(right.ranges)
        case .set: Set(left.set.item) == Set(right.set.item)
        case .text: false
        }
    }

    static func reservationsEqual(
        _ left: Mesos_V1_Resource.ReservationInfo,
        _ right: Mesos_V1_Resource.ReservationInfo
    ) -> Bool {
        left.type == right.type && left.role == right.role
            && left.hasPrincipal == right.hasPrincipal && left.principal == right.principal
            && left.hasLabels == right.hasLabels && labelsEqual(left.labels, right.labels)
    }

    /// Mesos compares labels ignoring their order.
    static func labelsEqual(_ left: Mesos_V1_Labels, _ right: Mesos_V1_Labels) -> Bool {
        guard left.labels.count == right.labels.count else { return false }
        return left.labels.allSatisfy { label in
            right.labels.contains { $0.key == label.key && $0.value == label.value }
        }
    }

    static func disksEqual(_ left: Mesos_V1_Resource.DiskInfo, _ right: Mesos_V1_Resource.DiskInfo) -> Bool {
        guard left.hasSource == right.hasSource else { return false }
        if left.hasSource && !sourcesEqual(left.source, right.source) { return false }
        guard left.hasPersistence == right.hasPersistence else { return false }
        return !left.hasPersistence || left.persistence.id == right.persistence.id
    }

    static func sourcesEqual(
        _ left: Mesos_V1_Resource.DiskInfo.Source,
        _ right: Mesos_V1_Resource.DiskInfo.Source
    ) -> Bool {
        left.type == right.type
            && left.hasPath == right.hasPath
            && left.path.hasRoot == right.path.hasRoot && left.path.root == right.path.root
            && left.hasMount == right.hasMount
            && left.mount.hasRoot == right.mount.hasRoot && left.mount.root == right.mount.root
            && left.hasVendor == right.hasVendor && left.vendor == right.vendor
            && left.hasID == right.hasID && left.id == right.id
            && left.hasMetadata == right.hasMetadata && labelsEqual(left.metadata, right.metadata)
            && left.hasProfile == right.hasProfile && left.profile == right.profile
    }

    /// Whether adding `right` to `left` gives one resource (Mesos `addable`). Shared resources only combine with
    /// identical ones (then they are counted); exclusive disks (MOUNT, BLOCK, RAW with an id) and persistent
    /// volumes never combine.
    static func addable(_ left: Mesos_V1_Resource, _ right: Mesos_V1_Resource) -> Bool {
        guard left.hasShared == right.hasShared else { return false }
        if left.hasShared { return equal(left, right) }
        guard sameIdentity(left, right) else { return false }
        if left.hasDisk {
            if left.disk.hasSource {
                switch left.disk.source.type {
                case .mount, .block: return false
                case .raw where left.disk.source.hasID: return false
                default: break
                }
            }
            if left.disk.hasPersistence { return false }
        }
        return true
    }

    /// Whether `right` can be taken out of `left` (Mesos `subtractable`): as `addable`, except that exclusive
    /// disks and persistent volumes can be taken out whole.
    static func subtractable(_ left: Mesos_V1_Resource, _ right: Mesos_V1_Resource) -> Bool {
        guard left.hasShared == right.hasShared else { return false }
        if left.hasShared { return equal(left, right) }
        guard sameIdentity(left, right) else { return false }
        if left.hasDisk {
            if left.disk.hasSource {
                switch left.disk.source.type {
                case .mount, .block: if !equal(left, right) { return false }
                case .raw where left.disk.source.hasID: if !equal(left, right) { return false }
                default: break
                }
            }
            if left.disk.hasPersistence && !equal(left, right) { return false }
        }
        return true
    }
}
