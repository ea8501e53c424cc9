import CofferGit
import Foundation

/// Usage, printed on a wrong command line.
let usage = """
    usage: coffer-git-bench generate REPO [--files N]
               writes a repository at REPO (which must not exist) holding N YAML manifests of about 1 KiB in
               nested folders under manifests/ (default 10000), in one commit on main; prints the commit id
           coffer-git-bench read REPO REV [--under FOLDER] [--runs N]
               reads every file under FOLDER (default manifests) at REV, N times (default 1); prints
               files=… bytes=… and the seconds of each read and their median
    """

/// A failure that ends the run with a message on standard error.
struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// The value after `flag` in `arguments`, or `fallback`.
func option(_ flag: String, in arguments: [String], default fallback: String) throws -> String {
    guard let index = arguments.firstIndex(of: flag) else { return fallback }
    guard index + 1 < arguments.count else { throw BenchError(description: "\(flag) needs a value\n\(usage)") }
    return arguments[index + 1]
}

/// A positive count from an option.
func count(_ flag: String, in arguments: [String], default fallback: Int) throws -> Int {
    let text = try option(flag, in: arguments, default: String(fallback))
    guard let value = Int(text), value > 0 else { throw BenchError(description: "\(flag) needs a positive number") }
    return value
}

/// A small deterministic generator (SplitMix64), so that every run writes the same repository.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// One ProtectedVM manifest of about 1 KiB, different for every index.
func manifest(_ index: Int, team: String, environment: String, random: inout SplitMix64) -> String {
    let regions = ["eastus", "westeurope", "northeurope", "southeastasia", "westus2"]
    let sizes = ["Standard_D2s_v5", "Standard_D4s_v5", "Standard_E8s_v5", "Standard_B2ms"]
    let region = regions[random.below(regions.count)]
    var text = """
        # Generated for the CofferGit benchmark: VM \(index) of team \(team) in \(environment).
        apiVersion: coffer.dev/v1
        kind: ProtectedVM
        metadata:
          name: vm-\(team)-\(environment)-\(String(format: "%05d", index))
          labels:
            team: \(team)
            environment: \(environment)
            cost-center: cc-\(1000 + random.below(9000))
            owner: owner-\(random.below(500))@example.com
        spec:
          vault: rsv-\(environment)-\(region)
          policy: daily-\(random.below(4) == 0 ? "30d" : "7d")
          vm:
            subscription: 00000000-0000-0000-0000-\(String(format: "%012d", random.below(1_000_000)))
            resourceGroup: rg-\(team)-\(environment)
            name: vm-\(String(format: "%05d", index))
            size: \(sizes[random.below(sizes.count)])
            region: \(region)
          encryption:
            type: ade
            keyVault: kv-\(team)-\(environment)
            keyEncryptionKey: kek-\(random.below(100))
          disks:

        """
    var lun = 0
    while text.utf8.count < 980 {
        text += "    - lun: \(lun)\n      sizeGiB: \(32 << random.below(6))\n      include: \(random.below(5) != 0)\n"
        lun += 1
    }
    return text
}

/// Writes the benchmark repository and returns its commit id.
func generate(at path: String, files total: Int) throws -> String {
    guard !FileManager.default.fileExists(atPath: path) else {
        throw BenchError(description: "'\(path)' exists already: remove it or give another path")
    }
    let teams = (0..<20).map { String(format: "team-%02d", $0) }
    let environments = ["prod", "staging", "test", "dev", "dr"]
    var random = SplitMix64(state: 42)
    var files: [String: Data] = ["README.md": Data("# Benchmark manifests\n".utf8)]
    for index in 0..<total {
        let team = teams[index % teams.count]
        let environment = environments[(index / teams.count) % environments.count]
        let group = String(format: "group-%02d", index / (teams.count * environments.count) % 10)
        let path = "manifests/\(team)/\(environment)/\(group)/vm-\(String(format: "%05d", index)).yaml"
        files[path] = Data(manifest(index, team: team, environment: environment, random: &random).utf8)
    }
    let repository = try GitRepository.create(at: path)
    try repository.setHead(branch: "main")
    return try repository.commit(
        files: files, message: "Benchmark manifests", time: Date(timeIntervalSince1970: 1_700_000_000))
}

/// Reads every file under `folder` at `revision` `runs` times, printing what was read and how long it took.
func read(at path: String, revision: String, folder: String, runs: Int) throws {
    let repository = try GitRepository.open(at: path)
    var seconds: [Double] = []
    var summary = ""
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        let files = try repository.files(at: revision, under: folder)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        seconds.append(elapsed)
        summary = "files=\(files.count) bytes=\(files.reduce(0) { $0 + $1.contents.count })"
    }
    let median = seconds.sorted()[seconds.count / 2]
    print(summary)
    print("seconds=" + seconds.map { String(format: "%.4f", $0) }.joined(separator: ","))
    print("median=" + String(format: "%.4f", median))
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "generate" where arguments.count >= 2:
        print(try generate(at: arguments[1], files: try count("--files", in: arguments, default: 10_000)))
    case "read" where arguments.count >= 3:
        try read(
            at: arguments[1], revision: arguments[2],
            folder: try option("--under", in: arguments, default: "manifests"),
            runs: try count("--runs", in: arguments, default: 1))
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("coffer-git-bench: \(error)\n".utf8))
    exit(1)
}
