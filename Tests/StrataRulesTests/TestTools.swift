import StrataTestSupport
import Testing

/// The oracle's path; a missing one is a failure under CI and a printed skip elsewhere.
func requiredTool(_ name: String) -> String? {
    if let p = Tools.which(name) { return p }
    if Tools.isCI { Issue.record("\(name) is not installed (scripts/bootstrap.sh installs it)") } else { print("skipped: \(name) is not installed") }
    return nil
}
