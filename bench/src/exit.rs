//! The exit codes of `rpcbench`'s commands, defined once. 0 is success, 1 an error (anyhow at
//! the binary's edge; `compare`: a regression, from its verdict), 2 also clap's usage errors.

/// `compare`, `merge`: inputs that cannot be used (missing, corrupt, another schema version,
/// mismatched configurations or workloads, too few replicates, windows that do not overlap).
pub const UNUSABLE: u8 = 2;
/// `load`, `run`: stopped early (interrupted, the server gone, a failed point, a count-bounded
/// load past its deadline); partial results are written and marked incomplete.
pub const INCOMPLETE: u8 = 3;
/// `load`: ran to its end but measured nothing usable — no request completed, or too many timed
/// out ([`rpcbench_reports::LoadSummary::invalid_reason`]). Results are still written.
pub const INVALID: u8 = 4;

#[cfg(test)]
mod tests {
    /// Every code says one thing: none is success, the generic error, or another's code.
    #[test]
    fn codes_are_distinct_and_not_success_or_error() {
        let codes = [super::UNUSABLE, super::INCOMPLETE, super::INVALID];
        for (i, c) in codes.iter().enumerate() {
            assert!(*c > 1, "{c}");
            assert!(!codes[i + 1..].contains(c), "{c} twice");
        }
    }
}
