import Crypto
import Glibc
import NIOCore
import NIOHTTP1
import Synchronization

/// What the server may serve. Nothing else: the URL only ever selects an entry of this table by hash and name,
/// it is never resolved as a path.
final class ArtifactRegistry: Sendable {
    /// One registered artifact; immutable, shared by every connection that serves it (one retain per request).
    final class Entry: Sendable {
        enum Source: Sendable {
            /// A file on disk, with what identified it when it was hashed. `snapshot` holds the bytes that were
            /// hashed when the file is small (see ``ArtifactRegistry/snapshotLimit``): they are served from memory,
            /// so what goes out always matches the hash, and a request costs one `stat` instead of
            /// open, fstat, sendfile and close.
            case file(path: String, identity: FileIdentity, snapshot: ByteBuffer?)
            case memory(ByteBuffer)
        }
        let source: Source
        let key: ArtifactKey
        let sha256: String
        let size: Int
        let name: String
        /// The name as it appears in URLs this server hands out (percent-encoded), to match request targets
        /// byte for byte before decoding anything.
        let encodedName: [UInt8]
        /// Seconds since the epoch, for Last-Modified.
        let lastModified: Int64
        /// Header values, made once at registration rather than per request.
        let etagHeader: String
        let lastModifiedHeader: String
        /// The header lines of a full `200` as bytes, ready to send after the status line (the Date and, when the
        /// connection closes or is HTTP/1.0, Connection lines are added per response).
        let fullResponseHeaderLines: [UInt8]

        init(source: Source, sha256: String, size: Int, name: String, lastModified: Int64) {
            self.source = source
            self.sha256 = sha256
            self.key = ArtifactKey(hex: sha256.utf8)!
            self.size = size
            self.name = name
            self.encodedName = Array(ServerContext.percentEncoded(name).utf8)
            self.lastModified = lastModified
            let etag = "\"" + sha256 + "\""
            let lastModifiedHeader = HTTPDate.format(lastModified)
            self.etagHeader = etag
            self.lastModifiedHeader = lastModifiedHeader
            let lines =
                Self.validatorHeaders(etag: etag, lastModified: lastModifiedHeader)
                + [("Content-Type", "application/octet-stream"), ("Content-Length", String(size)), ("Server", ArtifactHTTPHandler.serverName)]
            self.fullResponseHeaderLines = Array(lines.map { "\($0.0): \($0.1)\r\n" }.joined().utf8)
        }

        /// The headers every 200, 206, 304 and 416 for this artifact carries.
        static func validatorHeaders(etag: String, lastModified: String) -> [(String, String)] {
            [
                ("ETag", etag), ("Last-Modified", lastModified), ("Cache-Control", "public, max-age=31536000, immutable"),
                ("Accept-Ranges", "bytes"),
            ]
        }
    }

    /// Device, inode, size and modification time of a file: what says it is still the version that was hashed.
    struct FileIdentity: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int
        var modified: Int64
        var modifiedNanos: Int

        init(_ info: stat) {
            self.device = UInt64(info.st_dev)
            self.inode = UInt64(info.st_ino)
            self.size = Int(info.st_size)
            self.modified = Int64(info.st_mtim.tv_sec)
            self.modifiedNanos = Int(info.st_mtim.tv_nsec)
        }
    }

    /// Files up to this size are kept in memory when registered.
    static let snapshotLimit = 16 * 1024
    /// At most this many bytes of snapshots in all; files registered beyond it are served from disk.
    static let snapshotBudget = 32 << 20

    private struct State {
        var entries: [ArtifactKey: Entry] = [:]
        var snapshotBytes = 0
    }
    private let state = Mutex(State())

    /// The entry registered under this hash, if its name is `name` (compared byte for byte as sent, then decoded).
    func entry(key: ArtifactKey, encodedName: UnsafeRawBufferPointer) -> Entry? {
        guard let entry = self.state.withLock({ $0.entries[key] }) else { return nil }
        if entry.encodedName.elementsEqual(encodedName) { return entry }
        guard let decoded = ServerContext.percentDecoded(encodedName), decoded == entry.name else { return nil }
        return entry
    }

    /// Adds an entry. A file's snapshot is dropped (it is served from disk) if keeping it would exceed the budget.
    func add(_ entry: Entry) {
        // The same content under two names: the later name wins; the hash is what agents cache by.
        self.state.withLock { state in
            var entry = entry
            if case .file(let path, let identity, let snapshot?) = entry.source {
                if state.snapshotBytes + snapshot.readableBytes > Self.snapshotBudget {
                    entry = Entry(
                        source: .file(path: path, identity: identity, snapshot: nil),
                        sha256: entry.sha256,
                        size: entry.size,
                        name: entry.name,
                        lastModified: entry.lastModified
                    )
                } else {
                    state.snapshotBytes += snapshot.readableBytes
                }
            }
            if let old = state.entries.updateValue(entry, forKey: entry.key), case .file(_, _, let snapshot?) = old.source {
                state.snapshotBytes -= snapshot.readableBytes
            }
        }
    }

    /// Hashes a file and records what identifies it, so a later change on disk is noticed; keeps the bytes of a
    /// small file.
    static func fileEntry(path: String, name: String) throws(ArtifactServerError) -> Entry {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ArtifactServerError(code: errno == ENOENT ? .notFound : .unreadable, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw ArtifactServerError(code: .unreadable, message: "cannot stat \(path)") }
        guard before.st_mode & S_IFMT == S_IFREG else {
            throw ArtifactServerError(code: .unsupportedFile, message: "\(path) is not a regular file")
        }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var snapshot: ByteBuffer? = Int(before.st_size) <= Self.snapshotLimit ? ByteBuffer() : nil
        snapshot?.reserveCapacity(Int(before.st_size))
        var total = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw ArtifactServerError(code: .unreadable, message: "cannot read \(path)") }
            if count == 0 { break }
            hasher.update(data: buffer[..<count])
            total += count
            if total <= Self.snapshotLimit { snapshot?.writeBytes(buffer[..<count]) } else { snapshot = nil }
        }
        var after = stat()
        fstat(fd, &after)
        guard total == Int(after.st_size), Self.sameVersion(before, after) else {
            throw ArtifactServerError(code: .unreadable, message: "\(path) changed while it was hashed")
        }
        return Entry(
            source: .file(path: path, identity: FileIdentity(after), snapshot: snapshot),
            sha256: hasher.finalize().map { String(format: $0) }.joined(),
            size: total,
            name: name,
            lastModified: Int64(after.st_mtim.tv_sec)
        )
    }

    static func memoryEntry(_ bytes: [UInt8], name: String, now: Int64) -> Entry {
        let digest = SHA256.hash(data: bytes).map { String(format: $0) }.joined()
        return Entry(source: .memory(ByteBuffer(bytes: bytes)), sha256: digest, size: bytes.count, name: name, lastModified: now)
    }

    static func sameVersion(_ a: stat, _ b: stat) -> Bool {
        FileIdentity(a) == FileIdentity(b)
    }

    /// Whether an open file is still the version that was hashed.
    static func isUnchanged(_ fd: Int32, _ identity: FileIdentity) -> Bool {
        var now = stat()
        guard fstat(fd, &now) == 0 else { return false }
        return FileIdentity(now) == identity
    }

    /// Whether the file at `path` is still the version that was hashed (one `stat`, no open).
    static func isUnchanged(path: String, _ identity: FileIdentity) -> Bool {
        var now = stat()
        guard stat(path, &now) == 0 else { return false }
        return FileIdentity(now) == identity
    }
}

/// A SHA-256 as 32 bytes: the registry's key, parsed from the request target without making a String.
struct ArtifactKey: Hashable, Sendable {
    private var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0

    /// 64 lower-case hex digits, or nil.
    init?<Bytes: Collection<UInt8>>(hex: Bytes) {
        guard hex.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = 0
        for byte in hex {
            let nibble: UInt64
            switch byte {
            case 48...57: nibble = UInt64(byte - 48)
            case 97...102: nibble = UInt64(byte - 87)
            default: return nil
            }
            switch index >> 4 {
            case 0: words.0 = words.0 << 4 | nibble
            case 1: words.1 = words.1 << 4 | nibble
            case 2: words.2 = words.2 << 4 | nibble
            default: words.3 = words.3 << 4 | nibble
            }
            index += 1
        }
        (self.a, self.b, self.c, self.d) = words
    }
}
