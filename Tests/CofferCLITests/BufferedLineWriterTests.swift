@testable import CofferCLI
import CofferTestSupport
import Foundation
import Testing

@Suite struct BufferedLineWriterTests {
    @Test func everyLineOnceInOrderFromManyThreadsAndNothingLeftAfterClose() async throws {
        let written = LockedBox(Data())
        let batches = LockedBox(0)
        let writer = BufferedLineWriter { data in
            written.value.append(data)
            batches.value += 1
        }
        let threads = 4
        let perThread = 5000
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<threads {
                group.addTask {
                    for index in 0..<perThread { writer.write("t\(thread) \(index)") }
                }
            }
        }
        writer.close()
        let lines = String(decoding: written.value, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "", "the output ends with a newline")
        let body = lines.dropLast()
        #expect(body.count == threads * perThread)
        // Each writer's lines in the order it wrote them.
        for thread in 0..<threads {
            let mine = body.filter { $0.hasPrefix("t\(thread) ") }.map { Int($0.split(separator: " ")[1])! }
            #expect(mine == Array(0..<perThread))
        }
        #expect(batches.value >= 1 && batches.value <= threads * perThread)
        // After close, a line is written at once.
        writer.write("late")
        #expect(String(decoding: written.value, as: UTF8.self).hasSuffix("late\n"))
    }

    @Test func aLineWrittenToAnIdleWriterLeavesWithoutAFlush() async throws {
        let written = LockedBox([String]())
        let writer = BufferedLineWriter { data in written.value.append(String(decoding: data, as: UTF8.self)) }
        for line in ["first", "second"] {
            writer.write(line)
            // The writer's thread is woken by the line alone: no flush, no close.
            for _ in 0..<500 where !written.value.joined().contains(line) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(written.value.joined().contains(line + "\n"), "\(line) was not written")
        }
        writer.close()
    }

    @Test func flushWaitsForTheLinesWrittenBefore() {
        let written = LockedBox([String]())
        let writer = BufferedLineWriter { data in
            Thread.sleep(forTimeInterval: 0.01)
            written.value.append(String(decoding: data, as: UTF8.self))
        }
        writer.write("one")
        writer.write("two")
        writer.flush()
        #expect(written.value.joined() == "one\ntwo\n")
        writer.close()
    }
}
