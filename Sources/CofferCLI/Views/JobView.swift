import CofferModel
import CofferPlatform
import Foundation

/// How `coffer backup`, `restore`, `restore-keys` and `verify` show the job they ran: sentences and tables,
/// or one JSON document.
protocol JobView {
    /// An on-demand backup of `vm` that finished.
    func backedUp(_ job: JobInfo, vm: String) throws
    /// A restore of `vm` from `recoveryPoint` that finished.
    func restored(_ result: RestoreResult, vm: String, recoveryPoint: String, mode: RestoreMode) throws
    /// What `restore-keys` did with each secret and key.
    func restoredKeys(_ actions: [KeyRestoreAction]) throws
    /// A test restore of `vm` and its checksums.
    func verified(_ result: VerifyResult, vm: String) throws
    /// A soft-deleted backup item that `undelete` recovered.
    func undeleted(_ item: ProtectedItemInfo) throws
}

extension OutputFormat {
    /// The job view of this format.
    var jobView: any JobView {
        switch self {
        case .text: JobTextView()
        case .json: JobJSONView()
        }
    }
}

struct JobTextView: JobView {
    func backedUp(_ job: JobInfo, vm: String) throws {
        Console.current.print("Backup of \(vm) completed: job \(job.id), recovery point \(job.recoveryPoint ?? "-"), "
                              + "\(PlatformCLI.bytes(job.bytesTransferred)) transferred to vault \(job.vault).")
    }

    func restored(_ result: RestoreResult, vm: String, recoveryPoint: String, mode: RestoreMode) throws {
        let console = Console.current
        // The point the job restored from: the id that `latest` resolved to, not the word.
        let point = result.job.recoveryPoint ?? recoveryPoint
        console.print("Restore of \(vm) from recovery point \(point) completed (job \(result.job.id), from the \(result.source.lowercased()) tier, in \(result.region)).")
        switch mode {
        case .restoreDisks:
            var table = TextTable("DISK", "KIND", "RESOURCE GROUP", "REGION", "FROM", "BEK")
            for disk in result.disks {
                table.add(disk.name, disk.kind, disk.resourceGroup, disk.region, "\(vm)/\(disk.disk)", disk.bekSecretURL ?? "-")
            }
            console.print(table.rendered)
            if result.disks.contains(where: { $0.bekSecretURL != nil }) {
                console.print("The disks are ADE-encrypted: they need their BEK (and KEK) in the key vault; 'coffer restore-keys' puts them back.")
            }
        case .createVM:
            console.print("Created VM \(result.vm ?? "-").")
        case .replaceExisting:
            console.print("Replaced the disks of VM \(vm).")
        }
    }

    func undeleted(_ item: ProtectedItemInfo) throws {
        Console.current.print(
            "Backup item of \(item.vm) recovered in vault \(item.vault): protection stopped (\(item.state.rawValue)), "
                + "\(item.recoveryPoints) recovery point\(item.recoveryPoints == 1 ? "" : "s") kept.\n"
                + "Resume it with a ProtectedVM manifest (protectionState: Protected) and 'coffer apply'.")
    }

    func restoredKeys(_ actions: [KeyRestoreAction]) throws {
        var table = TextTable("KIND", "KEY VAULT", "NAME", "ACTION")
        for action in actions { table.add(action.kind, action.keyVault, action.name, action.action) }
        Console.current.print(table.rendered)
    }

    func verified(_ result: VerifyResult, vm: String) throws {
        let console = Console.current
        for disk in result.disks {
            console.print("\(disk.matches ? "OK      " : "MISMATCH")  \(vm)/\(disk.disk)  \(disk.actual.isEmpty ? "-" : disk.actual)"
                          + (disk.matches ? "" : "  (expected \(disk.expected))"))
        }
        for problem in result.problems { console.print("problem: \(problem)") }
        console.print("\(result.ok ? "OK" : "MISMATCH"): recovery point \(result.recoveryPoint) of \(vm) (\(result.source.lowercased()) tier, \(result.chunksChecked) chunks checked)")
    }
}

struct JobJSONView: JobView {
    func backedUp(_ job: JobInfo, vm: String) throws {
        try JSONOutput.print(job)
    }

    func restored(_ result: RestoreResult, vm: String, recoveryPoint: String, mode: RestoreMode) throws {
        try JSONOutput.print(result)
    }

    func undeleted(_ item: ProtectedItemInfo) throws {
        try JSONOutput.print(Keyed(key: "protectedVM", value: item))
    }

    func restoredKeys(_ actions: [KeyRestoreAction]) throws {
        try JSONOutput.print(actions, under: "keys")
    }

    func verified(_ result: VerifyResult, vm: String) throws {
        try JSONOutput.print(VerifyJSON(result: result, ok: result.ok))
    }

    /// `verify`'s document: the result and whether every disk matched.
    struct VerifyJSON: Encodable {
        var result: VerifyResult
        var ok: Bool
    }
}
