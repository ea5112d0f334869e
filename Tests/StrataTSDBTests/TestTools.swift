import StrataTestSupport
import Testing

/// An external tool's path. Missing locally: the test skips; under CI (bootstrap installs it): a failure.
func requiredTool(_ name: String) -> String? {
    if let p = Tools.which(name) { return p }
    if Tools.isCI { Issue.record("\(name) is not installed (scripts/bootstrap.sh installs it)") }
    return nil
}
