/// The deterministic data that generated guest writes put on disks: the little-endian bytes of successive
/// SplitMix64 outputs from a seed, so that a test can recompute exactly what a VM's guest wrote.
public struct GuestData: Sendable {
    private var state: UInt64
    private var pending: [UInt8] = []

    /// A generator at the start of the stream for `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next `count` bytes of the stream.
    public mutating func next(_ count: Int) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(count)
        let fromPending = min(count, pending.count)
        result.append(contentsOf: pending.prefix(fromPending))
        pending.removeFirst(fromPending)
        while result.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for shift in stride(from: 0, to: 64, by: 8) {
                let byte = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                if result.count < count { result.append(byte) } else { pending.append(byte) }
            }
        }
        return result
    }

    /// The first `count` bytes of the stream for `seed`.
    public static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var generator = GuestData(seed: seed)
        return generator.next(count)
    }
}
