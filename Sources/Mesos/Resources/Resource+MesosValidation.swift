extension Mesos_V1_Resource {
    /// Why a Mesos 1.11 master refuses this resource, in its own words (`Resources::validate`, src/common/resources.cpp),
    /// or nil when it is valid.
    ///
    /// The master puts this text in the TASK_ERROR or OPERATION_ERROR it sends for a task or operation that names the
    /// resource, after "Resource '<resource>' is invalid: ". `Resources` ignores what these rules refuse, and
    /// ``Resources/init(parsing:defaultRole:)`` reports it with this text.
    public var mesosValidationError: String? { self.validationProblem?.message }

    /// `Resources::validate`, in either reservation format: the first rule broken, as a parse error's code and
    /// Mesos's text; nil when the resource is valid. The one place the rules live.
    var validationProblem: (code: ResourcesParseError.Code, message: String)? {
        if self.name.isEmpty { return (.emptyName, "Empty resource name") }
        switch self.type {
        case .scalar:
            if !self.hasScalar || self.hasRanges || self.hasSet { return (.invalidResource, "Invalid scalar resource") }
            // Compared in fixed point, where a value that rounds to zero, NaN and the infinities (llround's LLONG_MIN)
            // are not above zero either: 0.0004 cpus is not a resource.
            let value = self.scalar.value
            if value < 0 { return (.negativeScalar, "Invalid scalar resource: value <= 0") }
            if value != 0 && (!value.isFinite || self.scalar.quantity <= .zero) {
                return (.invalidScalar, "Invalid scalar resource: value <= 0")
            }
        case .ranges:
            if self.hasScalar || !self.hasRanges || self.hasSet { return (.invalidResource, "Invalid ranges resource") }
            let ranges = self.ranges.range
            if ranges.contains(where: { $0.begin > $0.end }) { return (.invalidRange, "Invalid ranges resource: begin > end") }
            // Mesos's own rule, narrower than "no two ranges overlap": a range is refused when it begins inside one
            // listed before it, so [5-10, 1-20] is valid (and is 1-20) while [1-20, 5-10] is not. Ranges in ascending
            // order, apart from each other (as masters send them), pass without the pairwise look, which would take a
            // million steps for a thousand ranges.
            let ascending = zip(ranges, ranges.dropFirst()).allSatisfy { $0.end < $1.begin }
            for (index, range) in ranges.enumerated() where !ascending {
                for later in ranges[(index + 1)...] where range.begin <= later.begin && later.begin <= range.end {
                    return (.invalidRange, "Invalid ranges resource: overlapping ranges")
                }
            }
        case .set:
            if self.hasScalar || self.hasRanges || !self.hasSet { return (.invalidResource, "Invalid set resource") }
            if Set(self.set.item).count != self.set.item.count {
                return (.duplicateSetItem, "Invalid set resource: duplicated elements")
            }
        case .text:
            return (.invalidResource, "Unsupported resource type")
        }
        if self.hasDisk {
            if self.name != "disk" { return (.invalidResource, "DiskInfo should not be set for \(self.name) resource") }
            if self.disk.hasSource {
                let source = self.disk.source
                let kind = source.type == .block ? "BLOCK" : "RAW"
                switch source.type {
                case .path, .mount:
                    break
                case .block, .raw:
                    if source.hasMount { return (.invalidResource, "Mount should not be set for \(kind) disk source") }
                    if source.hasPath { return (.invalidResource, "Path should not be set for \(kind) disk source") }
                case .unknown:
                    return (.invalidResource, "Unsupported 'DiskInfo.Source.Type' in 'UNKNOWN'")
                }
            }
        }
        if let problem = self.reservationProblem { return problem }
        if self.hasShared {
            if self.name != "disk" { return (.invalidResource, "Resource \(self.name) cannot be shared") }
            if !self.hasDisk || !self.disk.hasPersistence { return (.invalidResource, "Only persistent volumes can be shared") }
        }
        return nil
    }

    /// The reservation rules of `Resources::validate`, in either format.
    private var reservationProblem: (code: ResourcesParseError.Code, message: String)? {
        guard !self.reservations.isEmpty else {
            // The "pre-reservation-refinement" format: `role`, and `reservation` for a dynamic reservation.
            if let problem = MesosRoles.problem(with: self.role) { return (.invalidRole, problem) }
            guard self.hasReservation else { return nil }
            if self.reservation.hasType {
                return (.invalidResource, "'Resource.ReservationInfo.type' must not be set for the 'Resource.reservation' field")
            }
            if self.reservation.hasRole {
                return (.invalidResource, "'Resource.ReservationInfo.role' must not be set for the 'Resource.reservation' field")
            }
            if self.role == "*" { return (.invalidRole, "Invalid reservation: role \"*\" cannot be dynamically reserved") }
            return nil
        }
        for reservation in self.reservations {
            if !reservation.hasType {
                return (.invalidResource, "Invalid reservation: 'Resource.ReservationInfo.type' field must be set.")
            }
            if !reservation.hasRole {
                return (.invalidRole, "Invalid reservation: 'Resource.ReservationInfo.role' field must be set.")
            }
            if let problem = MesosRoles.problem(with: reservation.role) { return (.invalidRole, problem) }
            if reservation.role == "*" { return (.invalidRole, "Invalid reservation: role \"*\" cannot be reserved") }
        }
        var ancestor = self.reservations[0].role
        for reservation in self.reservations.dropFirst() {
            if reservation.type == .static {
                return (.invalidResource, "Invalid refined reservation: A refined reservation cannot be STATIC")
            }
            if !MesosRoles.isStrictSubrole(reservation.role, of: ancestor) {
                return (
                    .invalidResource,
                    "Invalid refined reservation: role '\(reservation.role)' is not a refinement of '\(ancestor)'"
                )
            }
            ancestor = reservation.role
        }
        guard self.reservations.count == 1 else {
            if self.hasRole {
                return (.invalidResource, "Invalid resource format: 'Resource.role' must not be set if there is more than one reservation in 'Resource.reservations'")
            }
            if self.hasReservation {
                return (.invalidResource, "Invalid resource format: 'Resource.reservation' must not be set if there is more than one reservation in 'Resource.reservations'")
            }
            return nil
        }
        let only = self.reservations[0]
        if self.hasRole && self.role != only.role {
            return (.invalidResource, "Invalid resource format: 'Resource.role' field with '\(self.role)' does not match the role '\(only.role)' in 'Resource.reservations'")
        }
        switch only.type {
        case .static:
            if self.hasReservation {
                return (.invalidResource, "Invalid resource format: 'Resource.reservation' must not be set if the single reservation in 'Resource.reservations' is STATIC")
            }
        case .dynamic:
            if self.hasRole != self.hasReservation {
                return (.invalidResource, "Invalid resource format: 'Resource.role' and 'Resource.reservation' must either be both set or both not set if the single reservation in 'Resource.reservations' is DYNAMIC")
            }
            if self.hasReservation && self.reservation.principal != only.principal {
                return (.invalidResource, "Invalid resource format: 'Resource.reservation.principal' field with '\(self.reservation.principal)' does not match the principal '\(only.principal)' in 'Resource.reservations'")
            }
            if self.hasReservation && !MesosIdentity.labelsEqual(self.reservation.labels, only.labels) {
                return (.invalidResource, "Invalid resource format: 'Resource.reservation.labels' field with '\(Self.describe(self.reservation.labels))' does not match the labels '\(Self.describe(only.labels))' in 'Resource.reservations'")
            }
        case .unknown:
            return (.invalidResource, "Unsupported 'Resource.ReservationInfo.Type'")
        }
        return nil
    }

    /// Labels as Mesos's `stringify(Labels)` writes them.
    private static func describe(_ labels: Mesos_V1_Labels) -> String {
        "{" + labels.labels.map { $0.hasValue ? "\($0.key): \($0.value)" : $0.key }.joined(separator: ", ") + "}"
    }
}
