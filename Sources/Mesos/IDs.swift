public import SwiftProtobuf

/// A Mesos ID: a message with a single `value` string (`TaskID`, `AgentID`, …).
///
/// IDs can be written as string literals and print as their value:
/// ```swift
/// let task: TaskID = "web-1"
/// ```
public protocol MesosStringID: SwiftProtobuf.Message, ExpressibleByStringLiteral, CustomStringConvertible {
    var value: String { get set }
}

extension MesosStringID {
    public init(_ value: String) {
        self.init()
        self.value = value
    }

    public init(stringLiteral value: String) { self.init(value) }

    public var description: String { self.value }
}

extension Mesos_V1_FrameworkID: MesosStringID {}
extension Mesos_V1_OfferID: MesosStringID {}
extension Mesos_V1_AgentID: MesosStringID {}
extension Mesos_V1_TaskID: MesosStringID {}
extension Mesos_V1_ExecutorID: MesosStringID {}
extension Mesos_V1_OperationID: MesosStringID {}
extension Mesos_V1_ResourceProviderID: MesosStringID {}

extension Mesos_V1_ContainerID: CustomStringConvertible {
    /// A container ID, nested under `parent` when given.
    public init(_ value: String, parent: Mesos_V1_ContainerID? = nil) {
        self.init()
        self.value = value
        if let parent { self.parent = parent }
    }

    /// `parent.child`, as Mesos prints nested container IDs.
    public var description: String { self.hasParent ? "\(self.parent).\(self.value)" : self.value }
}
