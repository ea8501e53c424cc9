import Foundation

/// A disk to back up: a snapshot of a block device, and optionally the snapshot and recovery point of the
/// previous backup of the same disk, so that only blocks changed since then are read.
public struct DiskSource {
    /// The disk's name in the recovery point, such as `os` or `lun0`.
    public var name: String
    /// The device the disk lives on.
    public var device: BlockDevice
    /// The snapshot to back up.
    public var snapshot: SnapshotID
    /// The base of an incremental backup: a snapshot of the same device and the recovery point that was
    /// made from it (which records that snapshot for this disk).
    public var base: (snapshot: SnapshotID, recoveryPoint: RecoveryPointID)?

    /// Describes a disk to back up from `snapshot` of `device`, incrementally from `base` when given.
    public init(
        name: String, device: BlockDevice, snapshot: SnapshotID,
        base: (snapshot: SnapshotID, recoveryPoint: RecoveryPointID)? = nil
    ) {
        self.name = name
        self.device = device
        self.snapshot = snapshot
        self.base = base
    }
}

/// What one backup read and stored.
public struct BackupStatistics: Codable, Sendable, Hashable {
    /// Blocks read from the devices' snapshots (the changed ones, or every written one without a base).
    public var blocksRead: Int = 0
    /// Blocks whose chunk identifier came from the base recovery point without reading them.
    public var blocksUnchanged: Int = 0
    /// Blocks recorded as holes: never written, or read and found to be all zeros.
    public var holes: Int = 0
    /// Chunks stored for the first time.
    public var chunksNew: Int = 0
    /// Blocks read whose chunk the store already held (from this backup or an earlier one).
    public var chunksReused: Int = 0
    /// Bytes read from the devices.
    public var bytesRead: UInt64 = 0
    /// Bytes written to pack files for new chunks and map pages (sealed, with their entry headers).
    public var bytesUploaded: UInt64 = 0
    /// Map pages stored for the first time: the pages on the paths to changed blocks that no earlier
    /// recovery point holds.
    public var mapPagesNew: Int = 0

    /// Empty statistics.
    public init() {}
}

/// A recovery point's description: its disks, the caller's metadata and when it was made.
public struct RecoveryPointInfo: Codable, Sendable, Hashable {
    /// The shape of one disk in a recovery point.
    public struct Disk: Codable, Sendable, Hashable {
        /// The disk's size in bytes.
        public var size: UInt64
        /// The block (and chunk) size in bytes.
        public var blockSize: Int
        /// The number of blocks, `size / blockSize`.
        public var blockCount: Int
        /// Blocks that have a stored chunk (the others are holes and restore as zeros).
        public var storedBlocks: Int
        /// The snapshot of the device the disk was backed up from.
        public var snapshot: SnapshotID
    }

    /// The recovery point's identifier.
    public var id: RecoveryPointID
    /// When the backup was committed (the system clock).
    public var created: Date
    /// The disks, by name.
    public var disks: [String: Disk]
    /// The caller's metadata, stored encrypted with the recovery point.
    public var metadata: [String: String]
}

/// What verifying a recovery point checked and found.
public struct VerifyReport: Codable, Sendable, Hashable {
    /// Distinct chunks read, authenticated and checked.
    public var chunksChecked: Int = 0
    /// Plaintext bytes of those chunks.
    public var bytesChecked: UInt64 = 0
    /// Map pages read, authenticated and checked against their identifiers (a damaged one throws).
    public var mapPagesChecked: Int = 0
    /// Every problem found, one sentence each; empty when the recovery point is sound.
    public var problems: [String] = []

    /// Whether no problem was found.
    public var isValid: Bool { problems.isEmpty }
}

/// What a garbage collection removed and kept.
public struct GCReport: Codable, Sendable, Hashable {
    /// Recovery points whose chunks were kept.
    public var recoveryPoints: Int = 0
    /// Chunks still referenced after the collection.
    public var chunksLive: Int = 0
    /// Chunks dropped from the index because no recovery point references them.
    public var chunksRemoved: Int = 0
    /// Live chunks copied out of mostly-garbage packs into new ones.
    public var chunksRelocated: Int = 0
    /// Packs deleted (empty of live chunks, or rewritten).
    public var packsDeleted: Int = 0
    /// Packs whose live chunks were copied to a new pack before deletion.
    public var packsRewritten: Int = 0
    /// Files left by an interrupted backup or collection (temporary files, unreferenced packs) removed.
    public var leftoversRemoved: Int = 0
    /// Bytes of pack files deleted minus bytes of new pack files written.
    public var bytesReclaimed: Int64 = 0
    /// Bytes of dead chunks left inside packs that stay (they are mostly live).
    public var bytesGarbageKept: UInt64 = 0

    /// An empty report.
    public init() {}
}
