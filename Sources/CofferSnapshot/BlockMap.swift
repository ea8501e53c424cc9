/// A device's block map (logical block → slot, 0 = never written), kept as pages of 1024 entries of which
/// only pages holding a written block exist: a map costs what was written, not the disk's size.
///
/// Pages are shared by reference between copies of a map (a snapshot shares every page with the live map
/// until the live map changes one: copy-on-write per page), so comparing two maps skips shared pages and
/// costs what differs.
struct BlockMap {
    static let pageShift = 10
    static let pageEntries = 1 << pageShift

    /// One page of slots; `used` counts its non-zero entries.
    final class Page {
        var slots: [UInt32]
        var used: Int

        init() {
            slots = [UInt32](repeating: 0, count: BlockMap.pageEntries)
            used = 0
        }

        init(copying other: Page) {
            slots = other.slots
            used = other.used
        }
    }

    /// The number of blocks the map covers.
    let blockCount: Int
    private(set) var pages: [Int: Page] = [:]

    init(blockCount: Int) { self.blockCount = blockCount }

    subscript(block: Int) -> UInt32 {
        get {
            precondition(block >= 0 && block < blockCount)
            guard let page = pages[block >> Self.pageShift] else { return 0 }
            return page.slots[block & (Self.pageEntries - 1)]
        }
        set {
            precondition(block >= 0 && block < blockCount)
            let key = block >> Self.pageShift
            let offset = block & (Self.pageEntries - 1)
            guard var page = pages.removeValue(forKey: key) else {
                if newValue == 0 { return }
                let page = Page()
                page.slots[offset] = newValue
                page.used = 1
                pages[key] = page
                return
            }
            if !isKnownUniquelyReferenced(&page) { page = Page(copying: page) }
            let old = page.slots[offset]
            page.slots[offset] = newValue
            page.used += (newValue != 0 ? 1 : 0) - (old != 0 ? 1 : 0)
            if page.used > 0 { pages[key] = page }
        }
    }

    /// Blocks that have a slot.
    var writtenCount: Int { pages.values.reduce(0) { $0 + $1.used } }

    /// Calls `body` with every written block and its slot, in block order.
    func forEachWritten(_ body: (Int, UInt32) throws -> Void) rethrows {
        for key in pages.keys.sorted() {
            let page = pages[key]!
            let base = key << Self.pageShift
            for (offset, slot) in page.slots.enumerated() where slot != 0 { try body(base + offset, slot) }
        }
    }

    /// Blocks whose slot differs between `base` (nil: an empty map) and `target`, in order. Pages the two
    /// maps share are skipped without reading them.
    static func difference(from base: BlockMap?, to target: BlockMap) -> [UInt64] {
        let empty = BlockMap(blockCount: target.blockCount)
        let base = base ?? empty
        var keys = Set(target.pages.keys)
        keys.formUnion(base.pages.keys)
        var changed: [UInt64] = []
        for key in keys.sorted() {
            let a = base.pages[key]
            let b = target.pages[key]
            if let a, let b, a === b { continue }
            let first = key << Self.pageShift
            for offset in 0..<Self.pageEntries {
                let old = a?.slots[offset] ?? 0
                let new = b?.slots[offset] ?? 0
                if old != new { changed.append(UInt64(first + offset)) }
            }
        }
        return changed
    }

    /// Makes this map use `other`'s page objects wherever their contents are equal, so that later
    /// comparisons skip them (maps read from files share nothing until this runs).
    mutating func share(equalPagesOf other: BlockMap) {
        for (key, page) in pages {
            if let candidate = other.pages[key], candidate !== page, candidate.used == page.used,
                candidate.slots == page.slots
            {
                pages[key] = candidate
            }
        }
    }

    // MARK: Encoding

    /// Appends the map as runs of consecutive blocks in consecutive slots: a count, then (first block, first
    /// slot, length) per run, 12 bytes each.
    func encode(into writer: inout ByteWriter) {
        var runs: [(block: UInt32, slot: UInt32, length: UInt32)] = []
        forEachWritten { block, slot in
            if let last = runs.last, Int(last.block) + Int(last.length) == block,
                UInt64(last.slot) + UInt64(last.length) == UInt64(slot)
            {
                runs[runs.count - 1].length += 1
            } else {
                runs.append((UInt32(block), slot, 1))
            }
        }
        writer.append(UInt32(runs.count))
        for run in runs {
            writer.append(run.block)
            writer.append(run.slot)
            writer.append(run.length)
        }
    }

    /// Reads a map written by `encode(into:)`.
    static func decode(from reader: inout ByteReader, blockCount: Int) throws -> BlockMap {
        var map = BlockMap(blockCount: blockCount)
        let count = Int(try reader.uint32())
        guard count <= reader.remaining / 12 else { throw reader.malformed("\(count) map runs do not fit") }
        var next = 0
        for _ in 0..<count {
            let block = Int(try reader.uint32())
            let slot = UInt64(try reader.uint32())
            let length = Int(try reader.uint32())
            guard block >= next, length > 0, block + length <= blockCount, slot > 0,
                slot + UInt64(length) - 1 <= UInt64(UInt32.max)
            else { throw reader.malformed("a map run (block \(block), slot \(slot), \(length) blocks) is out of order or range") }
            for k in 0..<length { map[block + k] = UInt32(slot + UInt64(k)) }
            next = block + length
        }
        return map
    }

    /// A map from the flat form of format version 1 (one 32-bit slot per block).
    init(flat: [UInt32]) {
        self.init(blockCount: flat.count)
        for (block, slot) in flat.enumerated() where slot != 0 { self[block] = slot }
    }
}
