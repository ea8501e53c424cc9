@testable import CofferCLI
import CofferModel
import CofferPlatform
import CofferTestSupport
import Foundation
import Testing

/// Runs the built `coffer` executable, capturing what it prints.
struct CofferProcess {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }

    /// The `coffer` executable next to the test bundle.
    static let executable: String = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return directory.appendingPathComponent("coffer").path
    }()

    static func run(_ arguments: [String], state: String, environment: [String: String] = [:]) throws -> CofferProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--state", state]
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return CofferProcess(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A small world for CLI tests: 1 GiB sparse disks, 2048-bit keys, a guest operator, a key vault without
/// purge protection.
enum CLIWorld {
    static let yaml = """
        tenant: fabrikam
        clock: 2026-01-05T00:00:00Z
        operator: {user: ops@partner.example, type: guest}
        subscriptions:
          - {name: sub, id: 22222222-2222-2222-2222-222222222222}
        regions: [eastus, westus]
        resourceGroups:
          - {name: rg, region: eastus}
          - {name: rg-west, region: westus}
        keyVaults:
          - name: kv-east
            resourceGroup: rg
            region: eastus
            enabledForDiskEncryption: true
            keys: [{name: kek, size: 2048}]
          - {name: kv-west, resourceGroup: rg-west, region: westus, enabledForDiskEncryption: true}
        virtualMachines:
          - name: win-ade
            os: windows
            region: eastus
            resourceGroup: rg
            osDisk: {sizeGiB: 1}
            dataDisks: [{lun: 0, sizeGiB: 1}]
            encryption: {type: ade, keyVault: kv-east, kek: kek}
            initialData: [{disk: os, offset: 0, length: 100K, seed: 1}]
          - name: lnx-pmk
            os: linux
            region: eastus
            resourceGroup: rg
            osDisk: {sizeGiB: 1}
            initialData: [{disk: os, offset: 0, length: 64K, seed: 2}]

        """

    /// A platform from the world in a new state directory, with a vault and a daily policy protecting both VMs.
    static func protected() async throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "coffer-cli")
        let world = try directory.write(yaml, to: "world.yaml")
        #expect(await runCoffer(["platform", "init", "--world", world, "--state", directory.path("state")]) == 0)
        let platform = try Platform(stateDirectory: directory.path("state"))
        try platform.createVault(name: "rsv", spec: VaultSpec(resourceGroup: "rg", location: "eastus", crossRegionRestore: true))
        try platform.createPolicy(name: "daily", spec: BackupPolicySpec(
            vault: "rsv", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)), instantRestoreRetentionDays: 2,
            retention: RetentionSpec(daily: DailyRetention(count: 7))))
        for vm in ["win-ade", "lnx-pmk"] { try platform.enableProtection(vm: vm, vault: "rsv", policy: "daily") }
        return directory
    }
}

@Suite struct PlatformCommandTests {
    @Test func initValidatesTheWorldFile() async throws {
        let directory = try TemporaryDirectory(prefix: "coffer-cli")
        let bad = try directory.write(CLIWorld.yaml.replacingOccurrences(of: "regions: [eastus, westus]", with: "regions: [eastus, wetsus]"),
                                      to: "bad.yaml")
        let run = try CofferProcess.run(["platform", "init", "--world", bad], state: directory.path("state"))
        #expect(run.status == 65)
        #expect(run.stderr.contains("""
            bad.yaml:6:19: error[world-unknown-region]: unknown region 'wetsus'
             6 | regions: [eastus, wetsus]
               |                   ^
              = hint: did you mean 'westus'?
            """))
        #expect(run.stderr.contains("bad.yaml:9:29: error[world-unknown-region]: region 'westus' is not one of the world's regions"))
        #expect(run.stderr.contains("bad.yaml:16:53: error[world-unknown-region]: region 'westus' is not one of the world's regions"))
        #expect(run.stderr.hasSuffix("3 errors in the world file\n"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("state/platform.sqlite")))
        let good = try directory.write(CLIWorld.yaml, to: "good.yaml")
        #expect(await runCoffer(["platform", "init", "--world", good, "--state", directory.path("state")]) == 0)
        let again = try CofferProcess.run(["platform", "init", "--world", good], state: directory.path("state"))
        #expect(again.status == 1)
        #expect(again.stderr.hasPrefix("error[PlatformAlreadyInitialized]: "))
        #expect(again.stderr.contains("= hint: pass --force"))
        #expect(await runCoffer(["platform", "init", "--world", good, "--force", "--state", directory.path("state")]) == 0)
        let missing = try CofferProcess.run(["platform", "show"], state: directory.path("nowhere"))
        #expect(missing.status == 1 && missing.stderr.hasPrefix("error[PlatformNotInitialized]"))
    }

    @Test func initRefusesAWorldFileThatNestsTooDeep() async throws {
        let directory = try TemporaryDirectory(prefix: "coffer-cli")
        let deep = try directory.write(
            CLIWorld.yaml + "x: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n",
            to: "deep.yaml")
        let run = try CofferProcess.run(["platform", "init", "--world", deep], state: directory.path("state"))
        #expect(run.status == 65)
        #expect(run.stderr.contains("deep.yaml:"))
        #expect(run.stderr.contains("error[world-limit]: the YAML nests deeper than 64 levels"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("state/platform.sqlite")))
    }

    @Test func guestIOAndChecksumsThroughTheCLI() async throws {
        let directory = try await CLIWorld.protected()
        let state = directory.path("state")
        let read = try CofferProcess.run(["platform", "read", "win-ade", "--disk", "os", "--offset", "1000", "--length", "3000"], state: state)
        #expect(read.status == 0)
        #expect([UInt8](read.stdout) == Array(GuestData.bytes(seed: 1, count: 4000)[1000...]))
        let file = try directory.write("hello, guest", to: "data.bin")
        #expect(await runCoffer(["platform", "write", "win-ade", "--disk", "0", "--offset", "5", "--data-file", file, "--state", state]) == 0)
        let back = try CofferProcess.run(["platform", "read", "win-ade", "--disk", "0", "--offset", "5", "--length", "12"], state: state)
        #expect(back.text == "hello, guest")
        #expect(await runCoffer(["platform", "write", "lnx-pmk", "--disk", "os", "--offset", "1M", "--length", "4K", "--seed", "9", "--state", state]) == 0)
        let seeded = try CofferProcess.run(["platform", "read", "lnx-pmk", "--disk", "os", "--offset", "1M", "--length", "4K"], state: state)
        #expect([UInt8](seeded.stdout) == GuestData.bytes(seed: 9, count: 4096))
        let sums = try CofferProcess.run(["platform", "checksum", "win-ade"], state: state)
        #expect(sums.status == 0)
        let platform = try Platform(stateDirectory: state)
        #expect(sums.text == "\(try platform.guestChecksum(vm: "win-ade", disk: .os))  win-ade/os\n\(try platform.guestChecksum(vm: "win-ade", disk: .lun(0)))  win-ade/0\n")
        // Usage errors exit 64; platform errors 1 with their code.
        #expect(await runCoffer(["platform", "write", "lnx-pmk", "--disk", "x", "--offset", "0", "--length", "1", "--state", state]) == 64)
        #expect(await runCoffer(["platform", "checksum", "--state", state]) == 64)
        let wrong = try CofferProcess.run(["platform", "read", "lnx-pmk", "--disk", "3", "--offset", "0", "--length", "1"], state: state)
        #expect(wrong.status == 1 && wrong.stderr.hasPrefix("error[ResourceNotFound]: VM 'lnx-pmk' has no disk '3'"))
    }

    /// A vault's default policies, made by the service with it, are listed with the others, managed by no one.
    @Test func getPoliciesListsTheDefaultPoliciesOfAVault() async throws {
        let directory = try await CLIWorld.protected()
        let state = directory.path("state")
        let text = try CofferProcess.run(["get", "policies"], state: state)
        #expect(text.status == 0)
        let lines = text.text.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("POLICY") == true && lines.first?.hasSuffix("MANAGED BY") == true)
        let standard = try #require(lines.first { $0.hasPrefix("DefaultPolicy ") })
        #expect(standard.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                == "DefaultPolicy rsv Standard daily 00:00 UTC 2d 30d 0 -")
        let enhanced = try #require(lines.first { $0.hasPrefix("EnhancedPolicy ") })
        #expect(enhanced.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                == "EnhancedPolicy rsv Enhanced every 4h from 08:00 for 24h UTC 7d 180d 0 -")

        let json = try CofferProcess.run(["get", "policies", "--output", "json"], state: state)
        let document = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let policies = try #require(document["policies"] as? [[String: Any]])
        #expect(policies.map { $0["name"] as? String } == ["DefaultPolicy", "EnhancedPolicy", "daily"])
        let first = try #require(policies.first)
        #expect(first["managedBy"] == nil)
        #expect((first["id"] as? String)?.hasSuffix("/vaults/rsv/backupPolicies/DefaultPolicy") == true)
        let spec = try #require(first["spec"] as? [String: Any])
        #expect(spec["policyType"] as? String == "Standard")
        #expect((spec["schedule"] as? [String: Any])?["time"] as? String == "00:00")
        #expect(((spec["retention"] as? [String: Any])?["daily"] as? [String: Any])?["count"] as? Int == 30)
    }

    @Test func backupFailsWithTheServiceCodeUntilAccessIsGranted() async throws {
        let directory = try await CLIWorld.protected()
        let state = directory.path("state")
        let failed = try CofferProcess.run(["backup", "win-ade"], state: state)
        #expect(failed.status == 1)
        #expect(failed.stderr.hasPrefix("error[UserErrorKeyVaultPermissionsNotConfigured]: Azure Backup Service does not have sufficient permissions"))
        #expect(failed.stderr.contains("= hint: grant the Backup Management Service"))
        #expect(await runCoffer(["platform", "keyvault", "set-access", "kv-east", "BackupManagementService", "--key-permissions", "Get", "List", "Backup",
                           "--secret-permissions", "get", "list", "backup", "--state", state]) == 0)
        let backup = try CofferProcess.run(["backup", "win-ade", "--retain-until", "2026-03-01", "--output", "json"], state: state)
        #expect(backup.status == 0)
        // No progress bar in a pipe.
        #expect(backup.stderr.isEmpty)
        let job = try #require(try JSONSerialization.jsonObject(with: backup.stdout) as? [String: Any])
        #expect(job["format_version"] as? String == "1")
        #expect(job["status"] as? String == "Completed")
        let points = try CofferProcess.run(["get", "recovery-points", "--vm", "win-ade", "--output", "json"], state: state)
        let document = try #require(try JSONSerialization.jsonObject(with: points.stdout) as? [String: Any])
        #expect(document["format_version"] as? String == "1")
        let list = try #require(document["recoveryPoints"] as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list.first?["tier"] as? String == "Snapshot and vault")
        #expect(list.first?["expiry"] as? String == "2026-03-01T00:00:00Z")
        let jobs = try CofferProcess.run(["get", "jobs"], state: state)
        #expect(jobs.text.contains("UserErrorKeyVaultPermissionsNotConfigured") && jobs.text.contains("Completed"))
        for what in ["vaults", "policies", "protected-vms", "access-policies", "role-assignments", "recovery-points", "jobs"] {
            let text = try CofferProcess.run(["get", what], state: state)
            #expect(text.status == 0)
            let json = try CofferProcess.run(["get", what, "--output", "json"], state: state)
            let parsed = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
            #expect(parsed?["format_version"] as? String == "1", "\(what)")
        }
        let show = try CofferProcess.run(["platform", "show", "--output", "json"], state: state)
        let overview = try #require(try JSONSerialization.jsonObject(with: show.stdout) as? [String: Any])
        #expect(overview["tenant"] as? String == "fabrikam")
        // Never a secret value: the BEK's base64 is not in the output.
        #expect(!show.text.contains("\"value\""))
        #expect(await runCoffer(["platform", "vm", "set-agent", "lnx-pmk", "stopped", "--state", state]) == 0)
        let stopped = try CofferProcess.run(["backup", "lnx-pmk"], state: state)
        #expect(stopped.stderr.hasPrefix("error[UserErrorGuestAgentStatusUnavailable]"))
    }

    @Test func clockRestoreKeysRestoreAndVerify() async throws {
        let directory = try await CLIWorld.protected()
        let state = directory.path("state")
        #expect(await runCoffer(["platform", "keyvault", "set-access", "kv-east", "BackupManagementService", "--key-permissions", "Get", "List", "Backup",
                           "--secret-permissions", "Get", "List", "Backup", "--state", state]) == 0)
        let clock = try CofferProcess.run(["platform", "clock", "--advance", "2d"], state: state)
        #expect(clock.status == 0)
        #expect(clock.text.contains("Clock moved from 2026-01-05T00:00:00Z to 2026-01-07T00:00:00Z."))
        #expect(clock.text.contains("4 scheduled backup(s)"))
        let now = try CofferProcess.run(["platform", "clock"], state: state)
        #expect(now.text == "2026-01-07T00:00:00Z\n")
        #expect(await runCoffer(["platform", "clock", "--advance", "1x", "--state", state]) == 64)
        let platform = try Platform(stateDirectory: state)
        let point = try #require(try platform.recoveryPoints(vm: "win-ade").last)
        let verify = try CofferProcess.run(["verify", "win-ade"], state: state)
        #expect(verify.status == 0)
        #expect(verify.text.contains("OK        win-ade/os"))
        #expect(verify.text.contains("OK: recovery point \(point.id) of win-ade"))
        // Lose the keys, restore the disks, put the keys back, and check the disks.
        let secret = try #require(try platform.virtualMachines().first { $0.name == "win-ade" }?.bekSecretURL?.split(separator: "/").dropLast().last.map(String.init))
        for args in [["delete-secret", "kv-east", secret], ["purge", "kv-east", secret], ["delete-key", "kv-east", "kek"], ["purge", "kv-east", "kek"]] {
            #expect(await runCoffer(["platform", "keyvault"] + args + ["--state", state]) == 0)
        }
        let restore = try CofferProcess.run(["restore", "win-ade", "--recovery-point", point.id, "--mode", "restore-disks", "--output", "json"], state: state)
        #expect(restore.status == 0)
        let result = try #require(try JSONSerialization.jsonObject(with: restore.stdout) as? [String: Any])
        let disks = try #require(result["disks"] as? [[String: Any]])
        let osDisk = try #require(disks.first { $0["disk"] as? String == "os" }?["name"] as? String)
        let locked = try CofferProcess.run(["platform", "checksum", "--restored-disk", osDisk], state: state)
        #expect(locked.stderr.hasPrefix("error[DiskEncryptionInternalError]"))
        let keys = try CofferProcess.run(["restore-keys", "win-ade", "--recovery-point", point.id], state: state)
        #expect(keys.status == 0)
        #expect(keys.text.contains("key     kv-east    kek") && keys.text.contains("restored"))
        let sum = try CofferProcess.run(["platform", "checksum", "--restored-disk", osDisk], state: state)
        #expect(sum.text == "\(point.disks[0].checksum)  \(osDisk)\n")
        // In the paired region the restore needs the keys in a key vault there first: refused until
        // restore-keys --target-key-vault puts them in kv-west.
        let crossRegion = ["restore", "win-ade", "--recovery-point", point.id, "--mode", "restore-disks", "--target-region", "westus",
                           "--target-resource-group", "rg-west", "--output", "json"]
        let withoutKeys = try CofferProcess.run(crossRegion, state: state)
        #expect(withoutKeys.status == 1 && withoutKeys.stderr.hasPrefix("error[DiskEncryptionInternalError]"))
        #expect(withoutKeys.stderr.contains("--target-key-vault"))
        let westKeys = try CofferProcess.run(["restore-keys", "win-ade", "--recovery-point", point.id, "--target-key-vault", "kv-west"], state: state)
        #expect(westKeys.status == 0 && westKeys.text.contains("key     kv-west    kek"))
        let west = try CofferProcess.run(crossRegion, state: state)
        #expect(west.status == 0, "\(west.stderr)")
        let westDisks = try #require((try JSONSerialization.jsonObject(with: west.stdout) as? [String: Any])?["disks"] as? [[String: Any]])
        let westOS = try #require(westDisks.first { $0["disk"] as? String == "os" })
        #expect((westOS["bekSecretURL"] as? String)?.hasPrefix("https://kv-west.vault.azure.net/secrets/") == true)
        let westSum = try CofferProcess.run(["platform", "checksum", "--restored-disk", try #require(westOS["name"] as? String)], state: state)
        #expect(westSum.text.hasPrefix(point.disks[0].checksum))
        let refused = try CofferProcess.run(["restore", "win-ade", "--recovery-point", point.id, "--mode", "create-vm"], state: state)
        #expect(refused.status == 1 && refused.stderr.hasPrefix("error[UserErrorRestoreModeNotSupportedForEncryptedVm]"))
        let files = try CofferProcess.run(["restore", "win-ade", "--recovery-point", point.id, "--mode", "files", "--disk", "os",
                                           "--offset", "0", "--length", "10"], state: state)
        #expect(files.stderr.hasPrefix("error[UserErrorFileRecoveryNotSupportedForEncryptedVm]"))
        let pmk = try #require(try platform.recoveryPoints(vm: "lnx-pmk").last)
        let items = try CofferProcess.run(["restore", "lnx-pmk", "--recovery-point", pmk.id, "--mode", "files", "--disk", "os",
                                           "--offset", "0", "--length", "10"], state: state)
        #expect([UInt8](items.stdout) == GuestData.bytes(seed: 2, count: 10))
        // A damaged vault copy: verify says MISMATCH and exits 1.
        let packs = directory.path("state/vaults/rsv/store/packs")
        for pack in try FileManager.default.contentsOfDirectory(atPath: packs) {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(packs)/\(pack)")))
            bytes[bytes.count / 3] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: "\(packs)/\(pack)"))
        }
        let damaged = try CofferProcess.run(["verify", "win-ade", "--recovery-point", point.id], state: state)
        #expect(damaged.status == 1)
        #expect(damaged.text.contains("MISMATCH"))
    }

    @Test func byteCountsTakeBinarySuffixes() async {
        #expect(ByteCount(argument: "4096")?.value == 4096)
        #expect(ByteCount(argument: "64K")?.value == 65536)
        #expect(ByteCount(argument: "1M")?.value == 1 << 20)
        #expect(ByteCount(argument: "2GiB")?.value == 2 << 30)
        #expect(ByteCount(argument: "12x") == nil)
        #expect(ByteCount(argument: "-1") == nil)
    }

    @Test func countsAreSingularForOne() async {
        #expect(PlatformCLI.count(1, "VM") == "1 VM")
        #expect(PlatformCLI.count(0, "key vault") == "0 key vaults")
        #expect(PlatformCLI.count(4, "VM") == "4 VMs")
    }

    @Test func theProgressLine() async {
        let line = ProgressBar.line(label: "backup vm", done: 3 << 20, total: 12 << 20, elapsed: 1.5, width: 10)
        #expect(line == "backup vm [##        ]  25%  3.0 MiB/12.0 MiB  2.0 MiB/s  5s left")
        #expect(ProgressBar.line(label: "x", done: 5, total: 5, elapsed: 1, width: 4).hasSuffix("done"))
        #expect(PlatformCLI.bytes(512) == "512 B")
        #expect(PlatformCLI.bytes(1536) == "1.5 KiB")
    }
}
