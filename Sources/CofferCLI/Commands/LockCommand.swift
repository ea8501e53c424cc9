import ArgumentParser
import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct LockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Show or break the state lock that keeps two applies apart.",
        discussion: """
            The lock is the state directory's (a file lock of the kernel) or, with --state-backend, the \
            database's (an advisory lock of the holder's session).

            Examples:
              coffer lock show
              coffer lock release --force --state-backend postgres://coffer@db.internal:5432/coffer
            """,
        subcommands: [LockShowCommand.self, LockReleaseCommand.self])
}

struct LockShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Say who holds the state lock: operation, pid, host and since when.",
        discussion: """
            Exits 0 whether the lock is held or free; the text or JSON says which.

            Examples:
              coffer lock show
              coffer lock show --state-backend postgres://coffer@db.internal:5432/coffer --output json
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var backendOptions: StateBackendOptions
    @Option(help: OutputFormat.help("{held, holder: {operation, pid, host, since}, location}.")) var output: OutputFormat = .text

    func run() throws {
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        let status = try backendOptions.withBackend { backend in
            try CLIError.presenting { try (backend ?? FileStateBackend(stateDirectory: state)).lockStatus() }
        }
        switch output {
        case .json:
            try JSONOutput.print(LockDocument(held: status.holder != nil, holder: status.holder, location: status.location))
        case .text:
            if let holder = status.holder {
                Console.current.print("locked by \(holder) in \(status.location)")
            } else {
                Console.current.print("not locked (\(status.location))")
            }
        }
    }
}

struct LockDocument: Encodable {
    var held: Bool
    var holder: LockOwner?
    var location: String
}

struct LockReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Break a state lock held in a shared state backend (asks for confirmation).",
        discussion: """
            For the stuck-lock case: a holder whose machine is gone but whose database session lingers. With \
            PostgreSQL the holder's session is ended on the server: the lock goes, and the holder, if it still \
            runs, writes nothing more (its next write fails and it stops; its journal lets the next apply \
            continue). A lock of the state directory's files belongs to a live process and cannot be broken: \
            stop that process instead (the kernel releases its lock even on kill -9). Asks you to type the \
            holder's pid unless --yes is given.

            Examples:
              coffer lock release --force --state-backend postgres://coffer@db.internal:5432/coffer
              coffer lock release --force --yes --state-backend postgres://coffer@db.internal:5432/coffer
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var backendOptions: StateBackendOptions
    @Flag(help: "Break the lock even though a process holds it (required).") var force = false
    @Flag(help: "Do not ask for confirmation (needed without a terminal).") var yes = false

    func validate() throws {
        if !force { throw ValidationError("breaking a lock needs --force: another coffer may be applying") }
    }

    func run() throws {
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        try backendOptions.withBackend { backend in
            let backend = backend ?? FileStateBackend(stateDirectory: state)
            guard let holder = try CLIError.presenting({ try backend.lockStatus().holder }) else {
                Console.current.print("not locked (\(backend.location)): nothing to release")
                return
            }
            if !yes {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CLIError(
                        code: "confirmation-required", message: "breaking the lock held by \(holder) needs confirmation and there is no terminal to ask",
                        hint: "run it on a terminal, or add --yes once you are sure the holder is gone", exitCode: .usage)
                }
                Console.current.write("The lock is held by \(holder).\nBreaking it stops that apply at its next write.\n  Type the holder's pid (\(holder.pid)) to confirm: ")
                guard readLine()?.trimmingCharacters(in: .whitespaces) == String(holder.pid) else {
                    throw CLIError(code: "release-cancelled", message: "lock release cancelled", hint: nil, exitCode: .failure)
                }
            }
            let released = try CLIError.presenting { try backend.forceReleaseLock() }
            Console.current.print("released the lock held by \(released ?? holder) in \(backend.location)")
        }
    }
}

extension CLIError {
    /// Runs `body`, presenting an error from the layers below as a `CLIError`.
    static func presenting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CLIError.from(error)
        }
    }
}
