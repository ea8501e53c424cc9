import CofferSnapshot
import Testing

@Suite struct BlockGeometryTests {
    @Test(arguments: [
        (UInt64(0), 1, UInt64(0)..<1),
        (UInt64(4095), 2, UInt64(0)..<2),
        (UInt64(4096), 4096, UInt64(1)..<2),
        (UInt64(100), 0, UInt64(0)..<0),
    ])
    func blocksTouched(offset: UInt64, length: Int, expected: Range<UInt64>) {
        #expect(BlockGeometry(blockSize: 4096).blocks(offset: offset, length: length) == expected)
    }
}
