import MesosProcess
import Glibc
import Logging
import Mesos
import MesosHTTP
import NIOCore

/// Downloads a task's or executor's `CommandInfo.URI`s into its sandbox as the Mesos 1.11 fetcher does:
/// `file://` URIs and absolute paths are copied, `http`/`https` are downloaded with libcurl (redirects followed,
/// only `200` counts as success), `executable` makes the file executable (and then it is not extracted), `extract`
/// unpacks `.tar`, `.tgz`, `.tar.gz`, `.tbz2`, `.tar.bz2`, `.txz`, `.tar.xz` and `.zip` with the system's `tar` and
/// `unzip` and bare `.gz` files with `gunzip`, `output_file` names the result, and `cache` keeps one download per
/// URI in the agent's cache directory. It logs to the sandbox's `stderr`, as `mesos-fetcher` does.
final class Fetcher: Sendable {
    struct Failure: Error {
        /// "Failed to fetch all URIs for container '<id>': exited with status 1", as the containerizer words it.
        var message: String
    }

    private let client: HTTPClient
    private let cache: FetcherCache
    private let logger: Logger

    init(cacheDirectory: String, logger: Logger) {
        var configuration = HTTPClientConfiguration()
        configuration.timeouts.response = .seconds(600)
        self.client = HTTPClient(configuration: configuration)
        self.cache = FetcherCache(directory: cacheDirectory)
        self.logger = logger
    }

    func shutdown() { self.client.shutdown() }

    /// Fetches every URI into `sandbox`; the first failure stops the fetch, as `mesos-fetcher` exits on it. Every
    /// URI is checked first, as the containerizer's fetcher does before it starts `mesos-fetcher`: a malformed one
    /// fails the whole fetch with "Could not fetch: …" and nothing is fetched.
    @concurrent
    func fetch(_ uris: [CommandInfo.URI], into sandbox: String, containerID: String) async throws(Failure) {
        guard !uris.isEmpty else { return }
        if let problem = Self.validate(uris) { throw Failure(message: "Could not fetch: " + problem) }
        let log = sandbox + "/stderr"
        for uri in uris {
            SandboxLog.append(log, source: "fetcher.cpp:459", "Fetching URI '\(uri.value)'")
            do {
                let result = try await self.fetchOne(uri, into: sandbox, log: log)
                SandboxLog.append(log, source: "fetcher.cpp:618", "Fetched '\(uri.value)' to '\(result)'")
            } catch {
                SandboxLog.appendRaw(log, "Failed to fetch '\(uri.value)': \(error.message)\n")
                self.logger.debug(
                    "fetch failed",
                    metadata: ["mesos.uri": "\(uri.value)", "mesos.error": "\(error.message)"]
                )
                throw Failure(message: "Failed to fetch all URIs for container '\(containerID)': exited with status 1")
            }
        }
        SandboxLog.append(log, source: "fetcher.cpp:623", "Successfully fetched all URIs into '\(sandbox)'")
    }

    struct ItemError: Error { var message: String }

    private func fetchOne(_ uri: CommandInfo.URI, into sandbox: String, log: String) async throws(ItemError) -> String {
        let value = String(uri.value.drop { $0 == " " || $0 == "\t" || $0 == "\n" })
        let outputName: String
        if uri.hasOutputFile && !uri.outputFile.isEmpty {
            outputName = uri.outputFile
            if let slash = outputName.lastIndex(of: "/"), slash != outputName.startIndex {
                let directory = sandbox + "/" + outputName[..<slash]
                guard Self.makeDirectories(directory) else {
                    throw ItemError(message: "Unable to create subdirectory \(outputName[..<slash]) in sandbox")
                }
            }
        } else {
            guard case .success(let name) = Self.basename(of: value), !name.isEmpty else {
                throw ItemError(message: "Malformed URI (no basename): \(value)")
            }
            outputName = name
        }
        let destination = sandbox + "/" + outputName.drop { $0 == "/" }

        if uri.cache && Self.isNet(value) {
            SandboxLog.append(log, source: "fetcher.cpp:349", "Fetching URI '\(value)' from cache")
            let cacheName = (try? Self.basename(of: value).get()).flatMap { $0.isEmpty ? nil : $0 } ?? "resource"
            let cached = try await self.cache.path(for: value, basename: cacheName) {
                (path: String) async throws(ItemError) in
                SandboxLog.append(log, source: "fetcher.cpp:175", "Downloading resource from '\(value)' to '\(path)'")
                try await self.download(value, to: path)
            }
            // An archive is unpacked straight from the cache, as Mesos's `fetchFromCache` does: the sandbox gets its
            // contents, not a copy of it.
            if !uri.executable && uri.extract, try await self.extract(cached, into: sandbox, log: log) {
                return sandbox
            }
            try Self.copy(cached, to: destination)
        } else {
            SandboxLog.append(log, source: "fetcher.cpp:290", "Fetching '\(value)' directly into the sandbox directory")
            if Self.isNet(value) {
                SandboxLog.append(log, source: "fetcher.cpp:175", "Downloading resource from '\(value)' to '\(destination)'")
                try await self.download(value, to: destination)
            } else if let local = try Self.localPath(value) {
                try Self.copy(local, to: destination)
            } else {
                throw ItemError(message: "Failed to create HDFS client: unsupported URI scheme in '\(value)'")
            }
        }

        if uri.executable {
            guard chmod(destination, 0o755) == 0 else {
                throw ItemError(message: "Failed to chmod executable '\(destination)': \(Self.lastError())")
            }
        } else if uri.extract {
            if try await !self.extract(destination, into: sandbox, log: log) {
                SandboxLog.append(
                    log,
                    source: "fetcher.cpp:332",
                    "Copying instead of extracting resource from URI with 'extract' flag, because it does not seem to be an archive: \(value)"
                )
            }
        }
        return destination
    }

    // MARK: Downloading

    private func download(_ url: String, to path: String) async throws(ItemError) {
        var current = url
        for _ in 0..<10 {
            let response: HTTPStreamingResponse
            do {
                response = try await self.client.stream(HTTPRequest(method: "GET", url: current))
            } catch {
                throw ItemError(message: "Error downloading resource: \(Self.describe(error))")
            }
            if [301, 302, 303, 307, 308].contains(response.status), let location = response.head.header("Location") {
                do { for try await _ in response.body {} } catch {}  // drain
                current = Self.resolve(location, against: current)
                continue
            }
            guard response.status == 200 else {
                do { for try await _ in response.body {} } catch {}
                throw ItemError(message: "Error downloading resource, received HTTP return code \(response.status)")
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw ItemError(message: "Error downloading resource: cannot open '\(path)': \(Self.lastError())")
            }
            defer { close(fd) }
            do {
                for try await chunk in response.body {
                    try Self.writeAll(fd, chunk)
                }
            } catch let error as ItemError {
                throw error
            } catch {
                throw ItemError(message: "Error downloading resource: \(Self.describe(error))")
            }
            return
        }
        throw ItemError(message: "Error downloading resource: too many redirects")
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return error.message }
        return String(describing: error)
    }

    private static func writeAll(_ fd: Int32, _ buffer: ByteBuffer) throws(ItemError) {
        let failed: Bool = buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return true
                }
                offset += written
            }
            return false
        }
        if failed { throw ItemError(message: "Error downloading resource: write failed: \(Self.lastError())") }
    }

    /// Resolves a `Location` header against the URL that answered with it.
    static func resolve(_ location: String, against base: String) -> String {
        if location.contains("://") { return location }
        guard let schemeEnd = base.firstRange(of: "://") else { return location }
        let scheme = base[..<schemeEnd.lowerBound]
        if location.hasPrefix("//") { return scheme + ":" + location }
        let afterScheme = base[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let origin = base[..<authority.endIndex]
        if location.hasPrefix("/") { return origin + location }
        var path = String(afterScheme[authority.endIndex...].prefix { $0 != "?" && $0 != "#" })
        if let slash = path.lastIndex(of: "/") { path = String(path[...slash]) } else { path = "/" }
        return origin + path + location
    }

    // MARK: Local files

    static func isNet(_ uri: String) -> Bool {
        let lower = uri.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("ftp://")
            || lower.hasPrefix("ftps://")
    }

    /// `file://` URIs and paths without a scheme; nil for other schemes.
    static func localPath(_ uri: String) throws(ItemError) -> String? {
        var path = uri
        if path.hasPrefix("file://") {
            path.removeFirst("file://".count)
        } else if path.contains("://") {
            return nil
        }
        guard path.hasPrefix("/") else {
            throw ItemError(
                message:
                    "A relative path was passed for the resource but the Mesos framework home was not specified. Please either provide this config option or avoid using a relative path"
            )
        }
        return path
    }

    /// The name a URI's download gets, as Mesos's `Fetcher::basename` makes it: what follows the last `/`, a query
    /// or fragment included (Mesos treats URIs as paths, on purpose), so `http://h/a.tgz?v=1` is saved as
    /// `a.tgz?v=1` and, not ending in an archive's extension, is not extracted. A URI with a scheme needs a path;
    /// one without is a file path.
    static func basename(of uri: String) -> Result<String, ItemError> {
        if uri.contains(where: { $0 == "\\" || $0 == "'" || $0 == "\0" }) {
            return .failure(ItemError(message: "Illegal characters in URI"))
        }
        if let scheme = uri.firstRange(of: "://"), uri.distance(from: uri.startIndex, to: scheme.lowerBound) > 1 {
            let path = uri[scheme.upperBound...]
            guard let slash = path.firstIndex(of: "/"), path.index(after: slash) < path.endIndex else {
                return .failure(ItemError(message: "Malformed URI (missing path): \(uri)"))
            }
            return .success(String(path[path.index(after: path.lastIndex(of: "/")!)...]))
        }
        return .success(Self.pathBasename(uri))
    }

    /// stout's `Path::basename`: the last component, trailing slashes ignored ("/" for the root, "." for nothing).
    static func pathBasename(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return "." }
        if trimmed == "/" { return "/" }
        return String(trimmed.split(separator: "/").last ?? trimmed)
    }

    /// The checks Mesos's fetcher makes on every URI before fetching any: the URI's basename can be made, and an
    /// `output_file` (when given) is a non-empty path inside the sandbox. The first problem, or nil.
    static func validate(_ uris: [CommandInfo.URI]) -> String? {
        for uri in uris {
            if case .failure(let error) = Self.basename(of: uri.value) { return error.message }
            if uri.hasOutputFile {
                if uri.outputFile.isEmpty { return "URI output file path is empty" }
                if uri.outputFile.hasPrefix("/") { return "URI output file must be within the sandbox directory" }
            }
        }
        return nil
    }

    static func copy(_ source: String, to destination: String) throws(ItemError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw ItemError(message: "Failed to copy '\(source)' to '\(destination)': \(Self.lastError())")
        }
        defer { close(input) }
        var info = stat()
        let known = fstat(input, &info) == 0
        if known && (info.st_mode & S_IFMT) == S_IFDIR {
            throw ItemError(message: "Failed to copy '\(source)' to '\(destination)': Is a directory")
        }
        // A new file gets the source's permissions (less the umask), as Mesos's `cp` gives them: a script fetched
        // from a file stays executable.
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, known ? info.st_mode & 0o777 : 0o644)
        guard output >= 0 else {
            throw ItemError(message: "Failed to copy '\(source)' to '\(destination)': \(Self.lastError())")
        }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ItemError(message: "Failed to copy '\(source)' to '\(destination)': \(Self.lastError())")
            }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(output, $0.baseAddress! + offset, count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ItemError(message: "Failed to copy '\(source)' to '\(destination)': \(Self.lastError())")
                }
                offset += written
            }
        }
    }

    static func makeDirectories(_ path: String) -> Bool {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    static func lastError() -> String { String(cString: strerror(errno)) }

    // MARK: Extracting

    private static let archiveSuffixes = [".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz"]

    /// True when `path` was an archive and has been extracted into `directory`.
    private func extract(_ path: String, into directory: String, log: String) async throws(ItemError) -> Bool {
        let spec: ProcessLauncher.Spec
        let command: String
        if Self.archiveSuffixes.contains(where: { path.hasSuffix($0) }) {
            command = "tar -C \(directory) -xf \(path)"
            spec = ProcessLauncher.Spec(
                argv: ["tar", "-C", directory, "-xf", path],
                environment: Self.toolEnvironment,
                directory: directory,
                stdoutPath: "/dev/null",
                stderrPath: log
            )
        } else if path.hasSuffix(".zip") {
            command = "unzip -o -q \(path) -d \(directory)"
            spec = ProcessLauncher.Spec(
                argv: ["unzip", "-o", "-q", path, "-d", directory],
                environment: Self.toolEnvironment,
                directory: directory,
                stdoutPath: "/dev/null",
                stderrPath: log
            )
        } else if path.hasSuffix(".gz") {
            let target = directory + "/" + Self.pathBasename(String(path.dropLast(3)))
            unlink(target)
            command = "gunzip -d -c"
            spec = ProcessLauncher.Spec(
                argv: ["gunzip", "-d", "-c", path],
                environment: Self.toolEnvironment,
                directory: directory,
                stdoutPath: target,
                stderrPath: log
            )
        } else {
            return false
        }
        let pid: pid_t
        do {
            pid = try ProcessLauncher.spawn(spec)
        } catch {
            throw ItemError(message: "Failed to extract '\(path)': '\(command)' failed: \(error.message)")
        }
        let status = WaitStatus(raw: await ProcessLauncher.exitStatus(of: pid))
        guard status.succeeded else {
            throw ItemError(message: "Failed to extract '\(path)': '\(command)' failed: \(status.description)")
        }
        SandboxLog.append(log, source: "fetcher.cpp:132", "Extracted '\(path)' into '\(directory)'")
        return true
    }

    private static let toolEnvironment: [String: String] = [
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    ]
}

/// The agent's download cache: one file per URI, downloaded once even when several sandboxes ask at the same time.
actor FetcherCache {
    private let directory: String
    private var entries: [String: Task<String, any Error>] = [:]
    private var counter = 0

    init(directory: String) { self.directory = directory }

    func path(
        for uri: String,
        basename: String,
        download: @escaping @Sendable (String) async throws(Fetcher.ItemError) -> Void
    ) async throws(Fetcher.ItemError) -> String {
        let task: Task<String, any Error>
        if let existing = self.entries[uri] {
            task = existing
        } else {
            self.counter += 1
            let path = self.directory + "/c\(self.counter)-" + basename
            let directory = self.directory
            task = Task {
                guard Fetcher.makeDirectories(directory) else {
                    throw Fetcher.ItemError(message: "Failed to create the fetcher cache directory '\(directory)'")
                }
                try await download(path)
                return path
            }
            self.entries[uri] = task
        }
        do {
            return try await task.value
        } catch {
            if self.entries[uri] == task { self.entries[uri] = nil }
            if let error = error as? Fetcher.ItemError { throw error }
            throw Fetcher.ItemError(message: String(describing: error))
        }
    }
}
