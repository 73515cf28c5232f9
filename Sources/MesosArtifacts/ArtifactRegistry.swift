import Crypto
import Glibc
import NIOCore
import Synchronization

/// What the server may serve. Nothing else: the URL only ever selects an entry of this table by hash and name,
/// it is never resolved as a path.
final class ArtifactRegistry: Sendable {
    struct Entry: Sendable {
        enum Source: Sendable {
            /// A file on disk, with what identified it when it was hashed.
            case file(path: String, device: UInt64, inode: UInt64, size: Int, modified: Int64, modifiedNanos: Int)
            case memory(ByteBuffer)
        }
        var source: Source
        var sha256: String
        var size: Int
        var name: String
        /// Seconds since the epoch, for Last-Modified.
        var lastModified: Int64
        /// Header values, made once at registration rather than per request.
        let etagHeader: String
        let lastModifiedHeader: String

        init(source: Source, sha256: String, size: Int, name: String, lastModified: Int64) {
            self.source = source
            self.sha256 = sha256
            self.size = size
            self.name = name
            self.lastModified = lastModified
            self.etagHeader = "\"" + sha256 + "\""
            self.lastModifiedHeader = HTTPDate.format(lastModified)
        }
    }

    private let entries = Mutex<[String: Entry]>([:])

    func entry(sha256: String, name: String) -> Entry? {
        self.entries.withLock { $0[sha256] }.flatMap { $0.name == name ? $0 : nil }
    }

    func add(_ entry: Entry) {
        // The same content under two names: the later name wins; the hash is what agents cache by.
        self.entries.withLock { $0[entry.sha256] = entry }
    }

    /// Hashes a file and records what identifies it, so a later change on disk is noticed.
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
        var total = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw ArtifactServerError(code: .unreadable, message: "cannot read \(path)") }
            if count == 0 { break }
            hasher.update(data: buffer[..<count])
            total += count
        }
        var after = stat()
        fstat(fd, &after)
        guard total == Int(after.st_size), Self.sameVersion(before, after) else {
            throw ArtifactServerError(code: .unreadable, message: "\(path) changed while it was hashed")
        }
        return Entry(
            source: .file(
                path: path,
                device: UInt64(after.st_dev),
                inode: UInt64(after.st_ino),
                size: total,
                modified: Int64(after.st_mtim.tv_sec),
                modifiedNanos: Int(after.st_mtim.tv_nsec)
            ),
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
        a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec
            && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec
    }

    /// Whether an open file is still the version that was hashed.
    static func isUnchanged(_ fd: Int32, _ source: Entry.Source) -> Bool {
        guard case .file(_, let device, let inode, let size, let modified, let nanos) = source else { return true }
        var now = stat()
        guard fstat(fd, &now) == 0 else { return false }
        return UInt64(now.st_dev) == device && UInt64(now.st_ino) == inode && Int(now.st_size) == size
            && Int64(now.st_mtim.tv_sec) == modified && Int(now.st_mtim.tv_nsec) == nanos
    }
}
