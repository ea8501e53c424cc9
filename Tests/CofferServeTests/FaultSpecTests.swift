import CofferServe
import Testing

/// `coffer serve --faults SPEC`: what the spec reads, and what it refuses.
@Suite struct FaultSpecTests {
    @Test func readsEveryKey() throws {
        let spec = try FaultSpec.parse("seed=7, 429=0.1,500=5%,503=0.05,drop=0.02,drop-after=0.1,slow=1,slow-ms=20,retry-after=2,kill-after=30,only=writes")
        #expect(spec.seed == 7)
        #expect(spec.throttled == 0.1)
        #expect(spec.internalError == 0.05)
        #expect(spec.unavailable == 0.05)
        #expect(spec.dropBefore == 0.02)
        #expect(spec.dropAfter == 0.1)
        #expect(spec.slow == 1)
        #expect(spec.slowMilliseconds == 20)
        #expect(spec.retryAfter == 2)
        #expect(spec.killAfter == 30)
        #expect(spec.writesOnly)
        #expect(!spec.isEmpty)
        #expect(try FaultSpec.parse("seed=3").isEmpty)
    }

    @Test(arguments: ["429", "429=2", "500=-0.1", "503=abc", "drop=50%,drop-after=60%", "kill-after=0", "only=reads", "teapot=1", "seed=-1", "slow-ms=x"])
    func refusesAWrongSpec(_ text: String) {
        #expect(throws: ServeError.self) { try FaultSpec.parse(text) }
        do {
            _ = try FaultSpec.parse(text)
        } catch {
            #expect(error.code == .invalidFaults)
            #expect(error.hint?.contains("kill-after=N") == true)
        }
    }
}
