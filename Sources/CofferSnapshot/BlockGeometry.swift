/// How a byte range on a disk maps onto fixed-size blocks.
public struct BlockGeometry: Hashable, Sendable {
    /// The size of a block in bytes, a power of two.
    public let blockSize: Int

    /// Describes blocks of `blockSize` bytes (a power of two).
    public init(blockSize: Int) {
        precondition(blockSize > 0 && blockSize & (blockSize - 1) == 0, "block size must be a power of two")
        self.blockSize = blockSize
    }

    /// The blocks that the bytes `offset ..< offset + length` touch; empty when `length` is zero.
    public func blocks(offset: UInt64, length: Int) -> Range<UInt64> {
        guard length > 0 else { return 0..<0 }
        let size = UInt64(blockSize)
        return (offset / size)..<((offset + UInt64(length) + size - 1) / size)
    }
}
