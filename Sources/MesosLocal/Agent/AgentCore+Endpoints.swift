import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Mesos
import MesosCodecs
import NIOHTTP1
import SwiftProtobuf

// The agent's HTTP endpoint: `/api/v1/executor`, `/files/{read,browse,download}` (src/files/files.cpp),
// `/state` (the fields clients use) and `/health`.
extension AgentCore: AgentHTTPRouter {
    func handle(_ request: AgentHTTPRequest, responder: AgentHTTPResponder) {
        self.queue.async {
            guard !self.stopping else {
                responder.respond(.serviceUnavailable, text: "Agent is shutting down")
                return
            }
            var path = request.path
            if path.hasPrefix("/slave(1)/") { path = String(path.dropFirst("/slave(1)".count)) }
            switch path {
            case "/api/v1/executor":
                self.handleExecutorCall(request, responder: responder)
            case "/files/read", "/files/read.json":
                self.filesRead(request, responder: responder)
            case "/files/browse", "/files/browse.json":
                self.filesBrowse(request, responder: responder)
            case "/files/download", "/files/download.json":
                self.filesDownload(request, responder: responder)
            case "/state", "/state.json":
                self.answerJSON(self.stateJSON(), request: request, responder: responder)
            case "/health":
                responder.respond(.ok)
            default:
                responder.respond(.notFound)
            }
        }
    }

    func connectionClosed(_ connection: ObjectIdentifier) {
        self.queue.async { self.subscriptionClosed(connection) }
    }

    private func answerJSON(_ value: AgentJSON, request: AgentHTTPRequest, responder: AgentHTTPResponder) {
        if let jsonp = request.query["jsonp"] {
            responder.respond(.ok, contentType: "text/javascript", body: Array((jsonp + "(").utf8) + value.bytes + Array(");".utf8))
        } else {
            responder.respond(.ok, contentType: "application/json", body: value.bytes)
        }
    }

    // MARK: Files

    enum Resolved {
        case path(String)
        case invalid(String)
        case notFound
    }

    /// Maps a `/files` path to a real path: a sandbox path as `/state` reports it, or the virtual
    /// `/frameworks/<fw>/executors/<ex>/runs/latest/...`; never a file outside the agent's sandboxes.
    func resolveFilesPath(_ requested: String) -> Resolved {
        var path = requested
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let root = self.agentDirectory
        if path.hasPrefix("/frameworks/") { path = root + path }
        guard let rootReal = Self.realPath(root) else { return .notFound }
        guard path == root || path.hasPrefix(root + "/") || path.hasPrefix(rootReal + "/") else { return .notFound }
        guard let real = Self.realPath(path) else { return .notFound }
        guard real == rootReal || real.hasPrefix(rootReal + "/") else {
            return .invalid("'\(path)' is inaccessible")
        }
        return .path(real)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func filesRead(_ request: AgentHTTPRequest, responder: AgentHTTPResponder) {
        let query = request.query
        guard let path = query["path"], !path.isEmpty else {
            responder.respond(.badRequest, text: "Expecting 'path=value' in query.\n")
            return
        }
        var offset: Int64 = -1
        if let text = query["offset"] {
            guard let value = Int64(text.agentTrimmed) else {
                responder.respond(.badRequest, text: "Failed to parse offset: Failed to convert '\(text)' to number.\n")
                return
            }
            guard value >= -1 else {
                responder.respond(.badRequest, text: "Negative offset provided: \(value).\n")
                return
            }
            offset = value
        }
        var length: Int64?
        if let text = query["length"] {
            guard let value = Int64(text.agentTrimmed) else {
                responder.respond(.badRequest, text: "Failed to parse length: Failed to convert '\(text)' to number.\n")
                return
            }
            guard value >= -1 else {
                responder.respond(.badRequest, text: "Negative length provided: \(value).\n")
                return
            }
            if value > -1 { length = value }
        }
        var readOffset = offset
        if offset == -1 {
            readOffset = 0
            length = 0
        }
        let real: String
        switch self.resolveFilesPath(path) {
        case .notFound:
            responder.respond(.notFound)
            return
        case .invalid(let message):
            responder.respond(.badRequest, text: message + ".\n")
            return
        case .path(let resolved):
            real = resolved
        }
        var info = stat()
        guard stat(real, &info) == 0 else {
            responder.respond(.notFound)
            return
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            responder.respond(.badRequest, text: "Cannot read a directory.\n")
            return
        }
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            responder.respond(.internalServerError, text: "Failed to open file at '\(real)': \(Fetcher.lastError()).\n")
            return
        }
        defer { close(fd) }
        let size = Int64(lseek(fd, 0, SEEK_END))
        var data: [UInt8] = []
        if readOffset < size {
            let wanted = min(length ?? (size - readOffset), Int64(sysconf(Int32(_SC_PAGESIZE))) * 16)
            if wanted > 0 {
                data = [UInt8](repeating: 0, count: Int(wanted))
                let count = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(readOffset)) }
                data = Array(data.prefix(max(0, count)))
            }
        }
        let json = AgentJSON.object([
            // The bytes as they are, as the real agent sends them: a page may end inside a UTF-8 character, and a
            // file need not be text.
            ("data", .byteString(data)),
            ("offset", .int(offset == -1 ? size : offset)),
        ])
        self.answerJSON(json, request: request, responder: responder)
    }

    private func filesBrowse(_ request: AgentHTTPRequest, responder: AgentHTTPResponder) {
        guard let path = request.query["path"], !path.isEmpty else {
            responder.respond(.badRequest, text: "Expecting 'path=value' in query.\n")
            return
        }
        let real: String
        switch self.resolveFilesPath(path) {
        case .notFound:
            responder.respond(.notFound)
            return
        case .invalid(let message):
            responder.respond(.badRequest, text: message + ".\n")
            return
        case .path(let resolved):
            real = resolved
        }
        var entries: [(String, AgentJSON)] = []
        if let directory = opendir(real) {
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                var info = stat()
                guard stat(real + "/" + name, &info) == 0 else { continue }
                let virtual = (path.hasSuffix("/") ? path : path + "/") + name
                entries.append((real + "/" + name, Self.fileInfoJSON(path: virtual, info)))
            }
        }
        entries.sort { $0.0 < $1.0 }
        self.answerJSON(.array(entries.map(\.1)), request: request, responder: responder)
    }

    private func filesDownload(_ request: AgentHTTPRequest, responder: AgentHTTPResponder) {
        guard let path = request.query["path"], !path.isEmpty else {
            responder.respond(.badRequest, text: "Expecting 'path=value' in query.\n")
            return
        }
        guard case .path(let real) = self.resolveFilesPath(path) else {
            responder.respond(.notFound)
            return
        }
        var info = stat()
        guard stat(real, &info) == 0 else {
            responder.respond(.notFound)
            return
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            responder.respond(.badRequest, text: "Cannot download a directory.\n")
            return
        }
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            responder.respond(.notFound)
            return
        }
        defer { close(fd) }
        var body: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            body.append(contentsOf: buffer.prefix(count))
        }
        let name = real.split(separator: "/").last.map(String.init) ?? "file"
        responder.respond(
            .ok,
            contentType: "application/octet-stream",
            headers: [("Content-Disposition", "attachment; filename=\(name)")],
            body: body
        )
    }

    /// `model(FileInfo)`: path, nlink, size, mtime (seconds), mode as `ls -l` prints it, uid and gid by name.
    static func fileInfoJSON(path: String, _ info: stat) -> AgentJSON {
        .object([
            ("gid", .string(self.groupName(info.st_gid))),
            ("mode", .string(self.modeString(info.st_mode))),
            ("mtime", .int(Int64(info.st_mtim.tv_sec))),
            ("nlink", .int(Int64(info.st_nlink))),
            ("path", .string(path)),
            ("size", .int(Int64(info.st_size))),
            ("uid", .string(self.userName(info.st_uid))),
        ])
    }

    static func modeString(_ mode: mode_t) -> String {
        var text = ""
        switch mode & S_IFMT {
        case S_IFDIR: text = "d"
        case S_IFLNK: text = "l"
        case S_IFCHR: text = "c"
        case S_IFBLK: text = "b"
        case S_IFIFO: text = "p"
        case S_IFSOCK: text = "s"
        default: text = "-"
        }
        let flags: [(mode_t, Character)] = [
            (S_IRUSR, "r"), (S_IWUSR, "w"), (S_IXUSR, "x"), (S_IRGRP, "r"), (S_IWGRP, "w"), (S_IXGRP, "x"),
            (S_IROTH, "r"), (S_IWOTH, "w"), (S_IXOTH, "x"),
        ]
        for (bit, character) in flags { text.append(mode & bit != 0 ? character : "-") }
        return text
    }

    static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid) else { return String(uid) }
        return String(cString: entry.pointee.pw_name)
    }

    static func groupName(_ gid: gid_t) -> String {
        guard let entry = getgrgid(gid) else { return String(gid) }
        return String(cString: entry.pointee.gr_name)
    }

    // MARK: State

    /// The agent's `/state`, with the fields clients read: the agent's identity and resources, frameworks with
    /// their executors (sandbox `directory`, tasks, queued and completed tasks) and completed frameworks.
    func stateJSON() -> AgentJSON {
        let info = self.agentInfo
        let codec = MessageCodec(.json)
        let frameworks = self.frameworks.values.filter { !$0.terminating }.sorted { $0.id.value < $1.id.value }
        return .object([
            ("version", .string("1.11.0")),
            ("git_tag", .string("1.11.0")),
            ("build_version", .string("swift-mesos MesosLocal")),
            ("start_time", .double(self.startTime)),
            ("id", .string(info.id.value)),
            ("pid", .string("slave(1)@" + self.endpointAddress)),
            ("hostname", .string(info.hostname)),
            ("capabilities", .array(["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "TASK_NO_EXECUTOR"].map { .string($0) })),
            ("resources", self.resourcesJSON(info.resources)),
            ("attributes", self.attributesJSON(info.attributes)),
            ("domain", info.hasDomain ? ((try? codec.encode(info.domain)).map(AgentJSON.raw) ?? .null) : .null),
            ("flags", .object([
                ("work_dir", .string(self.configuration.workDirectory)),
                ("hostname", .string(self.configuration.hostname)),
                ("port", .string(String(info.port))),
                ("executor_registration_timeout", .string(StoutDuration.format(self.configuration.executorRegistrationTimeout))),
                ("executor_shutdown_grace_period", .string(StoutDuration.format(self.configuration.executorShutdownGracePeriod))),
                ("fetcher_cache_dir", .string(self.configuration.workDirectory + "/fetch")),
                ("http_command_executor", .string("false")),
            ])),
            ("frameworks", .array(frameworks.map { self.frameworkJSON($0) })),
            ("completed_frameworks", .array([])),
        ])
    }

    private func frameworkJSON(_ framework: FrameworkRecord) -> AgentJSON {
        .object([
            ("id", .string(framework.id.value)),
            ("name", .string(framework.info.name)),
            ("user", .string(framework.info.user)),
            ("role", .string(framework.info.role.isEmpty ? (framework.info.roles.first ?? "*") : framework.info.role)),
            ("checkpoint", .bool(framework.info.checkpoint)),
            ("executors", .array(framework.executors.values.sorted { $0.launchedAt < $1.launchedAt }.map { self.executorJSON($0) })),
            ("completed_executors", .array(framework.completedExecutors.map { self.executorJSON($0) })),
        ])
    }

    private func executorJSON(_ executor: ExecutorRecord) -> AgentJSON {
        let live = executor.orderedTasks.filter { !$0.state.isTerminal }
        let completed = executor.orderedTasks.filter { $0.state.isTerminal }
        return .object([
            ("id", .string(executor.id.value)),
            ("name", .string(executor.info.name)),
            ("source", .string(executor.info.source)),
            ("framework_id", .string(executor.frameworkID.value)),
            ("container", .string(executor.containerID.value)),
            ("directory", .string(executor.directory)),
            ("type", .string(executor.kind == .custom ? "CUSTOM" : "DEFAULT")),
            ("resources", self.resourcesJSON(executor.info.resources + executor.orderedTasks.flatMap(\.info.resources))),
            ("tasks", .array(live.map { self.taskJSON($0, executor: executor) })),
            ("queued_tasks", .array(executor.queuedTasks.map { self.taskJSON(TaskRecord(info: $0, directory: executor.directory, containerID: executor.containerID), executor: executor) })),
            ("completed_tasks", .array(completed.map { self.taskJSON($0, executor: executor) })),
        ])
    }

    private func taskJSON(_ task: TaskRecord, executor: ExecutorRecord) -> AgentJSON {
        .object([
            ("id", .string(task.info.taskID.value)),
            ("name", .string(task.info.name)),
            ("framework_id", .string(executor.frameworkID.value)),
            ("executor_id", .string(executor.kind == .command ? "" : executor.id.value)),
            ("slave_id", .string(self.agentID.value)),
            ("state", .string(Self.stateName(task.state))),
            ("resources", self.resourcesJSON(task.info.resources)),
            ("sandbox", .string(task.directory)),
        ])
    }

    /// Resources as the agent's JSON model writes them: scalars by name, ranges as `[a-b, c-d]`, sets as `{a, b}`.
    func resourcesJSON(_ resources: [Resource]) -> AgentJSON {
        var scalars: [String: Double] = ["cpus": 0, "mem": 0, "disk": 0, "gpus": 0]
        var others: [String: String] = [:]
        for resource in resources {
            switch resource.type {
            case .scalar:
                scalars[resource.name, default: 0] += resource.scalar.value
            case .ranges:
                let text = resource.ranges.range.map { "\($0.begin)-\($0.end)" }.joined(separator: ", ")
                others[resource.name] = others[resource.name].map { String($0.dropLast()) + ", " + text + "]" } ?? "[" + text + "]"
            case .set:
                others[resource.name] = "{" + resource.set.item.joined(separator: ", ") + "}"
            default:
                break
            }
        }
        var members: [(String, AgentJSON)] = scalars.sorted { $0.key < $1.key }.map { ($0.key, .double(($0.value * 1000).rounded() / 1000)) }
        members += others.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }
        return .object(members)
    }

    private func attributesJSON(_ attributes: [Attribute]) -> AgentJSON {
        .object(attributes.map { attribute in
            switch attribute.type {
            case .scalar: (attribute.name, .double(attribute.scalar.value))
            case .ranges: (attribute.name, .string("[" + attribute.ranges.range.map { "\($0.begin)-\($0.end)" }.joined(separator: ", ") + "]"))
            case .set: (attribute.name, .string("{" + attribute.set.item.joined(separator: ", ") + "}"))
            default: (attribute.name, .string(attribute.text.value))
            }
        })
    }
}
