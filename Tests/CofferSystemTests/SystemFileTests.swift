import CofferSystem
import CofferTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct SystemFileTests {
    @Test func writeAtomicallyReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("state.json")
        var steps: [String] = []
        try FileSystem.writeAtomically(Array("old".utf8), to: path)
        try FileSystem.writeAtomically(parts: [Array("ne".utf8), Array("w".utf8)], to: path) { steps.append($0) }
        #expect(steps == ["write", "sync", "rename", "sync-directory"])
        #expect(try SystemFile.open(path, flags: O_RDONLY).readAll() == Array("new".utf8))
        #expect(try FileSystem.list(directory.path) == ["state.json"])
    }

    @Test func aCrashBeforeTheRenameLeavesTheOldFileAndATemporaryOne() throws {
        struct Crash: Error {}
        let directory = try TemporaryDirectory()
        let path = directory.path("state.json")
        try FileSystem.writeAtomically(Array("old".utf8), to: path)
        #expect(throws: Crash.self) {
            try FileSystem.writeAtomically(Array("new".utf8), to: path) { if $0 == "sync" { throw Crash() } }
        }
        #expect(try SystemFile.open(path, flags: O_RDONLY).readAll() == Array("old".utf8))
        let leftovers = try FileSystem.list(directory.path).filter(FileSystem.isTemporary)
        #expect(leftovers.count == 1 && leftovers[0].hasPrefix(".state.json.tmp-"))
    }

    @Test func appendLineCutsATornLastLineOffFirst() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("history.jsonl")
        try FileSystem.appendLine(Array("one".utf8), to: path)
        // A crash in the middle of the next append.
        let file = try SystemFile.open(path, flags: O_RDWR)
        try file.write(Array("tw".utf8), at: try file.size())
        try FileSystem.appendLine(Array("three".utf8), to: path)
        #expect(try file.readAll() == Array("one\nthree\n".utf8))
        // A torn first line, with no newline before it at all.
        try file.truncate(to: 0)
        try file.write(Array("partial".utf8), at: 0)
        try FileSystem.appendLine(Array("four".utf8), to: path)
        #expect(try file.readAll() == Array("four\n".utf8))
    }

    @Test func errorsCarryTheirCodePathAndSystemCall() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path("missing/file")
        let notFound = try #require(throws: SystemError.self) { _ = try SystemFile.open(missing, flags: O_RDONLY) }
        #expect(notFound.code == .notFound && notFound.path == missing)
        #expect(notFound.systemCall == SystemCallError(function: "open", errno: ENOENT))

        let path = directory.path("file")
        try FileSystem.writeAtomically(Array("abc".utf8), to: path)
        let exists = try #require(throws: SystemError.self) { _ = try SystemFile.open(path, flags: O_RDWR | O_CREAT | O_EXCL) }
        #expect(exists.code == .alreadyExists)
        let directoryExists = try #require(throws: SystemError.self) { try FileSystem.makeDirectory(directory.path) }
        #expect(directoryExists.code == .alreadyExists)

        let short = try #require(throws: SystemError.self) { _ = try SystemFile.open(path, flags: O_RDONLY).read(count: 4, at: 0) }
        #expect(short.code == .corrupted)
        #expect(short.message.contains("ends early"))
    }

    @Test func anExclusiveLockExcludesAnotherOpenFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("lock")
        let first = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        let second = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        #expect(try first.lock(exclusive: true, wait: false))
        #expect(try !second.lock(exclusive: true, wait: false))
        #expect(try !second.lock(exclusive: false, wait: false))
        first.unlock()
        #expect(try second.lock(exclusive: true, wait: false))
    }
}
