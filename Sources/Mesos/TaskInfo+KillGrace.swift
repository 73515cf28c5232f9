extension Mesos_V1_TaskInfo {
    /// The grace period between SIGTERM and SIGKILL when this task is killed, as Mesos's command and default
    /// executors choose it: the KILL's own policy when it has a grace period, else the task's `kill_policy`, else
    /// `fallback` (3 s, Mesos's default since 1.0). Negative periods count as zero.
    public func killGracePeriod(override: Mesos_V1_KillPolicy?, fallback: Duration = .seconds(3)) -> Duration {
        let grace: Duration =
            if let override, override.hasGracePeriod {
                .nanoseconds(override.gracePeriod.nanoseconds)
            } else if self.hasKillPolicy && self.killPolicy.hasGracePeriod {
                .nanoseconds(self.killPolicy.gracePeriod.nanoseconds)
            } else {
                fallback
            }
        return max(.zero, grace)
    }
}
