import ArgumentParser
import CofferModel
import Foundation

/// Runs coffer with `arguments` (without the program name) and returns the process exit code, printing
/// errors in coffer's `error[CODE]: message` form.
public func runCoffer(_ arguments: [String]) async -> Int32 {
    do {
        var command = try CofferCommand.parseAsRoot(arguments)
        if var command = command as? any AsyncParsableCommand {
            try await command.run()
        } else {
            try command.run()
        }
        return CofferExitCode.success.rawValue
    } catch {
        let status = ExitStatus.code(for: error)
        switch error {
        case let error as CLIError:
            Console.current.printError(error.description)
        case let error as any CofferError:
            // An error from the layers below that no command wrapped: printed like the wrapped ones.
            Console.current.printError(CLIError.from(error).description)
        case is ExitCode:
            // The command printed what it had to say.
            break
        default:
            // argument-parser's message: usage errors with their help, --help and --version on standard output.
            let message = CofferCommand.fullMessage(for: error)
            if status == CofferExitCode.success.rawValue {
                Console.current.print(message)
            } else {
                Console.current.printError(message)
            }
        }
        return status
    }
}
