#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors that stop a tool. Each names the file and, where it makes sense, the byte offset.
public enum MailKeepError: Error, CustomStringConvertible, Equatable {
    /// A system call failed: the path, what was being done, and errno.
    case io(path: String, operation: String, errno: Int32)
    /// The input is not what it claims to be, at this offset.
    case malformed(path: String, offset: Int64?, reason: String)
    /// The input's kind could not be recognised.
    case unrecognized(path: String, reason: String)
    /// Writing would overwrite or escape something it must not.
    case refused(path: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, operation, code):
            return "\(path): \(operation): \(String(cString: strerror(code)))"
        case let .malformed(path, offset?, reason):
            return "\(path): offset \(offset): \(reason)"
        case let .malformed(path, nil, reason):
            return "\(path): \(reason)"
        case let .unrecognized(path, reason):
            return "\(path): \(reason)"
        case let .refused(path, reason):
            return "\(path): \(reason)"
        }
    }
}

/// The current errno as a typed error for `path`.
@inline(__always)
func ioError(_ path: String, _ operation: String) -> MailKeepError {
    .io(path: path, operation: operation, errno: errno)
}
