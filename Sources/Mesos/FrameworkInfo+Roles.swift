extension Mesos_V1_FrameworkInfo {
    /// The roles the framework subscribes with, as the master reads them (`protobuf::framework::getRoles`): `roles`
    /// for a MULTI_ROLE framework, otherwise its one `role` (`*` when unset). What SUPPRESS and REVIVE without roles
    /// apply to.
    public var subscribedRoles: [String] {
        if self.capabilities.contains(where: { $0.type == .multiRole }) { return self.roles }
        return [self.hasRole ? self.role : "*"]
    }
}
