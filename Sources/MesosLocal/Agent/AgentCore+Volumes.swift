import FoundationEssentials
import Glibc
import Logging
import Mesos

// Persistent volumes in a container's sandbox.
//
// A persistent volume lives on the agent's root disk at `<work_dir>/volumes/roles/<role>/<persistence id>`
// (`paths::getPersistentVolumePath`; the master's CREATE makes the directory, DESTROY removes it). A container whose
// resources hold the volume sees it at `<sandbox>/<container_path>`.
//
// The local agent does this the way Mesos's `filesystem/posix` isolator does (the isolator of an agent without
// `filesystem/linux`, and the only one that works without root): a symlink from `<sandbox>/<container_path>` to the
// volume's directory (`PosixFilesystemIsolatorProcess::update`). It is not the bind mount of `filesystem/linux`:
// the volume's real path shows through `realpath`, read-only volumes stay writable (Mesos only logs a warning for
// them too), and a container path with a `/` in it is skipped, as that isolator skips it.
extension AgentCore {
    /// `paths::getPersistentVolumePath` for a volume without a resource provider: a `/` in a hierarchical role
    /// becomes a space.
    static func persistentVolumePath(work: String, volume: Resource) -> String {
        let role = String(volume.reservationRole.map { $0 == "/" ? " " : $0 })
        return work + "/volumes/roles/" + role + "/" + volume.disk.persistence.id
    }

    /// Links every persistent volume among `resources` into `directory` at its `container_path`.
    ///
    /// - Returns: nil, or why a volume could not be linked (the text of the posix isolator's failure); the container
    ///   then fails to launch.
    func linkPersistentVolumes(_ resources: [Resource], into directory: String) -> String? {
        for volume in resources where volume.isPersistentVolume && volume.disk.hasVolume && !volume.hasProviderID {
            let containerPath = volume.disk.volume.containerPath
            guard !containerPath.isEmpty, !containerPath.contains("/") else {
                self.logger.warning(
                    "skipping the symlink of a persistent volume whose container path is empty or contains a slash",
                    metadata: ["mesos.container_path": "\(containerPath)", "mesos.directory": "\(directory)"]
                )
                continue
            }
            let original = Self.persistentVolumePath(work: self.configuration.workDirectory, volume: volume)
            let link = directory + "/" + containerPath
            if let existing = Self.symlinkTarget(link) {
                // Linked already (another task of the same executor); it must lead to the same volume.
                guard Self.realPath(existing, relativeTo: directory) == Self.realPath(original, relativeTo: directory) else {
                    return "The existing symlink '\(link)' points to '\(existing)' and the new target is '\(original)'"
                }
                continue
            }
            guard symlink(original, link) == 0 else {
                return "Failed to symlink persistent volume from '\(original)' to '\(link)'"
            }
            self.logger.debug(
                "linked a persistent volume into a sandbox",
                metadata: ["mesos.volume": "\(original)", "mesos.link": "\(link)"]
            )
        }
        return nil
    }

    private static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func realPath(_ path: String, relativeTo directory: String) -> String {
        let absolute = path.hasPrefix("/") ? path : directory + "/" + path
        guard let resolved = realpath(absolute, nil) else { return absolute }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
