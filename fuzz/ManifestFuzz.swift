// A libFuzzer target for the manifest loader: any bytes must give a result (never a crash, a hang or a
// sanitizer report) and the result must keep the loader's contract. Built and run by
// scripts/fuzz-manifests.sh, not by `swift build`.
import CofferManifest
import CofferModel

/// Smaller limits than the defaults, so that each input runs fast and libFuzzer explores more of them.
private let loader = ManifestLoader(
    limits: LoaderLimits(maxFileBytes: 1 << 20, maxTotalBytes: 2 << 20, maxDepth: 64, maxDocuments: 1_000,
        maxNodes: 100_000, maxDiagnostics: 200))

private let codes = Set(ManifestCode.allCases.map(\.rawValue))

private func check(_ result: ManifestLoadResult, files: [String]) {
    // The desired state exists exactly when no error was found.
    precondition((result.state == nil) == result.diagnostics.contains { $0.severity == .error })
    for diagnostic in result.diagnostics {
        precondition(codes.contains(diagnostic.code), "unknown code \(diagnostic.code)")
        precondition(!diagnostic.summary.isEmpty && !diagnostic.summary.contains("\n"))
        if let location = diagnostic.location {
            precondition(files.contains(location.file), "diagnostic outside the input: \(location)")
            precondition(location.line >= 1 && location.column >= 1, "position \(location)")
        }
        if let line = diagnostic.sourceLine {
            precondition(!line.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" }, "control character in a snippet")
        }
    }
    if let state = result.state {
        // Addresses are unique and sorted.
        let addresses = state.resources.map(\.address)
        precondition(addresses == addresses.sorted() && Set(addresses).count == addresses.count)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifestLoader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    check(loader.load(files: [(path: "fuzz.yaml", contents: bytes)]), files: ["fuzz.yaml"])

    // The same bytes as two files, split at the first '~' line, to reach the rules between files.
    if let split = bytes.firstIndex(of: UInt8(ascii: "~")) {
        let files = [(path: "a.yaml", contents: Array(bytes[..<split])), (path: "b.yml", contents: Array(bytes[(split + 1)...]))]
        check(loader.load(files: files), files: ["a.yaml", "b.yml"])
    }
    return 0
}
