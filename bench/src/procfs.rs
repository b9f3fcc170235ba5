//! Per-process accounting: CPU time at nanosecond resolution and peak RSS.
//!
//! CPU time comes from the kernel's scheduler clock (`sum_exec_runtime`, in nanoseconds), never
//! from `/proc/PID/stat`'s utime/stime, which are counted in 10 ms ticks: at 44 req/s a 2 s point
//! holds 88 requests, and ticks would quantise the server's CPU per request to multiples of
//! ~114 µs. Sources, in order:
//!
//! 1. the process's CPU-time clock (`clock_getcpuclockid` + `clock_gettime`): every thread,
//!    including threads that already exited;
//! 2. the sum of the first field of `/proc/PID/task/*/schedstat` (live threads only);
//! 3. ticks from `/proc/PID/stat`, only if neither is available (flagged by [`CpuClock`]).

use nix::time::{ClockId, clock_getcpuclockid, clock_gettime};
use nix::unistd::Pid;

/// Where a CPU-time reading came from (and so its resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuClock {
    /// The kernel's per-process CPU clock, nanoseconds.
    ProcessClock,
    /// Sum of per-thread `schedstat` run times, nanoseconds.
    Schedstat,
    /// utime + stime in clock ticks (usually 10 ms): the last resort.
    Ticks,
}

/// CPU time (user + system) of process `pid` so far, in nanoseconds, and its source.
pub fn cpu_ns_with_source(pid: u32) -> Option<(u64, CpuClock)> {
    let raw = i32::try_from(pid).ok()?;
    if let Some(ns) = clock_getcpuclockid(Pid::from_raw(raw))
        .and_then(clock_gettime)
        .ok()
        .map(timespec_ns)
    {
        return Some((ns, CpuClock::ProcessClock));
    }
    if let Some(ns) = schedstat_ns(pid) {
        return Some((ns, CpuClock::Schedstat));
    }
    ticks_ns(pid).map(|ns| (ns, CpuClock::Ticks))
}

/// CPU time (user + system) of process `pid` so far, in nanoseconds.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    cpu_ns_with_source(pid).map(|(ns, _)| ns)
}

/// CPU time of this process so far, in nanoseconds (every thread).
pub fn self_cpu_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(0, timespec_ns)
}

fn timespec_ns(t: nix::sys::time::TimeSpec) -> u64 {
    u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec()).unwrap_or(0)
}

/// Sum of the on-CPU nanoseconds (first field of `schedstat`) over the live threads of `pid`.
fn schedstat_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    let mut any = false;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue; // the thread exited between listing and reading
        };
        total += parse_schedstat(&text)?;
        any = true;
    }
    any.then_some(total)
}

/// The first field of a `schedstat` line: time spent on the CPU, in nanoseconds.
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// utime + stime from /proc/PID/stat, in nanoseconds (tick resolution).
fn ticks_ns(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let tck = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Some((utime + stime) * (1_000_000_000 / tck))
}

/// Peak resident set (VmHWM) of process `pid`, in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Resident set now (VmRSS) of process `pid`, in bytes.
pub fn rss(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns CPU on this thread until at least `ns` of it were used.
    fn burn(ns: u64) {
        let start = self_cpu_ns();
        let mut x = 0u64;
        while self_cpu_ns() - start < ns {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    }

    #[test]
    fn own_cpu_clock_has_sub_tick_resolution() {
        let pid = std::process::id();
        let (a, source) = cpu_ns_with_source(pid).unwrap();
        assert_eq!(source, CpuClock::ProcessClock);
        burn(300_000);
        let b = cpu_ns(pid).unwrap();
        let used = b - a;
        // 0.3 ms burned: a tick clock (10 ms) would read 0 or 10 ms, never this.
        assert!(used >= 300_000, "{used} ns");
        assert!(!used.is_multiple_of(1_000_000), "{used} ns looks tick-quantised");
    }

    /// Burns CPU on the calling thread until that thread used at least `ns` of it.
    fn burn_own_thread(ns: u64) {
        let now = || clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(0, timespec_ns);
        let start = now();
        let mut x = 0u64;
        while now() - start < ns {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    }

    #[test]
    fn schedstat_sums_threads() {
        // Other test threads start and exit meanwhile, so the live-thread sum may shrink: this
        // thread's own line is checked, and the sum must include it. The kernel updates a running
        // thread's schedstat only when it is descheduled or ticked, so the burn is timed on this
        // thread's own CPU clock (not the process's, which other test threads also advance) and
        // the thread sleeps before the second reading to bring its line up to date.
        let pid = std::process::id();
        let tid = nix::unistd::gettid().as_raw();
        let own = || {
            parse_schedstat(&std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).unwrap())
                .unwrap()
        };
        let before = own();
        burn_own_thread(2_000_000);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let after = own();
        assert!(after >= before + 2_000_000, "{before} → {after}");
        assert!(schedstat_ns(pid).unwrap() >= after);
        assert_eq!(parse_schedstat("123456 789 10\n"), Some(123_456));
        assert_eq!(parse_schedstat(""), None);
    }

    #[test]
    fn missing_process_is_none() {
        // PIDs above pid_max (at most 2^22) never exist.
        assert_eq!(cpu_ns(4_999_999), None);
        assert_eq!(peak_rss(4_999_999), None);
    }
}
