// Usage: ArtifactBenchmark <file>...
// Serves the files with MesosArtifacts on 127.0.0.1 (port 0), prints one line per file:
//   url=<artifact URL>
// then `ready pid=<pid>`, and serves until stdin closes (the benchmark script drives it with wrk). Each line read
// from stdin is answered with `served_bytes=<body bytes sent so far>`.
import Foundation
import MesosArtifacts

var configuration = ArtifactServerConfiguration()
configuration.host = "127.0.0.1"
configuration.maximumConnections = 4096
let server = try await ArtifactServer.bind(configuration)
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }  // unbuffered
for path in CommandLine.arguments.dropFirst() {
    let artifact = try await server.register(file: path)
    say("url=\(artifact.url)")
}
say("ready pid=\(getpid())")
let serving = Task { try await server.run() }
// Stop when the driver closes our standard input.
while readLine() != nil { say("served_bytes=\(server.served.bytes)") }
serving.cancel()
_ = try? await serving.value
