//! CPU pinning of the whole process (every thread started afterwards inherits the set): the
//! one place a CPU-list flag (`--cpus`, `--server-cpus`, `--client-cpus`) is parsed and applied.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// A CPU-list flag that does not parse, named by the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {problem}")]
pub struct CpuListError {
    pub flag: String,
    pub problem: String,
}

/// Parses the CPU list given to `flag` (`--cpus 0-1`); the error names the flag.
pub fn parse_flag(flag: &str, list: &str) -> Result<Vec<usize>, CpuListError> {
    parse_cpu_list(list).map_err(|problem| CpuListError {
        flag: flag.to_owned(),
        problem,
    })
}

/// Pins this process to `cpus`, or warns that `what` runs unpinned (the system may refuse, in a
/// container for example: a measurement then still runs, and says so). Whether it is pinned.
pub fn pin_or_warn(cpus: &[usize], what: &str) -> bool {
    match pin_process(cpus) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{what} unpinned: {e}");
            false
        }
    }
}

/// Parses a CPU list such as `0`, `1,3` or `0-3`.
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parse = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad CPU number {v:?} in {s:?}"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse(a)?, parse(b)?);
                if a > b {
                    return Err(format!("bad CPU range {part:?}"));
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(parse(part)?),
        }
    }
    if cpus.is_empty() {
        return Err("empty CPU list".into());
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Pins this process to `cpus`. Call before starting any runtime threads.
pub fn pin_process(cpus: &[usize]) -> Result<(), String> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("sched_setaffinity({cpus:?}): {e}"))
}

/// The CPUs this process may run on.
pub fn current_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("1").unwrap(), vec![1]);
        assert_eq!(parse_cpu_list("0-2,5,1").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("x").is_err());
        assert!(parse_cpu_list("").is_err());
    }

    #[test]
    fn a_bad_flag_is_named() {
        assert_eq!(parse_flag("--cpus", "0-1").unwrap(), vec![0, 1]);
        let e = parse_flag("--server-cpus", "3-1").unwrap_err();
        assert_eq!(e.to_string(), "--server-cpus: bad CPU range \"3-1\"");
    }

    #[test]
    fn pinning_to_the_current_set_succeeds() {
        // Pinning to what this thread may already use changes nothing and cannot be refused.
        let cpus = current_cpus();
        assert!(!cpus.is_empty());
        assert!(pin_or_warn(&cpus, "the test"));
        assert_eq!(current_cpus(), cpus);
    }
}
