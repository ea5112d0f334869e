import Foundation

/// libFuzzer entry points. One executable serves every harness; `STRATA_FUZZ_HARNESS` names the
/// one to run (see `Harness.all`), and `STRATA_FUZZ_WRITE_SEEDS=<dir>` writes the seed corpus
/// (Fuzz/Corpus) with the project's own writers instead of fuzzing. Built and run by `make fuzz`;
/// docs/fuzzing.md has the recipe.

nonisolated(unsafe) private var selected: Harness?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    if let dir = environment("STRATA_FUZZ_WRITE_SEEDS") {
        do { try Seeds.write(to: dir) } catch {
            printError("writing seeds: \(error)")
            exit(1)
        }
        exit(0)
    }
    let names = Harness.all.map(\.name).joined(separator: ", ")
    guard let name = environment("STRATA_FUZZ_HARNESS") else {
        printError("set STRATA_FUZZ_HARNESS to one of: \(names)")
        exit(2)
    }
    guard let h = Harness.all.first(where: { $0.name == name }) else {
        printError("unknown harness \(name); one of: \(names)")
        exit(2)
    }
    selected = h
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selected!.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

func environment(_ name: String) -> String? {
    guard let v = getenv(name) else { return nil }
    let s = String(cString: v)
    return s.isEmpty ? nil : s
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
