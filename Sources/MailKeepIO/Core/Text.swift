/// Text helpers that need no Foundation.
extension String {
    /// Every occurrence of `target` replaced.
    package func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: Substring(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
