import CofferGit
import CofferTestSupport
import Foundation
import Testing

@Suite struct NotesTests {
    @Test func aNoteIsAddedReadBackAndOverwritten() throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        #expect(try repository.note(for: "main") == nil)
        try repository.addNote(to: "main", message: "coffer: applied, 3 to add\n")
        #expect(try repository.note(for: "main") == "coffer: applied, 3 to add\n")
        #expect(try repository.note(for: fixture.commits[2], notesRef: "coffer") == "coffer: applied, 3 to add\n")
        #expect(try repository.note(for: fixture.commits[1]) == nil)
        #expect(try repository.note(for: "main", notesRef: "refs/notes/other") == nil)
        try repository.addNote(to: "main", message: "coffer: applied again\n")
        #expect(try repository.note(for: "main") == "coffer: applied again\n")
        try repository.addNote(to: fixture.commits[0], message: "first", notesRef: "coffer")
        #expect(try repository.note(for: fixture.commits[0]) == "first")
        #expect(try repository.note(for: "main") == "coffer: applied again\n")

        let bad = try #require(throws: GitError.self) {
            try repository.addNote(to: "main", message: "x", notesRef: "refs/heads/main")
        }
        #expect(bad.message.contains("not a notes ref"))
        #expect(throws: GitError.self) { try repository.addNote(to: "no-such-branch", message: "x") }
    }

    @Test(arguments: [false, true])
    func aMirrorsNoteReachesTheOriginAndKeepsOtherNotes(bareOrigin: Bool) throws {
        let fixture = try ManifestRepository(bare: bareOrigin)
        let origin = fixture.repository
        let cache = try TemporaryDirectory()
        let mirror = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)

        try mirror.addNote(to: "main", message: "coffer: applied main\n")
        // Read back with libgit2 from the origin itself, freshly opened.
        #expect(try GitRepository.open(at: fixture.path).note(for: fixture.commits[2]) == "coffer: applied main\n")
        #expect(try mirror.note(for: "main") == "coffer: applied main\n")

        // Someone else adds a note in the origin meanwhile; the mirror's next note must not lose it.
        try origin.addNote(to: fixture.commits[0], message: "by hand\n")
        try mirror.addNote(to: fixture.commits[1], message: "coffer: applied v1\n")
        try mirror.addNote(to: "main", message: "coffer: applied main again\n")
        let fresh = try GitRepository.open(at: fixture.path)
        #expect(try fresh.note(for: fixture.commits[0]) == "by hand\n")
        #expect(try fresh.note(for: fixture.commits[1]) == "coffer: applied v1\n")
        #expect(try fresh.note(for: fixture.commits[2]) == "coffer: applied main again\n")
        #expect(try mirror.note(for: fixture.commits[0]) == "by hand\n")

        // A clone made afterwards sees the notes too.
        let other = try GitRepository.openOrClone(fixture.path, cacheDirectory: cache.path, mode: .mirror)
        #expect(try other.note(for: "main") == "coffer: applied main again\n")
    }

    @Test func addingANoteLeavesTheOriginsWorkingTreeAndIndexUnchanged() throws {
        let fixture = try ManifestRepository()
        try fixture.repository.resetIndex(to: "main")
        try fixture.directory.write("kind: Edited\n", to: "origin/manifests/vaults/prod.yaml")
        let working = { () throws -> [String: String] in
            try snapshot(of: fixture.path).filter {
                !$0.key.hasPrefix(".git/") || $0.key == ".git/index" || $0.key == ".git/HEAD"
            }
        }
        let before = try working()
        let cache = try TemporaryDirectory()
        let mirror = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        try mirror.addNote(to: "main", message: "applied\n")
        try fixture.repository.addNote(to: "main~1", message: "applied\n")
        #expect(try working() == before)
    }

    /// The git command, when it is installed: only this test uses it, to check what people see.
    static let git = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(.enabled(if: git != nil, "the git command is not installed (libgit2 reads the note back above)"))
    func gitLogShowsTheNoteWhenTheGitCommandIsInstalled() throws {
        let fixture = try ManifestRepository()
        let cache = try TemporaryDirectory()
        let mirror = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        try mirror.addNote(to: "main", message: "coffer: applied at main\n")
        let git = try #require(Self.git)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: git)
        process.arguments = ["-C", fixture.path, "log", "--notes=coffer", "-1", "--format=%H%n%N", "main"]
        process.environment = ["HOME": cache.path, "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.hasPrefix(fixture.commits[2] + "\n"))
        #expect(text.contains("coffer: applied at main"))
    }
}
