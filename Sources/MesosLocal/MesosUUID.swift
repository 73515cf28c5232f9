import FoundationEssentials

/// stout's `UUID::fromBytes`, which the master (ACKNOWLEDGE, ACKNOWLEDGE_OPERATION_STATUS) and the agent (executor
/// UPDATE) use to check a status's `uuid`: 16 bytes whose version, the high nibble of byte 6 as boost reads it, is 1
/// to 5. Anything else is "Not a valid UUID".
func isMesosUUID(_ bytes: Data) -> Bool {
    guard bytes.count == 16 else { return false }
    let version = bytes[bytes.startIndex + 6] >> 4
    return (1...5).contains(version)
}
