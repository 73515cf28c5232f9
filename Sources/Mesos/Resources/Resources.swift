/// A bag of Mesos resources with Mesos's own arithmetic (`mesos::v1::Resources`).
///
/// Adding merges a resource into the one it is *addable* to: same name, type, reservation stack, allocation role,
/// disk, revocability, provider and shared-ness. Scalars add in Mesos's fixed point (``ScalarQuantity``), ranges
/// coalesce, sets union. Anything else is kept apart, so `cpus` reserved for `eng` never merges with unreserved
/// `cpus`, nor with `cpus` offered to another role. Subtracting takes the amount out of the matching resource and
/// drops it when nothing (or less than nothing) is left. Empty and invalid resources are ignored, as Mesos does.
///
/// ```swift
/// var free = try Resources(parsing: "cpus:4;mem:4096;ports:[31000-31009]")
/// let task = try Resources(parsing: "cpus:0.5;mem:512;ports:[31000-31000]")
/// if free.contains(task) { free -= task }   // cpus:3.5;mem:3584;ports:[31001-31009]
/// ```
///
/// Exceptions to "one entry per identity", all as in Mesos:
/// - *Shared* resources (shared persistent volumes) are never merged: identical copies are counted (see
///   ``count(of:)``), and subtracting takes one copy away.
/// - Persistent volumes and exclusive disks (`MOUNT`, `BLOCK`, `RAW` with an id) never merge, even with an identical
///   copy; they are subtracted only whole.
///
/// Resources are stored in the post-reservation-refinement format: resources that arrive with the deprecated `role`
/// and `reservation` fields are converted to the `reservations` stack they stand for, and masters accept that format
/// from every framework. Two values are equal when they hold the same resources, in any order.
public struct Resources: Hashable, Sendable, Sequence, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// One resource and, when it is shared, how many identical copies it stands for.
    struct Entry: Sendable {
        var resource: Mesos_V1_Resource
        var sharedCount: Int?
    }

    private(set) var entries: [Entry] = []

    /// No resources.
    public init() {}

    /// The sum of `resources`. Invalid resources (by Mesos's rules) and empty ones are skipped, as in Mesos.
    public init(_ resources: some Sequence<Mesos_V1_Resource>) {
        for resource in resources { self += resource }
    }

    /// `resource` alone, or nothing when it is invalid or empty.
    public init(_ resource: Mesos_V1_Resource) { self += resource }

    public init(arrayLiteral elements: Mesos_V1_Resource...) { self.init(elements) }

    /// The resources as messages, in the post-reservation-refinement format.
    ///
    /// Like Mesos, this lists a shared resource once however many copies it counts (see ``count(of:)``).
    public var protobufs: [Mesos_V1_Resource] { self.entries.map(\.resource) }

    public var isEmpty: Bool { self.entries.isEmpty }

    /// How many times `resource` is held: its copy count when shared, 1 when an identical non-shared resource is
    /// held, 0 otherwise (Mesos `count`).
    public func count(of resource: Mesos_V1_Resource) -> Int {
        let wanted = resource.postRefinement
        for entry in self.entries where MesosIdentity.equal(entry.resource, wanted) {
            return entry.sharedCount ?? 1
        }
        return 0
    }

    public struct Iterator: IteratorProtocol, Sendable {
        var base: IndexingIterator<[Entry]>
        public mutating func next() -> Mesos_V1_Resource? { self.base.next()?.resource }
    }

    public func makeIterator() -> Iterator { Iterator(base: self.entries.makeIterator()) }

    public var underestimatedCount: Int { self.entries.count }
}

// MARK: - Arithmetic

extension Resources {
    public static func + (lhs: Resources, rhs: Mesos_V1_Resource) -> Resources {
        var result = lhs
        result += rhs
        return result
    }

    public static func + (lhs: Resources, rhs: Resources) -> Resources {
        var result = lhs
        result += rhs
        return result
    }

    public static func - (lhs: Resources, rhs: Mesos_V1_Resource) -> Resources {
        var result = lhs
        result -= rhs
        return result
    }

    public static func - (lhs: Resources, rhs: Resources) -> Resources {
        var result = lhs
        result -= rhs
        return result
    }

    /// Adds `rhs` unless it is invalid or empty.
    public static func += (lhs: inout Resources, rhs: Mesos_V1_Resource) {
        guard let entry = Entry(validating: rhs) else { return }
        lhs.add(entry)
    }

    public static func += (lhs: inout Resources, rhs: Resources) {
        for entry in rhs.entries { lhs.add(entry) }
    }

    /// Takes `rhs` out of the resource it is subtractable from, dropping that resource when it becomes empty or
    /// negative (subtracting more than is there is not an error, as in Mesos). Invalid `rhs` changes nothing.
    public static func -= (lhs: inout Resources, rhs: Mesos_V1_Resource) {
        guard let entry = Entry(validating: rhs) else { return }
        lhs.subtract(entry)
    }

    public static func -= (lhs: inout Resources, rhs: Resources) {
        for entry in rhs.entries { lhs.subtract(entry) }
    }

    /// Whether every resource of `other` is held here (Mesos `contains`). Each persistent volume of `other` must
    /// be matched by its own volume here.
    public func contains(_ other: Resources) -> Bool {
        var remaining = self
        for entry in other.entries {
            guard remaining.containsEntry(entry) else { return false }
            if entry.resource.isPersistentVolume { remaining.subtract(entry) }
        }
        return true
    }

    /// Whether `resource` is held here; `false` for an invalid resource.
    public func contains(_ resource: Mesos_V1_Resource) -> Bool {
        guard let entry = Entry(validating: resource) else { return false }
        return self.containsEntry(entry)
    }

    mutating func add(_ entry: Entry) {
        guard !entry.isEmpty else { return }
        for index in self.entries.indices where MesosIdentity.addable(self.entries[index].resource, entry.resource) {
            self.entries[index].add(entry)
            return
        }
        self.entries.append(entry)
    }

    private mutating func subtract(_ entry: Entry) {
        guard !entry.isEmpty else { return }
        for index in self.entries.indices
        where MesosIdentity.subtractable(self.entries[index].resource, entry.resource) {
            self.entries[index].subtract(entry)
            if self.entries[index].isEmpty || self.entries[index].isNegative { self.entries.remove(at: index) }
            return
        }
    }

    private func containsEntry(_ entry: Entry) -> Bool {
        self.entries.contains { $0.contains(entry) }
    }
}

// MARK: - Amounts

extension Resources {
    /// The sum of every scalar resource called `name`, whatever its reservation or allocation.
    public func scalar(named name: String) -> ScalarQuantity {
        self.entries.reduce(.zero) { total, entry in
            entry.resource.name == name && entry.resource.type == .scalar
                ? total + entry.resource.scalar.quantity : total
        }
    }

    /// The union of every ranges resource called `name`, whatever its reservation or allocation.
    public func ranges(named name: String) -> ValueRanges {
        self.entries.reduce(into: ValueRanges()) { total, entry in
            if entry.resource.name == name && entry.resource.type == .ranges, let ranges = entry.ranges {
                total += ranges
            }
        }
    }

    /// The union of every set resource called `name`, whatever its reservation or allocation.
    public func set(named name: String) -> Set<String> {
        self.entries.reduce(into: Set<String>()) { total, entry in
            if entry.resource.name == name && entry.resource.type == .set { total.formUnion(entry.resource.set.item) }
        }
    }

    /// The names of the resources held.
    public var names: Set<String> { Set(self.entries.map(\.resource.name)) }

    /// `scalar(named: "cpus")`.
    public var cpus: ScalarQuantity { self.scalar(named: "cpus") }
    /// `scalar(named: "mem")`, in MB.
    public var mem: ScalarQuantity { self.scalar(named: "mem") }
    /// `scalar(named: "disk")`, in MB.
    public var disk: ScalarQuantity { self.scalar(named: "disk") }
    /// `scalar(named: "gpus")`.
    public var gpus: ScalarQuantity { self.scalar(named: "gpus") }
    /// `ranges(named: "ports")`.
    public var ports: ValueRanges { self.ranges(named: "ports") }
}

// MARK: - Filters

extension Resources {
    /// The resources for which `isIncluded` is true; shared copy counts are kept.
    public func filter<E: Error>(_ isIncluded: (Mesos_V1_Resource) throws(E) -> Bool) throws(E) -> Resources {
        var result = Resources()
        for entry in self.entries where try isIncluded(entry.resource) { result.entries.append(entry) }
        return result
    }

    /// Revocable resources (oversubscribed; may be taken back at any time).
    public var revocable: Resources { self.filter { $0.hasRevocable } }

    /// Resources that are not revocable.
    public var nonRevocable: Resources { self.filter { !$0.hasRevocable } }

    /// Shared resources (shared persistent volumes).
    public var shared: Resources { self.filter { $0.hasShared } }

    /// Resources that are not shared.
    public var nonShared: Resources { self.filter { !$0.hasShared } }

    /// Persistent volumes (`disk` with `disk.persistence`).
    public var persistentVolumes: Resources { self.filter { $0.isPersistentVolume } }
}

// MARK: - Reservations (who resources are set aside for)

extension Resources {
    /// Resources without any reservation (reservation role `*`). Says nothing about allocation roles.
    public var unreserved: Resources { self.filter { $0.reservations.isEmpty } }

    /// Resources with at least one reservation, for any role.
    public var reserved: Resources { self.filter { !$0.reservations.isEmpty } }

    /// Resources whose **reservation** role (the top-most reservation) is exactly `role` (Mesos `reserved(role)`).
    /// Resources reserved for an ancestor or descendant of `role` are not included; see ``usable(byRole:)``.
    public func reserved(for role: String) -> Resources {
        self.filter { !$0.reservations.isEmpty && $0.reservationRole == role }
    }

    /// Reserved resources grouped by **reservation** role.
    public var reservations: [String: Resources] {
        var result: [String: Resources] = [:]
        for entry in self.entries where !entry.resource.reservations.isEmpty {
            result[entry.resource.reservationRole, default: Resources()].add(entry)
        }
        return result
    }

    /// Resources a framework role may use (Mesos `allocatableTo`): unreserved ones, and those whose **reservation**
    /// role is `role` or one of its ancestors (`eng` reservations are usable by `eng/web`).
    public func usable(byRole role: String) -> Resources {
        self.filter { resource in
            resource.reservations.isEmpty || resource.reservationRole == role
                || MesosRoles.isStrictSubrole(role, of: resource.reservationRole)
        }
    }

    /// Every resource with `reservation` pushed on its reservation stack (Mesos `pushReservation`): a reservation of
    /// unreserved resources, or a refinement (`DYNAMIC`, strict sub-role) of reserved ones.
    /// - Throws: ``ReservationError`` `.invalidRole`, `.invalidType` or `.notARefinement`, for the first resource
    ///   the reservation does not fit.
    public func pushingReservation(
        _ reservation: Mesos_V1_Resource.ReservationInfo
    ) throws(ReservationError)
        -> Resources
    {
        try self.mapEntries { resource throws(ReservationError) in try resource.pushingReservation(reservation) }
    }

    /// Every resource without its top-most reservation (Mesos `popReservation`).
    /// - Throws: ``ReservationError`` `.notReserved` when a resource is unreserved.
    public func poppingReservation() throws(ReservationError) -> Resources {
        try self.mapEntries { resource throws(ReservationError) in try resource.poppingReservation() }
    }

    /// The resources with every reservation removed (Mesos `toUnreserved`, formerly `flatten()`); those that become
    /// identical merge.
    public func flattened() -> Resources {
        self.mapEntries { resource in
            var resource = resource
            resource.reservations = []
            return resource
        }
    }

    /// The resources with their whole reservation stack replaced by a single reservation for `role` (Mesos
    /// `flatten(role, reservation)`): unreserved for `*`, `STATIC` for another role, `DYNAMIC` when `reservation`
    /// (whose principal and labels are kept) is given. Allocation roles are unchanged.
    /// - Throws: ``ReservationError`` `.invalidRole` for an invalid role name, or for `*` with a `reservation`.
    public func flattened(
        role: String,
        reservation: Mesos_V1_Resource.ReservationInfo? = nil
    ) throws(ReservationError) -> Resources {
        if let problem = MesosRoles.problem(with: role) {
            throw ReservationError(code: .invalidRole, message: problem)
        }
        if role == "*" {
            guard reservation == nil else {
                throw ReservationError(code: .invalidRole, message: "role '*' cannot be dynamically reserved")
            }
            return self.flattened()
        }
        var replacement = reservation ?? .static(role: role)
        replacement.role = role
        replacement.type = reservation == nil ? .static : .dynamic
        return self.mapEntries { resource in
            var resource = resource
            resource.reservations = [replacement]
            return resource
        }
    }
}

// MARK: - Allocation (which role resources were offered to)

extension Resources {
    /// The resources with their **allocation** role (`allocation_info.role`) set to `role` (Mesos `allocate`).
    /// Reservations are unchanged.
    public func allocated(to role: String) -> Resources {
        self.mapEntries { $0.allocated(to: role) }
    }

    /// The resources without allocation information (Mesos `unallocate`).
    public func unallocated() -> Resources {
        self.mapEntries { resource in
            var resource = resource
            resource.clearAllocationInfo()
            return resource
        }
    }

    /// Resources grouped by **allocation** role; resources without one are left out.
    public var allocations: [String: Resources] {
        var result: [String: Resources] = [:]
        for entry in self.entries {
            guard let role = entry.resource.allocationRole else { continue }
            result[role, default: Resources()].add(entry)
        }
        return result
    }
}

// MARK: - Equality and printing

extension Resources {
    /// Whether both hold the same resources, in any order (values compared as Mesos does).
    public static func == (lhs: Resources, rhs: Resources) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        var unmatched = rhs.entries
        for entry in lhs.entries {
            guard let index = unmatched.firstIndex(where: { $0.isIdentical(to: entry) }) else { return false }
            unmatched.swapAt(index, unmatched.count - 1)
            unmatched.removeLast()
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-insensitive: combine the sorted hashes of the entries.
        hasher.combine(self.entries.map(\.hashValue).sorted())
    }

    /// The Mesos text form, `cpus:1;mem:128;disk(eng):10;ports:[31000-31005];zones:{a, b}`, which
    /// ``init(parsing:defaultRole:)`` reads back; empty when there are no resources.
    ///
    /// What the text form can't express is shown the way Mesos logs it, and does not parse back:
    /// `(allocated: role)`, `(reservations: [(DYNAMIC,role,principal)])`, `[disk source,persistence id]`,
    /// `{REV}`, `<SHARED>` and a shared copy count `<2>`.
    public var description: String {
        self.entries.map(\.description).joined(separator: ";")
    }
}

// MARK: - Entries

extension Resources {
    /// Rebuilds the resources from transformed copies, merging those that become addable.
    private func mapEntries<E: Error>(
        _ transform: (Mesos_V1_Resource) throws(E) -> Mesos_V1_Resource
    ) throws(E) -> Resources {
        var result = Resources()
        for entry in self.entries {
            result.add(Entry(resource: try transform(entry.resource), sharedCount: entry.sharedCount))
        }
        return result
    }
}

extension Resources.Entry: Hashable, CustomStringConvertible {
    /// `resource` in canonical form (post-refinement reservations, explicit type, value in fixed point /
    /// coalesced / without repeats), or `nil` when Mesos would reject it.
    init?(validating resource: Mesos_V1_Resource) {
        guard resource.validationProblem == nil else { return nil }
        var canonical = resource.postRefinement
        canonical.type = resource.type
        switch canonical.type {
        case .scalar:
            canonical.scalar = Mesos_V1_Value.Scalar(canonical.scalar.quantity)
        case .ranges:
            guard let ranges = ValueRanges(canonical.ranges) else { return nil }
            canonical.ranges = ranges.protobuf
        case .set, .text:
            break  // validation has ruled out repeated items and TEXT
        }
        self.init(resource: canonical, sharedCount: canonical.hasShared ? 1 : nil)
    }

    var ranges: ValueRanges? { ValueRanges(self.resource.ranges) }

    /// Mesos `Resource_::isEmpty`: a shared resource is empty when no copy is left or when its value is.
    var isEmpty: Bool {
        if let sharedCount, sharedCount == 0 { return true }
        switch self.resource.type {
        case .scalar: return self.resource.scalar.quantity == .zero
        case .ranges: return self.resource.ranges.range.isEmpty
        case .set: return self.resource.set.item.isEmpty
        case .text: return true
        }
    }

    /// More was subtracted than there was.
    var isNegative: Bool {
        if let sharedCount { return sharedCount < 0 }
        return self.resource.type == .scalar && self.resource.scalar.quantity < .zero
    }

    /// Adds an addable entry: counts copies of a shared resource, sums values otherwise.
    mutating func add(_ other: Self) {
        if let count = self.sharedCount {
            self.sharedCount = count + (other.sharedCount ?? 1)
            return
        }
        switch self.resource.type {
        case .scalar:
            self.resource.scalar = Mesos_V1_Value.Scalar(self.resource.scalar.quantity + other.resource.scalar.quantity)
        case .ranges:
            self.resource.ranges = ((self.ranges ?? []) + (other.ranges ?? [])).protobuf
        case .set:
            let known = Set(self.resource.set.item)
            var seen = known
            self.resource.set.item += other.resource.set.item.filter { !known.contains($0) && seen.insert($0).inserted }
        case .text:
            break
        }
    }

    /// Subtracts a subtractable entry: one copy fewer of a shared resource, the value difference otherwise.
    mutating func subtract(_ other: Self) {
        if let count = self.sharedCount {
            self.sharedCount = count - (other.sharedCount ?? 1)
            return
        }
        switch self.resource.type {
        case .scalar:
            self.resource.scalar = Mesos_V1_Value.Scalar(self.resource.scalar.quantity - other.resource.scalar.quantity)
        case .ranges:
            self.resource.ranges = ((self.ranges ?? []) - (other.ranges ?? [])).protobuf
        case .set:
            let removed = Set(other.resource.set.item)
            self.resource.set.item.removeAll { removed.contains($0) }
        case .text:
            break
        }
    }

    /// Whether this entry holds all of `other` (Mesos `Resource_::contains`).
    func contains(_ other: Self) -> Bool {
        guard (self.sharedCount == nil) == (other.sharedCount == nil) else { return false }
        if let count = self.sharedCount {
            return count >= other.sharedCount ?? 1 && MesosIdentity.equal(self.resource, other.resource)
        }
        guard MesosIdentity.subtractable(self.resource, other.resource) else { return false }
        switch self.resource.type {
        case .scalar: return other.resource.scalar.quantity <= self.resource.scalar.quantity
        case .ranges: return (self.ranges ?? []).contains(other.ranges ?? [])
        case .set: return Set(other.resource.set.item).isSubset(of: self.resource.set.item)
        case .text: return false
        }
    }

    func isIdentical(to other: Self) -> Bool {
        self.sharedCount == other.sharedCount && MesosIdentity.equal(self.resource, other.resource)
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.isIdentical(to: rhs) }

    /// Hashes a subset of what `isIdentical` compares, so identical entries hash alike.
    func hash(into hasher: inout Hasher) {
        let resource = self.resource
        hasher.combine(resource.name)
        hasher.combine(resource.type.rawValue)
        hasher.combine(resource.reservations.map(\.role))
        hasher.combine(resource.allocationRole)
        hasher.combine(resource.hasRevocable)
        hasher.combine(resource.hasShared)
        hasher.combine(resource.hasDisk ? resource.disk.persistence.id : nil)
        hasher.combine(self.sharedCount)
        switch resource.type {
        case .scalar: hasher.combine(resource.scalar.quantity)
        case .ranges: hasher.combine(self.ranges)
        case .set: hasher.combine(resource.set.item.sorted())
        case .text: break
        }
    }

    var description: String {
        let resource = self.resource
        var text = resource.name
        if let role = resource.allocationRole { text += "(allocated: \(role))" }
        if let only = resource.reservations.first, resource.reservations.count == 1, only.type == .static,
            !only.hasPrincipal, !only.hasLabels
        {
            text += "(\(only.role))"
        } else if !resource.reservations.isEmpty {
            text += "(reservations: [" + resource.reservations.map(Self.describe).joined(separator: ", ") + "])"
        }
        if resource.hasDisk { text += "[" + Self.describe(resource.disk) + "]" }
        if resource.hasRevocable { text += "{REV}" }
        if resource.hasShared { text += "<SHARED>" }
        text += ":"
        switch resource.type {
        case .scalar: text += resource.scalar.quantity.description
        case .ranges: text += (self.ranges ?? []).description
        case .set: text += "{" + resource.set.item.joined(separator: ", ") + "}"
        case .text: break
        }
        if let sharedCount { text += "<\(sharedCount)>" }
        return text
    }

    private static func describe(_ reservation: Mesos_V1_Resource.ReservationInfo) -> String {
        var parts = [reservation.type == .dynamic ? "DYNAMIC" : "STATIC", reservation.role]
        if reservation.hasPrincipal { parts.append(reservation.principal) }
        if reservation.hasLabels {
            let labels = reservation.labels.labels.map { $0.hasValue ? "\($0.key): \($0.value)" : $0.key }
            parts.append("{" + labels.joined(separator: ", ") + "}")
        }
        return "(" + parts.joined(separator: ",") + ")"
    }

    private static func describe(_ disk: Mesos_V1_Resource.DiskInfo) -> String {
        var parts: [String] = []
        if disk.hasSource {
            let source = disk.source
            let name =
                switch source.type {
                case .path: "PATH"
                case .mount: "MOUNT"
                case .block: "BLOCK"
                case .raw: "RAW"
                case .unknown: "UNKNOWN"
                }
            if source.hasID || source.hasProfile {
                parts.append(name + "(\(source.vendor),\(source.id),\(source.profile))")
            } else if source.type == .path && source.path.hasRoot {
                parts.append(name + ":" + source.path.root)
            } else if source.type == .mount && source.mount.hasRoot {
                parts.append(name + ":" + source.mount.root)
            } else {
                parts.append(name)
            }
        }
        if disk.hasPersistence { parts.append(disk.persistence.id) }
        var text = parts.joined(separator: ",")
        if disk.hasVolume { text += ":" + disk.volume.containerPath }
        return text
    }
}
