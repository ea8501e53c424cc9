import Foundation

extension Array where Element: Sendable {
    /// `map` on every core when the array is long enough to be worth it: the elements are cut into one
    /// contiguous run per core, each run mapped by a child task of a task group, and the results keep their
    /// order; the first error by index is thrown. `transform` runs on several threads at once, so it must
    /// only read shared state.
    func parallelMap<Mapped: Sendable>(
        minimumPerLane: Int = 512, _ transform: @escaping @Sendable (Element) throws -> Mapped
    ) async throws -> [Mapped] {
        let lanes = Swift.min(ProcessInfo.processInfo.activeProcessorCount, 8, count / Swift.max(1, minimumPerLane))
        guard lanes > 1 else { return try map(transform) }
        let chunk = (count + lanes - 1) / lanes
        let elements = self
        return try await withThrowingTaskGroup(of: (Int, [Result<Mapped, any Error>]).self) { group in
            for lane in 0..<lanes {
                let range = lane * chunk..<Swift.min(elements.count, (lane + 1) * chunk)
                guard !range.isEmpty else { continue }
                group.addTask { (lane, range.map { index in Result { try transform(elements[index]) } }) }
            }
            var runs = [[Result<Mapped, any Error>]](repeating: [], count: lanes)
            for try await (lane, run) in group { runs[lane] = run }
            return try runs.joined().map { try $0.get() }
        }
    }
}
