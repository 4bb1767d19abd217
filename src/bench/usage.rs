//! What a process uses: peak and current resident memory, the heap it really has in
//! use, and CPU time per thread, as Linux's `/proc` and glibc's allocator tell it.
//!
//! Peak memory is `VmHWM` ("high water mark") from `/proc/<pid>/status`: the most
//! resident memory the process ever had, which is what a machine must have room for.
//! Resident memory after a load is not what the loaded data needs: the allocator keeps
//! pages that hold a few live bytes among freed ones. [`heap_in_use_bytes`] (glibc's
//! `mallinfo2`) counts the bytes of live allocations, so the two together separate
//! what the data needs from what fragmentation costs.
//!
//! CPU time is `utime + stime` of each thread in `/proc/<pid>/task/*/stat`, in clock
//! ticks of `USER_HZ`, which Linux fixes at 100 per second on every architecture it
//! exports to user space. Comparing two snapshots over a phase tells which threads
//! were busy: one thread near 100% of a core is a serial bound (the log's writer, the
//! load generator); all cores near 100% is a CPU bound; neither is waiting (fsync).
//!
//! Everything here answers `None` or an empty list where `/proc` or glibc is missing:
//! a benchmark then prints "n/a" rather than failing.

use std::collections::BTreeMap;
use std::time::Duration;

/// Linux's `USER_HZ`: the unit of the CPU times in `/proc/<pid>/stat`.
const TICKS_PER_SECOND: f64 = 100.0;

/// A field of `/proc/<pid>/status` in KiB, such as `VmHWM` or `VmRSS`.
fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// This process's peak resident memory so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("self", "VmHWM")
}

/// Another process's peak resident memory so far (`VmHWM`), in KiB.
pub fn peak_rss_kib_of(pid: u32) -> Option<u64> {
    status_kib(&pid.to_string(), "VmHWM")
}

/// This process's resident memory now (`VmRSS`), in KiB.
pub fn rss_kib() -> Option<u64> {
    status_kib("self", "VmRSS")
}

/// Hand the heap memory this process has freed back to the system, where the
/// allocator keeps it (glibc's `malloc_trim`), so that `VmRSS` afterwards counts what
/// is still in use rather than what the allocator happens to cache. Elsewhere a no-op.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes a byte count, touches only the allocator's
        // own free lists (under its locks), and is safe to call at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Bytes of heap this process has allocated and not freed (glibc's `mallinfo2`:
/// in-use bytes of every arena plus `mmap`ed blocks).
pub fn heap_in_use_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's `struct mallinfo2` (glibc 2.33 and later), field for field.
        #[repr(C)]
        struct MallInfo2 {
            arena: usize,
            ordblks: usize,
            smblks: usize,
            hblks: usize,
            hblkhd: usize,
            usmblks: usize,
            fsmblks: usize,
            uordblks: usize,
            fordblks: usize,
            keepcost: usize,
        }
        extern "C" {
            fn mallinfo2() -> MallInfo2;
        }
        // SAFETY: mallinfo2 takes no argument, returns the struct by value and only
        // reads the allocator's statistics under its own locks.
        let info = unsafe { mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// CPU time a whole process has used so far, in seconds, threads that have ended
/// included (`None`: this process).
pub fn process_cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let (_, ticks) = parse_stat(&std::fs::read_to_string(path).ok()?)?;
    Some(ticks as f64 / TICKS_PER_SECOND)
}

/// CPU time used so far by every thread of a process, by thread id.
#[derive(Debug, Clone, Default)]
pub struct ThreadTimes {
    /// Thread id → (thread name, CPU ticks used).
    threads: BTreeMap<u32, (String, u64)>,
}

impl ThreadTimes {
    /// Read every thread of `pid` (`None`: this process).
    pub fn read(pid: Option<u32>) -> ThreadTimes {
        let dir = match pid {
            Some(p) => format!("/proc/{p}/task"),
            None => "/proc/self/task".to_owned(),
        };
        let mut threads = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return ThreadTimes { threads };
        };
        for entry in entries.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(thread) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| parse_stat(&s))
            {
                threads.insert(tid, thread);
            }
        }
        ThreadTimes { threads }
    }

    /// The CPU each thread group used between `earlier` and `self`, over `wall`
    /// seconds, as a share of one core, busiest group first.
    ///
    /// Threads are grouped by name with trailing digits removed (`actix-server
    /// worker 0` and `… 1` are one group); a thread that started or ended in between
    /// counts with what it used while both snapshots saw it, or all of it if only the
    /// later one did.
    pub fn usage_since(&self, earlier: &ThreadTimes, wall: Duration) -> CpuUsage {
        let wall = wall.as_secs_f64().max(1e-9);
        let mut groups: BTreeMap<String, GroupUsage> = BTreeMap::new();
        for (tid, (name, ticks)) in &self.threads {
            let before = earlier.threads.get(tid).map_or(0, |(_, t)| *t);
            let share = ticks.saturating_sub(before) as f64 / TICKS_PER_SECOND / wall;
            let group = groups
                .entry(
                    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-')
                        .to_owned(),
                )
                .or_default();
            group.threads += 1;
            group.total += share;
            group.busiest = group.busiest.max(share);
        }
        let mut groups: Vec<(String, GroupUsage)> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.total.total_cmp(&a.1.total));
        CpuUsage { groups }
    }
}

/// `(name, utime + stime)` from the text of a `/proc/<pid>/task/<tid>/stat`.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    // The name is in parentheses and may itself hold spaces or parentheses: it ends at
    // the last ')'. Fields after it start with the state (field 3 of proc(5)).
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of proc(5): indexes 11 and 12 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU used by one group of same-named threads over a phase.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupUsage {
    /// Threads seen.
    pub threads: usize,
    /// CPU used by all of them, in cores (1.0 = one core busy all the time).
    pub total: f64,
    /// CPU used by the busiest one of them, in cores.
    pub busiest: f64,
}

/// CPU used over a phase, by thread group, busiest first.
#[derive(Debug, Clone, Default)]
pub struct CpuUsage {
    /// (group name, usage), busiest first.
    pub groups: Vec<(String, GroupUsage)>,
}

impl CpuUsage {
    /// All threads together, in cores.
    pub fn total(&self) -> f64 {
        self.groups.iter().map(|(_, g)| g.total).sum()
    }

    /// `name 0.93 (busiest 0.91), …` for the `top` busiest groups that used anything.
    pub fn describe(&self, top: usize) -> String {
        let parts: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.total >= 0.005)
            .take(top)
            .map(|(name, g)| {
                if g.threads > 1 {
                    format!(
                        "{name} ×{} {:.2} (busiest {:.2})",
                        g.threads, g.total, g.busiest
                    )
                } else {
                    format!("{name} {:.2}", g.total)
                }
            })
            .collect();
        if parts.is_empty() {
            "n/a".into()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_spaces_and_parentheses_in_the_name_parses() {
        let stat = "4242 (actix-server (w) 1) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat(stat), Some(("actix-server (w) 1".into(), 300)));
    }

    #[test]
    fn heap_in_use_counts_a_live_allocation() {
        if heap_in_use_bytes().is_none() {
            return; // not glibc
        }
        // Other tests allocate and free at the same time, so only a lower bound holds:
        // the block itself is in use.
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let during = heap_in_use_bytes().unwrap_or(0);
        assert!(during >= 64 << 20, "{during} bytes in use");
        drop(block);
    }

    #[test]
    fn this_process_has_a_peak_at_least_its_current_memory() {
        // The current figure first: other tests allocate meanwhile, and a peak read
        // later is at least any resident size read before it.
        let now = rss_kib();
        let (Some(now), Some(peak)) = (now, peak_rss_kib()) else {
            return; // not Linux
        };
        assert!(peak >= now && now > 0);
    }

    #[test]
    fn usage_groups_threads_by_name_without_their_number() {
        let mut before = ThreadTimes::default();
        before.threads.insert(1, ("worker 0".into(), 100));
        before.threads.insert(2, ("worker 1".into(), 100));
        let mut after = before.clone();
        after.threads.insert(1, ("worker 0".into(), 200));
        after.threads.insert(2, ("worker 1".into(), 150));
        let usage = after.usage_since(&before, Duration::from_secs(1));
        assert_eq!(usage.groups.len(), 1);
        let (name, g) = &usage.groups[0];
        assert_eq!(name, "worker");
        assert!((g.total - 1.5).abs() < 1e-9 && (g.busiest - 1.0).abs() < 1e-9);
    }
}
