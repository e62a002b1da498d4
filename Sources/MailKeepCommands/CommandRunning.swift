import ArgumentParser
import MailKeepIO

/// A mailkeep tool: its work runs against a `Console`, so the same command runs as a process
/// (`main()`) and in-process in tests (`runInProcess`), with one error policy for both.
public protocol MailKeepCommand: ParsableCommand {
    /// Does the work and returns the exit status. Errors thrown here are printed and mapped to
    /// exit codes in one place, `Console.fail`.
    func execute(on console: Console) throws -> Int32
}

extension MailKeepCommand {
    public static var toolName: String { configuration.commandName ?? "mailkeep" }

    public func run() throws {
        let console = Console.standard(tool: Self.toolName)
        let status = Self.perform(self, on: console)
        if status != ExitStatus.ok { throw ExitCode(status) }
    }

    package static func perform(_ command: Self, on console: Console) -> Int32 {
        let status: Int32
        do {
            status = try command.execute(on: console)
        } catch {
            status = console.fail(error)
        }
        do {
            try console.standardOutput.flush()
        } catch {
            return console.fail(error)
        }
        return status
    }

    /// Parses `arguments` and runs the command as `main()` would, writing to `console`;
    /// returns the exit status. Usage errors and `--help` print what the process would print.
    public static func runInProcess(_ arguments: [String], on console: Console) -> Int32 {
        let command: Self
        do {
            command = try parse(arguments)
        } catch {
            let code = exitCode(for: error).rawValue
            let text = fullMessage(for: error)
            if !text.isEmpty {
                try? (code == 0 ? console.standardOutput : console.standardError).write(text + "\n")
            }
            try? console.standardOutput.flush()
            return code
        }
        return perform(command, on: console)
    }
}
