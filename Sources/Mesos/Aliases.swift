// Short names for the generated types that appear in public signatures across swift-mesos.
// The generated names (`Mesos_V1_Offer`) stay valid; these are the ones to write.

public typealias FrameworkID = Mesos_V1_FrameworkID
public typealias OfferID = Mesos_V1_OfferID
public typealias AgentID = Mesos_V1_AgentID
public typealias TaskID = Mesos_V1_TaskID
public typealias ExecutorID = Mesos_V1_ExecutorID
public typealias ContainerID = Mesos_V1_ContainerID
public typealias OperationID = Mesos_V1_OperationID
public typealias ResourceProviderID = Mesos_V1_ResourceProviderID

public typealias FrameworkInfo = Mesos_V1_FrameworkInfo
public typealias MasterInfo = Mesos_V1_MasterInfo
public typealias AgentInfo = Mesos_V1_AgentInfo
public typealias Offer = Mesos_V1_Offer
public typealias InverseOffer = Mesos_V1_InverseOffer
public typealias Resource = Mesos_V1_Resource
public typealias Attribute = Mesos_V1_Attribute
public typealias DomainInfo = Mesos_V1_DomainInfo
public typealias TaskInfo = Mesos_V1_TaskInfo
public typealias TaskGroupInfo = Mesos_V1_TaskGroupInfo
public typealias TaskStatus = Mesos_V1_TaskStatus
public typealias TaskState = Mesos_V1_TaskState
public typealias ExecutorInfo = Mesos_V1_ExecutorInfo
public typealias CommandInfo = Mesos_V1_CommandInfo
public typealias ContainerInfo = Mesos_V1_ContainerInfo
public typealias Filters = Mesos_V1_Filters
public typealias KillPolicy = Mesos_V1_KillPolicy
public typealias Labels = Mesos_V1_Labels
public typealias OperationStatus = Mesos_V1_OperationStatus

public typealias SchedulerCall = Mesos_V1_Scheduler_Call
public typealias SchedulerEvent = Mesos_V1_Scheduler_Event
public typealias ExecutorCall = Mesos_V1_Executor_Call
public typealias ExecutorEvent = Mesos_V1_Executor_Event
