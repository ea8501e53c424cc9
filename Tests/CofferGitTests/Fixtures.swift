import CofferGit
import CofferTestSupport
import Foundation

/// UTF-8 bytes of a string, for file contents.
func bytes(_ text: String) -> Data { Data(text.utf8) }

/// A fixed commit time `minutes` after a base, so that the log's order never depends on the clock.
func at(_ minutes: Int) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + TimeInterval(minutes * 60)) }

/// A file:// URL for a local path.
func fileURL(_ path: String) -> String { URL(fileURLWithPath: path).absoluteString }

/// Everything under a folder, `.git` included: each entry's kind, bytes (or link target) and modification time.
func snapshot(of root: String) throws -> [String: String] {
    var result: [String: String] = [:]
    let manager = FileManager.default
    guard let walker = manager.enumerator(atPath: root) else { return result }
    while let relative = walker.nextObject() as? String {
        let full = root + "/" + relative
        let attributes = try manager.attributesOfItem(atPath: full)
        let type = attributes[.type] as? FileAttributeType
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        switch type {
        case .typeDirectory?:
            result[relative] = "dir"
        case .typeSymbolicLink?:
            result[relative] = "link \(try manager.destinationOfSymbolicLink(atPath: full))"
        default:
            let contents = try Data(contentsOf: URL(fileURLWithPath: full))
            result[relative] = "file \(modified) \(contents.base64EncodedString())"
        }
    }
    return result
}

/// The paths and texts of files read from a tree.
func texts(_ files: [TreeFile]) -> [String: String] {
    Dictionary(uniqueKeysWithValues: files.map { ($0.path, String(decoding: $0.contents, as: UTF8.self)) })
}

/// A repository with manifests in nested folders over three commits, plus a README outside them.
struct ManifestRepository {
    let directory: TemporaryDirectory
    let path: String
    let repository: GitRepository
    /// The commits, oldest first: add, change, remove.
    let commits: [String]

    init(bare: Bool = false) throws {
        directory = try TemporaryDirectory()
        path = directory.path(bare ? "origin.git" : "origin")
        repository = try GitRepository.create(at: path, bare: bare)
        try repository.setHead(branch: "main")
        let first = try repository.commit(
            files: [
                "README.md": bytes("# infra\n"),
                "manifests/vaults/prod.yaml": bytes("kind: RecoveryServicesVault\nname: prod\n"),
                "manifests/policies/daily.yml": bytes("kind: BackupPolicy\nname: daily\n"),
                "manifests/notes.txt": bytes("not a manifest\n"),
            ],
            message: "Add the manifests", time: at(0))
        let second = try repository.commit(
            files: [
                "README.md": bytes("# infra\n"),
                "manifests/vaults/prod.yaml": bytes("kind: RecoveryServicesVault\nname: prod\nregion: eastus\n"),
                "manifests/policies/daily.yml": bytes("kind: BackupPolicy\nname: daily\n"),
                "manifests/notes.txt": bytes("not a manifest\n"),
                "manifests/vms/web/web-01.yaml": bytes("kind: ProtectedVM\nname: web-01\n"),
            ],
            message: "Change the vault, protect web-01\n\nThe body of the message.", time: at(1))
        let third = try repository.commit(
            files: [
                "README.md": bytes("# infra\n"),
                "manifests/vaults/prod.yaml": bytes("kind: RecoveryServicesVault\nname: prod\nregion: eastus\n"),
                "manifests/vms/web/web-01.yaml": bytes("kind: ProtectedVM\nname: web-01\n"),
                "manifests/notes.txt": bytes("not a manifest\n"),
            ],
            message: "Remove the daily policy", time: at(2))
        commits = [first, second, third]
    }
}
