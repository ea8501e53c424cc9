import CofferCrypto

/// A disk's block map in a recovery point: which chunk holds each block.
///
/// Format 2 keeps it as a tree of map pages, each page a chunk in the store like any block (content-
/// addressed, sealed, deduplicated): a leaf lists the chunk of each written block among 1024, an inner page
/// the page of each non-empty child among 1024, and holes are simply absent. A point stores only the
/// root's identifier, so two points share every page under which nothing changed. Format 1 points list
/// every block's chunk (`flat`) and are still read.
enum DiskMap {
    case flat([ChunkID])
    case tree(root: ChunkID, height: Int, storedBlocks: Int)

    var storedBlocks: Int {
        switch self {
        case .flat(let chunks): return chunks.count(where: { !$0.isHole })
        case .tree(_, _, let storedBlocks): return storedBlocks
        }
    }
}

/// The map page format and the tree's shape.
enum MapPage {
    static let shift = 10
    /// Entries per page: blocks per leaf, children per inner page.
    static let fanOut = 1 << shift
    static let magic = Array("CFMAPPG1".utf8)

    /// The levels above the leaves for a disk of `blockCount` blocks: the fewest such that the root covers
    /// every block.
    static func height(blockCount: Int) -> Int {
        var height = 0
        var covered = fanOut
        while covered < blockCount {
            covered <<= shift
            height += 1
        }
        return height
    }

    /// Blocks under one page at `level` (0 = leaf).
    static func span(level: Int) -> Int { 1 << (shift * (level + 1)) }

    /// A page's plaintext: marker, level, entry count, then (offset, identifier) per entry in offset order;
    /// equal maps encode equally, so they are stored once.
    static func encode(level: Int, entries: [(offset: Int, id: ChunkID)]) -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + entries.count * 34)
        writer.append(bytes: magic)
        writer.append(UInt8(level))
        writer.append(UInt32(entries.count))
        for entry in entries {
            writer.append(UInt16(entry.offset))
            withUnsafeBytes(of: entry.id) { writer.append(bytes: $0) }
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], level: Int, what: String) throws -> [(offset: Int, id: ChunkID)] {
        var reader = ByteReader(bytes, what: what)
        try reader.expect(magic: magic)
        let stored = Int(try reader.uint8())
        guard stored == level else { throw reader.malformed("it is a page of level \(stored), expected \(level)") }
        let count = Int(try reader.uint32())
        guard count > 0, count <= fanOut, reader.remaining == count * 34 else {
            throw reader.malformed("its \(count) entries do not fill it")
        }
        var entries: [(offset: Int, id: ChunkID)] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let offset = Int(try reader.uint16())
            let id = ChunkID(try reader.bytes(32))
            guard offset < fanOut, entries.last.map({ $0.offset < offset }) ?? true, !id.isHole else {
                throw reader.malformed("its entries are out of order or name a hole")
            }
            entries.append((offset, id))
        }
        return entries
    }
}

extension VaultStore {
    /// Reads, authenticates and decodes one map page; with `checkID`, also recomputes its identifier.
    func readMapPage(_ id: ChunkID, level: Int, reader: PackReader, checkID: Bool = false, context: String) throws
        -> [(offset: Int, id: ChunkID)]
    {
        let what = "map page \(id) (\(context))"
        let sealed = try readSealed(id, reader: reader, context: context)
        let plaintext = try Seal.open(sealed, key: keys.data, associatedData: id.bytes, what: what)
        if checkID, ChunkID(HMACSHA256.authenticationCode(for: plaintext, key: keys.id)) != id {
            throw SnapshotError(code: .corrupted, message: "\(what) does not hash to its identifier")
        }
        return try MapPage.decode(plaintext, level: level, what: what)
    }

    /// Calls `leaf` with every written block of a disk's map and its chunk, in block order, a page of
    /// entries at a time; `enter` is asked before each page is read and may skip it (and what is under it).
    func walk(
        _ map: DiskMap, disk: String, reader: PackReader, checkIDs: Bool = false,
        enter: (ChunkID) -> Bool = { _ in true }, leaf: ([(block: Int, id: ChunkID)]) throws -> Void
    ) throws {
        switch map {
        case .flat(let chunks):
            let batch = MapPage.fanOut
            for start in stride(from: 0, to: chunks.count, by: batch) {
                var entries: [(block: Int, id: ChunkID)] = []
                for block in start..<min(start + batch, chunks.count) where !chunks[block].isHole {
                    entries.append((block, chunks[block]))
                }
                if !entries.isEmpty { try leaf(entries) }
            }
        case .tree(let root, let height, _):
            guard !root.isHole else { return }
            func visit(_ page: ChunkID, level: Int, first: Int) throws {
                guard enter(page) else { return }
                let entries = try readMapPage(
                    page, level: level, reader: reader, checkID: checkIDs,
                    context: "level \(level) at block \(first) of disk \(disk)")
                if level == 0 {
                    try leaf(entries.map { (first + $0.offset, $0.id) })
                } else {
                    let span = MapPage.span(level: level - 1)
                    for entry in entries { try visit(entry.id, level: level - 1, first: first + entry.offset * span) }
                }
            }
            try visit(root, level: height, first: 0)
        }
    }
}

/// Builds a disk's new map from its base's by rewriting only the pages on the paths to changed blocks;
/// every other page keeps its identifier, so the new point shares it. New pages are sealed into the
/// backup's packs.
struct MapBuilder {
    let store: VaultStore
    let reader: PackReader
    let disk: String
    let height: Int
    /// Base pages read while planning, by level and first block, so that each is read once.
    private var cache: [PageKey: [(offset: Int, id: ChunkID)]] = [:]

    struct PageKey: Hashable {
        var level: Int
        var first: Int
    }

    init(store: VaultStore, reader: PackReader, disk: String, height: Int) {
        self.store = store
        self.reader = reader
        self.disk = disk
        self.height = height
    }

    /// The base's leaf entries covering `blocks` (sorted), read along their paths from `root`: what a
    /// backup needs to check that the chunks it keeps are still in the store.
    mutating func baseLeaves(root: ChunkID, covering blocks: [UInt64]) throws -> [(block: Int, id: ChunkID)] {
        var result: [(block: Int, id: ChunkID)] = []
        guard !root.isHole else { return result }
        var seenLeaves = Set<Int>()
        for block in blocks {
            let leafFirst = (Int(block) >> MapPage.shift) << MapPage.shift
            guard seenLeaves.insert(leafFirst).inserted else { continue }
            var current = root
            var first = 0
            var level = height
            while true {
                let entries = try page(level: level, first: first, id: current)
                if level == 0 {
                    result += entries.map { (first + $0.offset, $0.id) }
                    break
                }
                let span = MapPage.span(level: level - 1)
                let child = (leafFirst - first) / span
                guard let next = entries.first(where: { $0.offset == child }) else { break }
                current = next.id
                first += child * span
                level -= 1
            }
        }
        return result
    }

    private mutating func page(level: Int, first: Int, id: ChunkID) throws -> [(offset: Int, id: ChunkID)] {
        let key = PageKey(level: level, first: first)
        if let entries = cache[key] { return entries }
        let entries = try store.readMapPage(
            id, level: level, reader: reader, context: "level \(level) at block \(first) of disk \(disk)")
        cache[key] = entries
        return entries
    }

    /// The root of the map that is `root`'s with `changes` (sorted by block; a hole removes a block) applied,
    /// and the change in the number of stored blocks; `store` seals a new page and returns its identifier.
    mutating func apply(
        _ changes: [(block: Int, id: ChunkID)], to root: ChunkID, store: (Int, [UInt8]) throws -> ChunkID
    ) throws -> (root: ChunkID, storedDelta: Int) {
        var delta = 0
        let root = try update(root, level: height, first: 0, changes[...], delta: &delta, store: store)
        return (root, delta)
    }

    private mutating func update(
        _ pageID: ChunkID, level: Int, first: Int, _ changes: ArraySlice<(block: Int, id: ChunkID)>, delta: inout Int,
        store: (Int, [UInt8]) throws -> ChunkID
    ) throws -> ChunkID {
        guard !changes.isEmpty else { return pageID }
        var entries: [Int: ChunkID] = [:]
        if !pageID.isHole {
            for entry in try page(level: level, first: first, id: pageID) { entries[entry.offset] = entry.id }
        }
        if level == 0 {
            for change in changes {
                let offset = change.block - first
                let old = entries[offset]
                entries[offset] = change.id.isHole ? nil : change.id
                delta += (change.id.isHole ? 0 : 1) - (old == nil ? 0 : 1)
            }
        } else {
            let span = MapPage.span(level: level - 1)
            var start = changes.startIndex
            while start < changes.endIndex {
                let child = (changes[start].block - first) / span
                var end = start + 1
                while end < changes.endIndex && (changes[end].block - first) / span == child { end += 1 }
                let updated = try update(
                    entries[child] ?? .hole, level: level - 1, first: first + child * span, changes[start..<end],
                    delta: &delta, store: store)
                entries[child] = updated.isHole ? nil : updated
                start = end
            }
        }
        if entries.isEmpty { return .hole }
        let sorted = entries.sorted { $0.key < $1.key }.map { (offset: $0.key, id: $0.value) }
        return try store(level, MapPage.encode(level: level, entries: sorted))
    }
}
