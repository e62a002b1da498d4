#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors that stop a tool, typed by what went wrong. Each names the file and, where it makes
/// sense, the byte offset; `description` is the `FILE: offset N: what` part of the one
/// diagnostic format (see `DiagnosticFormat`), and `exitStatus` is the one mapping to exit codes.
public enum MailKeepError: Error, CustomStringConvertible, Equatable {
    /// A system call failed: the path, what was being done, and errno.
    case io(path: String, operation: String, errno: Int32)
    /// The input is not what it claims to be, at this offset.
    case malformed(path: String, offset: Int64?, reason: String)
    /// The input's format is not one mailkeep reads (or not one it can recognise).
    case unrecognized(path: String, reason: String)
    /// An archive entry that must not be extracted: `..`, an absolute path, a link, a device,
    /// a size out of range.
    case unsafeEntry(path: String, offset: Int64?, reason: String)
    /// Writing would overwrite or escape something it must not.
    case refused(path: String, reason: String)
    /// A value given on the command line cannot be used (found only once the work began, such
    /// as a regular expression the C library rejects).
    case invalidArgument(reason: String)

    public var description: String {
        guard let file else { return reason }
        return "\(DiagnosticFormat.location(file, offset: offset)): \(reason)"
    }

    /// The file the error is about; nil for a value from the command line.
    public var file: String? {
        switch self {
        case let .io(path, _, _), let .malformed(path, _, _), let .unsafeEntry(path, _, _),
             let .unrecognized(path, _), let .refused(path, _):
            return path
        case .invalidArgument:
            return nil
        }
    }

    /// Where in `file` it went wrong, when that is known.
    public var offset: Int64? {
        switch self {
        case let .malformed(_, offset, _), let .unsafeEntry(_, offset, _): return offset
        default: return nil
        }
    }

    /// What went wrong, without the file and offset.
    public var reason: String {
        switch self {
        case let .io(_, operation, code):
            return "\(operation): \(String(cString: strerror(code)))"
        case let .malformed(_, _, reason), let .unsafeEntry(_, _, reason), let .unrecognized(_, reason),
             let .refused(_, reason), let .invalidArgument(reason):
            return reason
        }
    }

    /// True for input found damaged or not what it claims (not an I/O error, not a usage error).
    public var isDamage: Bool {
        switch self {
        case .malformed, .unrecognized, .unsafeEntry: return true
        case .io, .refused, .invalidArgument: return false
        }
    }

    /// 64 for a bad command line, 2 for everything else that stops a run (I/O errors and
    /// input that cannot be read on).
    public var exitStatus: Int32 {
        if case .invalidArgument = self { return ExitStatus.usage }
        return ExitStatus.failure
    }
}

/// An error that says which exit status it stands for, so that errors of any layer are mapped
/// in one place (`Console.fail`): a backup chain refused because a link is not the bundle it
/// names is a finding (1), a link that was not given is unreadable input (2).
public protocol ExitStatusError: Error, CustomStringConvertible {
    var exitStatus: Int32 { get }
}

extension MailKeepError: ExitStatusError {}

/// The current errno as a typed error for `path`.
@inline(__always)
package func ioError(_ path: String, _ operation: String) -> MailKeepError {
    .io(path: path, operation: operation, errno: errno)
}
