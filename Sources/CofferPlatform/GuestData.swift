/// The deterministic data that generated guest writes put on disks: the little-endian bytes of successive
/// SplitMix64 outputs from a seed, so that a test can recompute exactly what a VM's guest wrote.
public struct GuestData: Sendable {
    private var state: UInt64
    /// Bytes of the last output not handed out yet (at most 7), first one first.
    private var pending: [UInt8] = []

    /// A generator at the start of the stream for `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    private mutating func nextWord() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next `count` bytes of the stream.
    public mutating func next(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var leftover: [UInt8] = []
        let result = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            let fromPending = min(count, pending.count)
            for byte in pending.prefix(fromPending) {
                buffer[index] = byte
                index += 1
            }
            leftover = Array(pending.dropFirst(fromPending))
            let raw = UnsafeMutableRawBufferPointer(buffer)
            while index + 8 <= count {
                raw.storeBytes(of: nextWord().littleEndian, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            if index < count {
                let word = nextWord()
                for shift in 0..<8 {
                    let byte = UInt8(truncatingIfNeeded: word >> UInt64(shift * 8))
                    if index < count {
                        buffer[index] = byte
                        index += 1
                    } else {
                        leftover.append(byte)
                    }
                }
            }
            initialized = count
        }
        pending = leftover
        return result
    }

    /// The first `count` bytes of the stream for `seed`.
    public static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var generator = GuestData(seed: seed)
        return generator.next(count)
    }
}
