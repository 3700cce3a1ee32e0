//! CPU time of the server processes, from `/proc/PID/stat`: a cell's server CPU per operation
//! is a steadier figure than its op/s, which also moves with latency (a server that waits on
//! fsync idles while the client waits) and with whatever else the machine runs.

/// Clock ticks per second of the times in `/proc` (`USER_HZ`, 100 in Linux's ABI).
const USER_HZ: f64 = 100.0;

/// User plus system CPU seconds of every thread of `pid` so far, if the process exists.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|ticks| ticks as f64 / USER_HZ)
}

/// `utime + stime` of a `/proc/PID/stat` line. The command name, in parentheses, may hold
/// spaces and parentheses itself, so fields are counted from the last `)`: state is the first
/// after it, utime the 12th and stime the 13th.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Microseconds of CPU per operation, if any operation ran. A negative total (a watched
/// process died during the cell, so its CPU left the sum) has no meaning and gives `None`.
pub fn per_op_micros(cpu_seconds: f64, ops: u64) -> Option<f64> {
    (ops > 0 && cpu_seconds >= 0.0).then(|| cpu_seconds * 1e6 / ops as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_and_system_ticks() {
        // A command name with a space and a parenthesis, as a process may choose.
        let stat = "4242 (floe (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 \
                    123 456789 1234 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("4242 (floe) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_a_live_process_only() {
        let own = process_cpu_seconds(std::process::id());
        assert!(own.is_some_and(|s| s >= 0.0), "{own:?}");
        assert_eq!(process_cpu_seconds(u32::MAX), None);
    }

    #[test]
    fn divides_by_operations() {
        assert_eq!(per_op_micros(0.5, 1000), Some(500.0));
        assert_eq!(per_op_micros(0.5, 0), None);
        assert_eq!(per_op_micros(-0.1, 1000), None);
    }
}
