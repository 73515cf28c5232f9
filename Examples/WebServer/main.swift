// Example 2, after seed 2: a framework launches a small web server on a port from the offer (`PORT0` in the task's
// environment), checks that it answers, then kills it.
//
//   example-web-server [MASTER_URL]     (default: $MESOS_MASTER, else a local cluster in-process)
//
// Exits 0 when the server answered on the offered port.
import Foundation
import Mesos
import MesosHTTP
import NIOCore
import MesosLauncher
import MesosLocal

@main
struct WebServer {
    static func main() async throws {
        var cluster: LocalCluster?
        var master = CommandLine.arguments.dropFirst().first ?? ProcessInfo.processInfo.environment["MESOS_MASTER"] ?? ""
        if master.isEmpty {
            let started = try await LocalCluster.start()
            cluster = started
            master = started.url
        }
        let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [master], frameworkName: "web-server"))
        try await launcher.start()
        var spec = TaskSpec(name: "web", shell: "echo 'hello from Mesos' > index.html && exec python3 -m http.server $PORT0 --bind 0.0.0.0")
        spec.resources = TaskSpec.Resources(cpus: 0.1, mem: 64, ports: 1)
        spec.killGracePeriod = .seconds(1)
        let handle = try await launcher.submit(spec)

        // The port the task got: from its TaskInfo's environment, as the agent set PORT0 (the status names the agent;
        // the launcher placed it, so ask the handle) — simplest: probe the agent's offered range for our page.
        var answered = false
        for await status in handle.updates {
            print("web: \(status.state)")
            guard status.state == .taskRunning, let host = handle.agentEndpoint.flatMap({ URL(string: $0)?.host }) else { continue }
            for port in handle.ports {
                for _ in 0..<50 {
                    if let response = try? await HTTPClient().execute(HTTPRequest(method: "GET", url: "http://\(host):\(port)/index.html")),
                        String(decoding: response.body.readableBytesView, as: UTF8.self).contains("hello from Mesos")
                    {
                        print("the web server answered on port \(port)")
                        answered = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try await handle.kill()
        }
        let outcome = try await handle.result()
        print("task ended: \(outcome.state)")
        await launcher.shutdown(.killTasks())
        await cluster?.stop()
        exit(answered && outcome.state == .taskKilled ? 0 : 1)
    }
}
