import CofferGit
import CofferTestSupport
import Foundation
import Testing

@Suite struct ConcurrencyTests {
    @Test func oneRepositorySharedByManyTasksGivesTheSameAnswersAsOneTask() async throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        let expected = try repository.files(at: "main", under: "manifests")
        let expectedLog = try repository.log(from: "main", limit: 10)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<16 {
                group.addTask {
                    for round in 0..<20 {
                        let commit = fixture.commits[(task + round) % 3]
                        #expect(try repository.resolve(commit) == commit)
                        guard try repository.files(at: "main", under: "manifests") == expected else { return false }
                        guard try repository.log(from: "main", limit: 10) == expectedLog else { return false }
                        // Errors are read on the thread that made the failing call, inside the lock.
                        let error = try #require(throws: GitError.self) { try repository.resolve("missing-\(task)") }
                        guard error.message.contains("missing-\(task)") else { return false }
                    }
                    return true
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }

    @Test func oneRepositoryPerTaskReadsInParallel() async throws {
        let fixture = try ManifestRepository()
        let expected = try fixture.repository.files(at: "main", under: nil)
        let path = fixture.path
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let own = try GitRepository.open(at: path)
                    var read = 0
                    for _ in 0..<20 where try own.files(at: "main", under: nil) == expected { read += 1 }
                    return read
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(counts == 8 * 20)
    }
}
