import MailKeepFuzzing
#if canImport(Glibc)
import Glibc
#endif

/// The target this process fuzzes, named by MAILKEEP_FUZZ_TARGET (scripts/fuzz sets it): one
/// executable for all targets, so the sanitizer build links once.
let target: FuzzTarget = {
    let name = getenv("MAILKEEP_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        let message = "mailkeep-fuzz: set MAILKEEP_FUZZ_TARGET to one of: \(known)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(64)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
