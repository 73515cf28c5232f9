extension Mesos_V1_TaskState {
    /// Whether the task is over: TASK_FINISHED, TASK_FAILED, TASK_KILLED, TASK_ERROR, TASK_LOST, TASK_DROPPED,
    /// TASK_GONE or TASK_GONE_BY_OPERATOR (Mesos's `protobuf::isTerminalState`). TASK_UNREACHABLE and TASK_UNKNOWN
    /// are not: the task may come back.
    public var isTerminal: Bool {
        switch self {
        case .taskFinished, .taskFailed, .taskKilled, .taskError, .taskLost, .taskDropped, .taskGone,
            .taskGoneByOperator:
            true
        default:
            false
        }
    }
}
