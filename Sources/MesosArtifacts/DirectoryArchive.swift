internal import CMesosZlib
import Crypto
import Glibc

/// Packs a directory into a `.tar.gz` whose bytes depend only on the tree: entries in byte order of their paths,
/// owner 0, modes reduced to 0755/0644 (0755 when any execute bit is set), times 0, gzip without a time or name.
/// So the same tree always gives the same bytes, hence the same SHA-256 and URL, and the fetcher's cache works.
struct DirectoryArchive {
    /// Writes the archive of `directory` (its entries under `rootName/`) to `destination`; returns its SHA-256 and size.
    static func pack(directory: String, rootName: String, to destination: String) throws(ArtifactServerError) -> (sha256: String, size: Int) {
        var entries: [Entry] = [Entry(path: rootName + "/", kind: .directory, mode: 0o755, source: directory)]
        try Self.walk(directory, relative: rootName, into: &entries)
        entries.sort { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }

        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure(.unreadable, "cannot create \(destination)") }
        defer { close(fd) }
        let writer = try GzipWriter(fd: fd, path: destination)
        for entry in entries {
            try Self.writeEntry(entry, into: writer)
        }
        // Two zero blocks end the archive; pad to tar's 10 KiB record.
        try writer.write(Array(repeating: 0, count: 1024))
        let recordRemainder = writer.uncompressedCount % 10240
        if recordRemainder != 0 { try writer.write(Array(repeating: 0, count: 10240 - recordRemainder)) }
        return try writer.finish()
    }

    struct Entry {
        enum Kind { case directory, file(size: Int), symlink(String) }
        var path: String
        var kind: Kind
        var mode: Int
        var source: String
    }

    private static func failure(_ code: ArtifactServerError.Code, _ message: String) -> ArtifactServerError {
        ArtifactServerError(code: code, message: message + " (errno \(errno): \(String(cString: strerror(errno))))")
    }

    private static func walk(_ directory: String, relative: String, into entries: inout [Entry]) throws(ArtifactServerError) {
        guard let dir = opendir(directory) else { throw Self.failure(.unreadable, "cannot read directory \(directory)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names {
            let path = directory + "/" + name
            let archived = relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { throw Self.failure(.unreadable, "cannot stat \(path)") }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entries.append(Entry(path: archived + "/", kind: .directory, mode: 0o755, source: path))
                try Self.walk(path, relative: archived, into: &entries)
            case S_IFREG:
                let executable = info.st_mode & 0o111 != 0
                entries.append(Entry(path: archived, kind: .file(size: Int(info.st_size)), mode: executable ? 0o755 : 0o644, source: path))
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlink(path, &buffer, Int(PATH_MAX))
                guard count >= 0 else { throw Self.failure(.unreadable, "cannot read link \(path)") }
                let target = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                entries.append(Entry(path: archived, kind: .symlink(target), mode: 0o777, source: path))
            default:
                throw ArtifactServerError(code: .unsupportedFile, message: "\(path) is not a file, directory or symbolic link")
            }
        }
    }

    private static func writeEntry(_ entry: Entry, into writer: GzipWriter) throws(ArtifactServerError) {
        let size: Int
        let type: UInt8
        var link = ""
        switch entry.kind {
        case .directory: (size, type) = (0, UInt8(ascii: "5"))
        case .file(let bytes): (size, type) = (bytes, UInt8(ascii: "0"))
        case .symlink(let target): (size, type, link) = (0, UInt8(ascii: "2"), target)
        }
        if entry.path.utf8.count > 100 { try writer.write(Self.longName(entry.path, type: UInt8(ascii: "L"))) }
        if link.utf8.count > 100 { try writer.write(Self.longName(link, type: UInt8(ascii: "K"))) }
        try writer.write(Self.header(name: entry.path, mode: entry.mode, size: size, type: type, link: link))
        guard case .file = entry.kind else { return }
        let fd = open(entry.source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure(.unreadable, "cannot read \(entry.source)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var written = 0
        while written < size {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, size - written)) }
            guard count > 0 else { throw Self.failure(.unreadable, "\(entry.source) changed while it was packed") }
            try writer.write(buffer[..<count])
            written += count
        }
        let padding = (512 - size % 512) % 512
        if padding > 0 { try writer.write(Array(repeating: 0, count: padding)) }
    }

    /// A GNU long-name (`L`) or long-link (`K`) entry for a name over 100 bytes.
    private static func longName(_ name: String, type: UInt8) -> [UInt8] {
        let data = Array(name.utf8) + [0]
        var block = Self.header(name: "././@LongLink", mode: 0, size: data.count, type: type, link: "")
        block += data
        block += Array(repeating: 0, count: (512 - data.count % 512) % 512)
        return block
    }

    /// A 512-byte ustar header.
    static func header(name: String, mode: Int, size: Int, type: UInt8, link: String) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: some Collection<UInt8>, at offset: Int, width: Int) {
            for (index, byte) in bytes.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8), at: offset, width: width - 1)
        }
        put(name.utf8, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)  // uid
        octal(0, at: 116, width: 8)  // gid
        octal(size, at: 124, width: 12)
        octal(0, at: 136, width: 12)  // mtime
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148, width: 8)  // checksum counts as spaces
        block[156] = type
        put(link.utf8, at: 157, width: 100)
        put(Array("ustar\0".utf8), at: 257, width: 6)
        put(Array("00".utf8), at: 263, width: 2)
        let checksum = block.reduce(0) { $0 + Int($1) }
        let digits = String(checksum, radix: 8)
        put(Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, UInt8(ascii: " ")], at: 148, width: 8)
        return block
    }
}

/// Streams bytes through zlib's gzip encoder into a file descriptor, hashing what it writes.
/// A class: zlib's state points back at its `z_stream`, which must therefore never move.
private final class GzipWriter {
    private let fd: Int32
    private let path: String
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output = [UInt8](repeating: 0, count: 64 * 1024)
    private var hasher = SHA256()
    private(set) var uncompressedCount = 0
    private var compressedCount = 0

    init(fd: Int32, path: String) throws(ArtifactServerError) {
        self.fd = fd
        self.path = path
        self.stream.initialize(to: z_stream())
        guard c_mesos_deflate_init_gzip(self.stream, 6) == Z_OK else {
            self.stream.deallocate()
            throw ArtifactServerError(code: .unreadable, message: "zlib could not start")
        }
    }

    deinit {
        deflateEnd(self.stream)
        self.stream.deallocate()
    }

    func write(_ bytes: some Collection<UInt8>) throws(ArtifactServerError) {
        var input = Array(bytes)
        self.uncompressedCount += input.count
        try input.withUnsafeMutableBufferPointer { (buffer) throws(ArtifactServerError) in
            self.stream.pointee.next_in = buffer.baseAddress
            self.stream.pointee.avail_in = UInt32(buffer.count)
            while self.stream.pointee.avail_in > 0 { try self.deflate(Z_NO_FLUSH) }
        }
    }

    func finish() throws(ArtifactServerError) -> (sha256: String, size: Int) {
        var status: Int32 = Z_OK
        while status != Z_STREAM_END { status = try self.deflate(Z_FINISH) }
        let digest = self.hasher.finalize()
        return (digest.map { String(format: $0) }.joined(), self.compressedCount)
    }

    @discardableResult
    private func deflate(_ flush: Int32) throws(ArtifactServerError) -> Int32 {
        let result: Result<(Int32, Int), ArtifactServerError> = self.output.withUnsafeMutableBufferPointer { out in
            self.stream.pointee.next_out = out.baseAddress
            self.stream.pointee.avail_out = UInt32(out.count)
            let status = CMesosZlib.deflate(self.stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                return .failure(ArtifactServerError(code: .unreadable, message: "zlib failed with status \(status)"))
            }
            return .success((status, out.count - Int(self.stream.pointee.avail_out)))
        }
        let (status, produced) = try result.get()
        if produced > 0 {
            let chunk = self.output[..<produced]
            self.hasher.update(data: chunk)
            var offset = 0
            while offset < produced {
                let count = chunk.withUnsafeBytes { Glibc.write(self.fd, $0.baseAddress! + offset, produced - offset) }
                guard count > 0 else { throw ArtifactServerError(code: .unreadable, message: "cannot write \(self.path)") }
                offset += count
            }
            self.compressedCount += produced
        }
        return status
    }
}

extension String {
    /// Two lower-case hex digits for a byte.
    init(format byte: UInt8) {
        let digits = Array("0123456789abcdef".utf8)
        self = String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
    }
}
