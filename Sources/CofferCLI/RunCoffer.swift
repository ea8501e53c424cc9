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
    } catch let error as CLIError {
        FileHandle.standardError.write(Data((error.description + "\n").utf8))
        return error.exitCode.rawValue
    } catch let exit as ExitCode {
        return exit.rawValue
    } catch {
        let code = CofferCommand.exitCode(for: error)
        if code == .validationFailure {
            // Usage errors keep argument-parser's message and help, with the contract's exit code 64.
            FileHandle.standardError.write(Data((CofferCommand.fullMessage(for: error) + "\n").utf8))
            return CofferExitCode.usage.rawValue
        }
        let message = CofferCommand.fullMessage(for: error)
        if code == .success {
            // --help and --version.
            print(message)
            return CofferExitCode.success.rawValue
        }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return code.rawValue
    }
}
