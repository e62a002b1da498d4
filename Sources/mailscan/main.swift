import ArgumentParser
import MailKeep

@main
struct Tool: ParsableCommand {
    func run() throws {}
}
