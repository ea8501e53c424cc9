import CofferManifest
import CofferModel
import CofferTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which files a load reads, in which order, and what it says when it cannot.
@Suite struct FileDiscoveryTests {
    static let vault = """
        apiVersion: coffer.dev/v1
        kind: RecoveryServicesVault
        metadata: {name: NAME}
        spec: {resourceGroup: rg, location: eastus}
        """

    func vault(_ name: String) -> String { Self.vault.replacingOccurrences(of: "NAME", with: name) }

    @Test func walksDirectoriesInPathOrderSkippingHiddenAndOtherFiles() throws {
        let directory = try TemporaryDirectory()
        try directory.write(vault("rsv-b"), to: "b/vaults.yaml")
        try directory.write(vault("rsv-a"), to: "a.yml")
        try directory.write(vault("rsv-c"), to: "b/deeper/c.YAML")
        try directory.write(vault("rsv-hidden"), to: ".hidden.yaml")
        try directory.write(vault("rsv-git"), to: ".git/objects.yaml")
        try directory.write("not yaml: [", to: "README.md")
        try directory.write("not: [yaml", to: "b/notes.txt")
        // A trailing slash is the same directory.
        let result = ManifestLoader().load(paths: [directory.path + "/"])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map { $0.rendered() })")
        #expect(result.files == [directory.path("a.yml"), directory.path("b/deeper/c.YAML"), directory.path("b/vaults.yaml")])
        #expect(result.state?.resources.map(\.address.name) == ["rsv-a", "rsv-b", "rsv-c"])
    }

    @Test func explicitFilesAreReadWhateverTheirNameAndOnlyOnce() throws {
        let directory = try TemporaryDirectory()
        let text = try directory.write(vault("rsv-a"), to: "vault.txt")
        let yaml = try directory.write(vault("rsv-b"), to: "d/vault.yaml")
        let result = ManifestLoader().load(paths: [yaml, text, directory.path("d")])
        #expect(result.diagnostics.isEmpty)
        #expect(result.files == [yaml, text].sorted())
    }

    @Test func followsLinksToFilesButNotToDirectories() throws {
        let directory = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        try outside.write(vault("rsv-linked"), to: "linked.yaml")
        try outside.write(vault("rsv-in-linked-dir"), to: "dir/x.yaml")
        try directory.write(vault("rsv-a"), to: "m/a.yaml")
        try FileManager.default.createSymbolicLink(atPath: directory.path("m/linked.yaml"), withDestinationPath: outside.path("linked.yaml"))
        try FileManager.default.createSymbolicLink(atPath: directory.path("m/loop"), withDestinationPath: directory.path("m"))
        try FileManager.default.createSymbolicLink(atPath: directory.path("m/dir"), withDestinationPath: outside.path("dir"))
        let result = ManifestLoader().load(paths: [directory.path("m")])
        #expect(result.diagnostics.isEmpty)
        #expect(result.state?.resources.map(\.address.name) == ["rsv-a", "rsv-linked"])
    }

    @Test func missingPathsAndEmptyDirectoriesAreErrors() throws {
        let missing = ManifestLoader().load(paths: ["/nonexistent/manifests"])
        #expect(missing.codes == ["path-not-found"])
        #expect(missing.state == nil)
        #expect(missing.diagnostics.first?.summary == "no such file or directory: /nonexistent/manifests")

        let directory = try TemporaryDirectory()
        try directory.write("# nothing", to: "notes.md")
        let empty = ManifestLoader().load(paths: [directory.path])
        #expect(empty.codes == ["no-manifests"])
        #expect(empty.state == nil)
    }

    @Test func aFileWithoutResourcesIsValidAndEmpty() throws {
        let result = load("# all commented out\n")
        #expect(result.diagnostics.isEmpty)
        #expect(result.state == DesiredState(resources: []))
    }

    @Test func specialFilesAreRefused() throws {
        let result = ManifestLoader().load(paths: ["/dev/null"])
        #expect(result.codes == ["not-a-regular-file"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "/dev/null", line: 1, column: 1))
    }

    @Test func aPipeIsRefusedWithoutWaitingForAWriter() throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.path("pipe.yaml")
        #expect(mkfifo(fifo, 0o600) == 0)
        try directory.write(vault("rsv-a"), to: "a.yaml")
        // Named explicitly: opened without blocking, then refused by its type.
        let explicit = ManifestLoader().load(paths: [fifo])
        #expect(explicit.codes == ["not-a-regular-file"])
        // Met in a walk: skipped.
        let walked = ManifestLoader().load(paths: [directory.path])
        #expect(walked.diagnostics.isEmpty)
        #expect(walked.files == [directory.path("a.yaml")])
    }

    @Test func totalSizeIsCappedOnDisk() throws {
        let directory = try TemporaryDirectory()
        for name in ["a", "b", "c"] { try directory.write(vault("rsv-\(name)"), to: "\(name).yaml") }
        let size = vault("rsv-a").utf8.count
        let result = ManifestLoader(limits: LoaderLimits(maxTotalBytes: 2 * size + 10)).load(paths: [directory.path])
        #expect(result.codes == ["total-too-large"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: directory.path("c.yaml"), line: 1, column: 1))
        #expect(result.files == [directory.path("a.yaml"), directory.path("b.yaml")])
    }

    #if os(Linux)
        @Test func readErrorsAreReported() throws {
            // A regular file that cannot be read from offset 0.
            let result = ManifestLoader().load(paths: ["/proc/self/mem"])
            #expect(result.codes == ["unreadable-file"])
            #expect(result.diagnostics.first?.location == SourceLocation(file: "/proc/self/mem", line: 1, column: 1))
        }
    #endif

    @Test func inMemoryFilesAreFilteredSortedAndDeduplicated() throws {
        let result = load([
            ("m/z.yaml", vault("rsv-z")), ("m/a.yml", vault("rsv-a")), ("m/.hidden/x.yaml", "{"), ("README.md", "{"),
            ("m/a.yml", "{"),
        ])
        #expect(result.diagnostics.isEmpty)
        #expect(result.files == ["m/a.yml", "m/z.yaml"])
        #expect(load([("README.md", "# hello")]).codes == ["no-manifests"])
    }
}
