import CStrataSupport

/// CRC-32C (Castagnoli), the checksum of every Prometheus TSDB file. Hardware-accelerated.
public enum CRC32C {
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        update(seed, bytes)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return crc }
        return strata_crc32c_update(crc, p, bytes.count)
    }

    public static var usesHardware: Bool { strata_crc32c_hardware() != 0 }
}
