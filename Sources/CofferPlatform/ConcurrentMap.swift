import Dispatch
import Foundation

extension Array {
    /// `map` on every core when the array is long enough to be worth it: the elements are cut into one
    /// contiguous run per core, the results keep their order, and the first error by index is thrown.
    /// `transform` runs on several threads at once, so it must only read shared state.
    func concurrentMap<Mapped>(minimumPerLane: Int = 512, _ transform: (Element) throws -> Mapped) throws -> [Mapped] {
        let lanes = Swift.min(ProcessInfo.processInfo.activeProcessorCount, 8, count / Swift.max(1, minimumPerLane))
        guard lanes > 1 else { return try map(transform) }
        let results = UnsafeMutablePointer<Result<Mapped, any Error>>.allocate(capacity: count)
        defer {
            results.deinitialize(count: count)
            results.deallocate()
        }
        let chunk = (count + lanes - 1) / lanes
        withoutActuallyEscaping(transform) { transform in
            withUnsafeBufferPointer { elements in
                let work = LaneWork(elements: elements, results: results, transform: transform)
                DispatchQueue.concurrentPerform(iterations: lanes) { lane in
                    work.run(from: lane * chunk, to: Swift.min(work.elements.count, (lane + 1) * chunk))
                }
            }
        }
        return try (0..<count).map { try results[$0].get() }
    }
}

/// What the lanes of `concurrentMap` share: each initialises its own run of result slots, and no two
/// lanes touch the same one, so the unchecked sendability holds.
private final class LaneWork<Element, Mapped>: @unchecked Sendable {
    let elements: UnsafeBufferPointer<Element>
    let results: UnsafeMutablePointer<Result<Mapped, any Error>>
    let transform: (Element) throws -> Mapped

    init(elements: UnsafeBufferPointer<Element>, results: UnsafeMutablePointer<Result<Mapped, any Error>>,
         transform: @escaping (Element) throws -> Mapped) {
        self.elements = elements
        self.results = results
        self.transform = transform
    }

    func run(from start: Int, to end: Int) {
        guard start < end else { return }
        for index in start..<end {
            (results + index).initialize(to: Result { try transform(elements[index]) })
        }
    }
}
