import Glibc
import Mesos
import MesosLauncher
import Testing

@Suite("TaskOutcome exit codes")
struct TaskOutcomeTests {
    @Test("a task killed by any signal 1-31 exits 128 + N, read from the agent's strsignal wording")
    func everySignal() {
        for number in Int32(1)...31 {
            var status = TaskStatus()
            status.state = .taskFailed
            status.message = "Command terminated with signal " + String(cString: strsignal(number))
            #expect(TaskOutcome.exitCode(of: status) == 128 + number, "\(status.message)")
        }
        var dumped = TaskStatus()
        dumped.state = .taskFailed
        dumped.message = "Command terminated with signal Segmentation fault (core dumped)"
        #expect(TaskOutcome.exitCode(of: dumped) == 139)
        // Any text a custom executor sends is read without trapping.
        for text in ["2147483647", "-2147483648", "99", "0", "9999999999999"] {
            var odd = TaskStatus()
            odd.state = .taskFailed
            odd.message = "Command terminated with signal " + text
            #expect(TaskOutcome.exitCode(of: odd) == nil, "\(text)")
        }
        var exited = TaskStatus()
        exited.state = .taskFailed
        exited.message = "Command exited with status 3"
        #expect(TaskOutcome.exitCode(of: exited) == 3)
    }
}
