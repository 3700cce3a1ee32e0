//! Resident memory of the server processes: a thread reads `VmRSS` from `/proc/PID/status` of
//! every watched process each 50 ms and keeps the peak per process name, over the whole run and
//! over an optional window (e.g. one upload). The watched processes' CPU time is read on demand
//! (see `cpu`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const PERIOD: Duration = Duration::from_millis(50);

#[derive(Default)]
struct State {
    /// Name -> PID being watched now.
    watched: BTreeMap<String, u32>,
    overall: BTreeMap<String, u64>,
    window: Option<BTreeMap<String, u64>>,
}

impl State {
    fn sample(&mut self) {
        for (name, pid) in &self.watched {
            let Some(rss) = read_rss(*pid) else { continue };
            for peaks in std::iter::once(&mut self.overall).chain(self.window.as_mut()) {
                let peak = peaks.entry(name.clone()).or_default();
                *peak = (*peak).max(rss);
            }
        }
    }
}

pub struct RssMonitor {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RssMonitor {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    state.lock().expect("rss state").sample();
                    std::thread::sleep(PERIOD);
                }
            })
        };
        Self {
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("rss state"))
    }

    /// Watches `pid` under `name` (replacing the PID a restarted process had; peaks carry over).
    pub fn watch(&self, name: &str, pid: u32) {
        self.with(|s| {
            s.watched.insert(name.to_string(), pid);
            s.sample();
        });
    }

    pub fn unwatch(&self, name: &str) {
        self.with(|s| {
            s.sample();
            s.watched.remove(name);
        });
    }

    /// Starts a fresh window of peaks; returns each process's RSS now (what it already holds,
    /// e.g. memory an allocator kept from earlier work, shows in the window's peak too).
    pub fn begin_window(&self) -> BTreeMap<String, u64> {
        self.with(|s| {
            s.window = Some(BTreeMap::new());
            s.sample();
            s.window.clone().unwrap_or_default()
        })
    }

    /// Ends the window: the peak of each process seen during it.
    pub fn end_window(&self) -> BTreeMap<String, u64> {
        self.with(|s| {
            s.sample();
            s.window.take().unwrap_or_default()
        })
    }

    /// CPU seconds used so far by the watched processes, split between the front process and
    /// the storage nodes (watched as `node<i>`).
    pub fn cpu_split(&self) -> CpuSplit {
        self.with(|s| {
            let mut split = CpuSplit::default();
            for (name, pid) in &s.watched {
                let secs = super::cpu::process_cpu_seconds(*pid).unwrap_or(0.0);
                match name.starts_with("node") {
                    true => split.nodes += secs,
                    false => split.front += secs,
                }
            }
            split
        })
    }

    /// Peak per process name since the start, bytes.
    pub fn overall(&self) -> BTreeMap<String, u64> {
        self.with(|s| {
            s.sample();
            s.overall.clone()
        })
    }
}

/// CPU seconds of the front process and of the nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSplit {
    pub front: f64,
    pub nodes: f64,
}

impl CpuSplit {
    /// What was used between `earlier` and this reading.
    pub fn since(self, earlier: CpuSplit) -> CpuSplit {
        CpuSplit {
            front: self.front - earlier.front,
            nodes: self.nodes - earlier.nodes,
        }
    }

    pub fn total(&self) -> f64 {
        self.front + self.nodes
    }

    /// Per GiB of `bytes` moved; `None` without bytes.
    pub fn per_gib(&self, bytes: u64) -> Option<super::results::CpuPerGib> {
        let gib = bytes as f64 / (1u64 << 30) as f64;
        (bytes > 0).then(|| super::results::CpuPerGib {
            front: self.front / gib,
            nodes: self.nodes / gib,
        })
    }
}

impl Drop for RssMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// VmRSS of `pid` in bytes, if the process exists.
fn read_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:   1234 kB` line of a `/proc/PID/status` text, in bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => Some(value * 1024),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tfloe\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("Name:\tzombie\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let monitor = RssMonitor::start();
        monitor.watch("me", std::process::id());
        let at_start = monitor.begin_window();
        assert!(at_start["me"] > 0);
        let window = monitor.end_window();
        assert!(window.get("me").copied().unwrap_or(0) > 0);
        assert!(monitor.overall()["me"] >= window["me"]);
    }
}
