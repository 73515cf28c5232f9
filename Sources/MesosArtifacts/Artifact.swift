public import Mesos

/// A registered artifact: what the server serves, under a URL that names its content.
public struct Artifact: Sendable, Hashable {
    /// Hex SHA-256 of the bytes served.
    public var sha256: String
    /// Size in bytes.
    public var size: Int
    /// The file name the fetcher saves it as in the sandbox.
    public var name: String
    /// The full URL agents download it from: `http://HOST:PORT[/t/TOKEN]/a/<sha256>/<name>`.
    public var url: String

    /// A `CommandInfo.URI` for this artifact.
    ///
    /// - Parameters:
    ///   - executable: make the fetched file executable (`chmod +x`).
    ///   - extract: let the fetcher unpack archives (by extension: `.tar.gz`, `.tgz`, `.zip`, …). Mesos's default is true.
    ///   - cache: let the agent's fetcher cache it (safe: the URL changes whenever the content does).
    ///   - outputFile: save it under this name in the sandbox instead of ``name``.
    public func uri(executable: Bool = false, extract: Bool = false, cache: Bool = true, outputFile: String? = nil) -> CommandInfo.URI {
        var uri = CommandInfo.URI()
        uri.value = self.url
        uri.executable = executable
        uri.extract = extract
        uri.cache = cache
        if let outputFile { uri.outputFile = outputFile }
        return uri
    }
}

/// Why an artifact could not be registered or the server could not start.
public struct ArtifactServerError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case notFound, unreadable, unsupportedFile, invalidName, bind, noAdvertisedAddress }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The path does not exist.
        public static let notFound = Code(.notFound)
        /// The path exists but cannot be read.
        public static let unreadable = Code(.unreadable)
        /// Not a regular file or directory (a socket, a device), or a directory holding one.
        public static let unsupportedFile = Code(.unsupportedFile)
        /// The artifact name is empty or holds a `/`.
        public static let invalidName = Code(.invalidName)
        /// The server could not listen on the host and port asked for.
        public static let bind = Code(.bind)
        /// No address agents could reach was given or could be found.
        public static let noAdvertisedAddress = Code(.noAdvertisedAddress)
        public var description: String { String(describing: self.base) }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(code: Code, message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "ArtifactServerError.\(self.code): \(self.message)" }
}
