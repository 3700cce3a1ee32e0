//! The run's report: tables per phase (Floe next to the baseline, with ratios), the targets
//! with PASS/MISS, and the JSON file holding every figure.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::machine::Machine;
use super::results::{CellStats, ObjectCell, TargetResults};
use super::stats::ratio;
use super::table::{Table, num, times};
use super::units::{MIB, mib, size_label};

/// One line on stderr per finished cell, while the run goes on.
pub fn progress(label: &str, cell: &ObjectCell) {
    let s = &cell.stats;
    let mut line = format!(
        "[{label}] {}: {} ops, {:.1} MiB/s, {:.0} op/s, p50 {} ms, p99 {} ms, server CPU {} us/op, {} errors",
        cell.label(),
        s.ops,
        s.mib_per_s,
        s.ops_per_s,
        num(s.p50_ms),
        num(s.p99_ms),
        num(s.server_cpu_us_per_op.map(f64::round)),
        s.errors
    );
    if let Some(e) = &s.first_error {
        line.push_str(&format!(" (first: {e})"));
    }
    eprintln!("{line}");
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    /// The measured figure (a ratio, or MiB for memory).
    pub value: Option<f64>,
    pub limit: f64,
    /// `true`: value must be >= limit; `false`: <= limit.
    pub at_least: bool,
    /// `PASS`, `MISS` or `N/A` (not measured).
    pub status: String,
    pub detail: String,
}

pub fn check(name: &str, value: Option<f64>, limit: f64, at_least: bool, detail: String) -> Check {
    let status = match value {
        None => "N/A",
        Some(v) if (at_least && v >= limit) || (!at_least && v <= limit) => "PASS",
        Some(_) => "MISS",
    };
    Check {
        name: name.into(),
        value,
        limit,
        at_least,
        status: status.into(),
        detail,
    }
}

/// floe/baseline of one figure of one object cell.
fn cell_ratio(
    floe: &TargetResults,
    base: Option<&TargetResults>,
    op: &str,
    size: u64,
    c: usize,
    figure: fn(&CellStats) -> f64,
) -> (Option<f64>, String) {
    let f = floe.object(op, size, c);
    let b = base.and_then(|b| b.object(op, size, c));
    let (fv, bv) = (f.map(|x| figure(&x.stats)), b.map(|x| figure(&x.stats)));
    let errors: u64 = f.iter().chain(b.iter()).map(|x| x.stats.errors).sum();
    let mut detail = format!("floe {} vs baseline {}", num(fv), num(bv));
    if errors > 0 {
        detail.push_str(&format!(", {errors} errors"));
    }
    (ratio(fv, bv), detail)
}

/// The targets, ratios taken at concurrency `c`.
pub fn evaluate(floe: &TargetResults, base: Option<&TargetResults>, c: usize) -> Vec<Check> {
    let mibs = |s: &CellStats| s.mib_per_s;
    let opss = |s: &CellStats| s.ops_per_s;
    let mut checks = Vec::new();
    let (r, d) = cell_ratio(floe, base, "PUT", 64 * MIB, c, mibs);
    checks.push(check(
        &format!("64 MiB PUT >= 0.8x baseline MiB/s (c={c})"),
        r,
        0.8,
        true,
        format!("{d} MiB/s"),
    ));
    let (r, d) = cell_ratio(floe, base, "GET", 64 * MIB, c, mibs);
    checks.push(check(
        &format!("64 MiB GET >= 1.0x baseline MiB/s (c={c})"),
        r,
        1.0,
        true,
        format!("{d} MiB/s"),
    ));
    let (r, d) = cell_ratio(floe, base, "PUT", 4 * 1024, c, opss);
    checks.push(check(
        &format!("4 KiB PUT >= 1.0x baseline ops/s (c={c})"),
        r,
        1.0,
        true,
        format!("{d} op/s"),
    ));
    let (r, d) = cell_ratio(floe, base, "GET hot", 4 * 1024, c, opss);
    checks.push(check(
        &format!("4 KiB GET hot >= 2x baseline ops/s (c={c})"),
        r,
        2.0,
        true,
        format!("{d} op/s"),
    ));

    let healthy = floe.cache_off.iter().find(|x| x.is("GET", 64 * MIB, c));
    let degraded = floe.degraded.iter().find(|x| x.is("GET", 64 * MIB, c));
    let (h, dg) = (
        healthy.map(|x| x.stats.mib_per_s),
        degraded.map(|x| x.stats.mib_per_s),
    );
    let errors: u64 = healthy
        .iter()
        .chain(degraded.iter())
        .map(|x| x.stats.errors)
        .sum();
    checks.push(check(
        &format!("degraded 64 MiB GET (2 nodes down) >= 0.7x healthy (c={c}, cache off)"),
        ratio(dg, h),
        0.7,
        true,
        format!(
            "degraded {} vs healthy {} MiB/s, {errors} errors",
            num(dg),
            num(h)
        ),
    ));

    let rss = floe
        .multipart
        .as_ref()
        .and_then(|m| m.peak_rss_during_upload.get("gateway"))
        .map(|&b| mib(b));
    let size = floe
        .multipart
        .as_ref()
        .map_or(String::new(), |m| size_label(m.total_bytes));
    checks.push(check(
        &format!("gateway peak RSS during {size} multipart PUT <= 256 MiB"),
        rss,
        256.0,
        false,
        format!("{} MiB", num(rss)),
    ));
    checks
}

/// A figure side by side on both endpoints, for the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// The baseline's name.
    pub against: String,
    pub figure: String,
    pub floe: Option<f64>,
    pub baseline: Option<f64>,
    pub ratio: Option<f64>,
}

fn pair(against: &str, figure: String, floe: Option<f64>, baseline: Option<f64>) -> Ratio {
    Ratio {
        against: against.to_owned(),
        figure,
        floe,
        baseline,
        ratio: ratio(floe, baseline),
    }
}

pub fn ratios(floe: &TargetResults, base: &TargetResults) -> Vec<Ratio> {
    let mut out = Vec::new();
    for f in &floe.objects {
        let b = base.object(&f.op, f.size_bytes, f.concurrency);
        out.push(pair(
            &base.name,
            format!("{} MiB/s", f.label()),
            Some(f.stats.mib_per_s),
            b.map(|b| b.stats.mib_per_s),
        ));
        out.push(pair(
            &base.name,
            format!("{} ops/s", f.label()),
            Some(f.stats.ops_per_s),
            b.map(|b| b.stats.ops_per_s),
        ));
    }
    if let (Some(f), Some(b)) = (&floe.multipart, &base.multipart) {
        let up = |m: &super::results::MultipartResult| m.upload.as_ref().map(|t| t.mib_per_s);
        let down = |m: &super::results::MultipartResult| m.download.as_ref().map(|t| t.mib_per_s);
        out.push(pair(&base.name, "multipart PUT MiB/s".into(), up(f), up(b)));
        out.push(pair(&base.name, "big GET MiB/s".into(), down(f), down(b)));
    }
    if let (Some(f), Some(b)) = (&floe.list, &base.list) {
        out.push(pair(
            &base.name,
            "LIST keys/s".into(),
            f.keys_per_s,
            b.keys_per_s,
        ));
    }
    if let (Some(f), Some(b)) = (&floe.mixed, &base.mixed) {
        out.push(pair(
            &base.name,
            "mixed ops/s".into(),
            Some(f.total.ops_per_s),
            Some(b.total.ops_per_s),
        ));
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub timestamp: String,
    pub unix_time: u64,
    pub git_commit: Option<String>,
    pub machine: Machine,
    pub settings: serde_json::Value,
    pub wall_secs: f64,
    /// The endpoint benchmarked first (Floe, or the S3_ENDPOINT), then the baselines if any
    /// (s3s-fs, then Garage when it ran).
    pub targets: Vec<TargetResults>,
    pub ratios: Vec<Ratio>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }

    /// Every table, then the targets.
    pub fn render(&self) -> String {
        let Some(main) = self.targets.first() else {
            return "\nno results\n".into();
        };
        let base = self.targets.get(1);
        let mut out = String::new();
        let m = &self.machine;
        out.push_str(&format!(
            "\nfloe-bench {} (commit {}), {} CPUs, {} MiB RAM, kernel {}, {:.0} s\n",
            self.timestamp,
            self.git_commit.as_deref().unwrap_or("?"),
            m.nproc,
            m.mem_total_bytes
                .map_or("?".into(), |b| format!("{:.0}", mib(b))),
            m.kernel.as_deref().unwrap_or("?"),
            self.wall_secs
        ));
        for t in &self.targets {
            out.push_str(&format!("  {}: {}\n", t.name, t.endpoint));
            for f in &t.failures {
                out.push_str(&format!("  {} FAILED: {f}\n", t.name));
            }
        }
        // Floe beside a baseline (or alone, without one).
        let compared = |base| {
            [
                objects_table(main, base),
                super::cpu_table::cpu_table(main, base),
                big_table(main, base),
                mixed_table(main, base),
            ]
        };
        let mut tables = Vec::from(compared(base));
        tables.extend([
            cache_table(main),
            degraded_table(main),
            rss_table(&self.targets),
        ]);
        // A second baseline (Garage) gets the comparative tables again, beside Floe.
        for other in self.targets.iter().skip(2) {
            tables.extend(compared(Some(other)));
        }
        for t in tables.iter().filter(|t| !t.is_empty()) {
            out.push_str(&t.render());
        }
        if !self.checks.is_empty() {
            out.push_str("\n== targets\n");
            for c in &self.checks {
                let value = match c.value {
                    None => "-".into(),
                    Some(v) if c.at_least => format!("{v:.2}x"),
                    Some(v) => format!("{v:.0} MiB"),
                };
                out.push_str(&format!(
                    "{:<5} {:<72} {:>8}  ({})\n",
                    c.status, c.name, value, c.detail
                ));
            }
        }
        out
    }
}

pub(super) fn names(main: &TargetResults, base: Option<&TargetResults>) -> (String, String) {
    (
        main.name.clone(),
        base.map_or(String::new(), |b| b.name.clone()),
    )
}

/// Columns `<figure> main`, `<figure> base`, `ratio` (the last two only with a baseline).
fn trio(header: &mut Vec<String>, figure: &str, main: &str, base: Option<&str>, with_ratio: bool) {
    header.push(format!("{main} {figure}"));
    if let Some(b) = base {
        header.push(format!("{b} {figure}"));
        if with_ratio {
            header.push("ratio".into());
        }
    }
}

pub(super) fn trio_cells(
    row: &mut Vec<String>,
    a: Option<f64>,
    b: Option<Option<f64>>,
    with_ratio: bool,
) {
    row.push(num(a));
    if let Some(b) = b {
        row.push(num(b));
        if with_ratio {
            row.push(times(ratio(a, b)));
        }
    }
}

fn objects_table(main: &TargetResults, base: Option<&TargetResults>) -> Table {
    let (mn, bn) = names(main, base);
    let b = base.map(|_| bn.as_str());
    let mut header = vec!["objects: cell".to_string(), "ops".into()];
    trio(&mut header, "MiB/s", &mn, b, true);
    trio(&mut header, "op/s", &mn, b, true);
    trio(&mut header, "p50 ms", &mn, b, false);
    trio(&mut header, "p99 ms", &mn, b, false);
    trio(&mut header, "server CPU us/op", &mn, b, false);
    header.push("errors".into());
    let mut t = Table::new("1. PUT then GET per object size and concurrency", header);
    for cell in &main.objects {
        let other = base.map(|b| b.object(&cell.op, cell.size_bytes, cell.concurrency));
        let s = &cell.stats;
        let mut row = vec![cell.label(), s.ops.to_string()];
        trio_cells(
            &mut row,
            Some(s.mib_per_s),
            other.map(|o| o.map(|o| o.stats.mib_per_s)),
            true,
        );
        trio_cells(
            &mut row,
            Some(s.ops_per_s),
            other.map(|o| o.map(|o| o.stats.ops_per_s)),
            true,
        );
        trio_cells(
            &mut row,
            s.p50_ms,
            other.map(|o| o.and_then(|o| o.stats.p50_ms)),
            false,
        );
        trio_cells(
            &mut row,
            s.p99_ms,
            other.map(|o| o.and_then(|o| o.stats.p99_ms)),
            false,
        );
        trio_cells(
            &mut row,
            s.server_cpu_us_per_op.map(f64::round),
            other.map(|o| o.and_then(|o| o.stats.server_cpu_us_per_op.map(f64::round))),
            false,
        );
        row.push(match other {
            Some(o) => format!(
                "{}/{}",
                s.errors,
                o.map_or("-".into(), |o| o.stats.errors.to_string())
            ),
            None => s.errors.to_string(),
        });
        t.row(row);
    }
    t
}

/// Multipart, big GET and LIST: one figure per row.
fn big_table(main: &TargetResults, base: Option<&TargetResults>) -> Table {
    let (mn, bn) = names(main, base);
    let mut header = vec!["figure".to_string(), mn];
    if base.is_some() {
        header.extend([bn, "ratio".into()]);
    }
    let mut t = Table::new("2./3. multipart upload, big GET, LIST", header);
    let mut add = |label: String, a: Option<f64>, b: Option<Option<f64>>| {
        let mut row = vec![label];
        trio_cells(&mut row, a, b, true);
        t.row(row);
    };
    if let Some(m) = &main.multipart {
        let bm = base.map(|b| b.multipart.as_ref());
        let size = size_label(m.total_bytes);
        let parts = format!(
            "{} parts, {} in flight",
            size_label(m.part_bytes),
            m.parts_in_flight
        );
        add(
            format!("multipart PUT {size} ({parts}) MiB/s"),
            m.upload.as_ref().map(|u| u.mib_per_s),
            bm.map(|b| b.and_then(|b| b.upload.as_ref().map(|u| u.mib_per_s))),
        );
        add(
            format!("multipart PUT {size} seconds"),
            m.upload.as_ref().map(|u| u.secs),
            bm.map(|b| b.and_then(|b| b.upload.as_ref().map(|u| u.secs))),
        );
        add(
            format!("GET {size} (one stream) MiB/s"),
            m.download.as_ref().map(|u| u.mib_per_s),
            bm.map(|b| b.and_then(|b| b.download.as_ref().map(|u| u.mib_per_s))),
        );
        add(
            format!("GET {size} seconds"),
            m.download.as_ref().map(|u| u.secs),
            bm.map(|b| b.and_then(|b| b.download.as_ref().map(|u| u.secs))),
        );
        let server_rss = |r: &TargetResults, at_start: bool| {
            r.multipart.as_ref().and_then(|m| {
                let map = if at_start {
                    &m.rss_at_upload_start
                } else {
                    &m.peak_rss_during_upload
                };
                map.iter()
                    .filter(|(name, _)| !name.starts_with("node"))
                    .map(|(_, &v)| mib(v))
                    .reduce(f64::max)
            })
        };
        add(
            format!("server RSS when the {size} PUT starts, MiB (floe: gateway)"),
            server_rss(main, true),
            base.map(|b| server_rss(b, true)),
        );
        add(
            format!("server peak RSS during {size} PUT, MiB (floe: gateway)"),
            server_rss(main, false),
            base.map(|b| server_rss(b, false)),
        );
        let nodes: Vec<f64> = m
            .peak_rss_during_upload
            .iter()
            .filter(|(name, _)| name.starts_with("node"))
            .map(|(_, &v)| mib(v))
            .collect();
        if !nodes.is_empty() {
            add(
                format!("node peak RSS during {size} PUT, MiB (max)"),
                nodes.iter().copied().reduce(f64::max),
                None,
            );
            add(
                format!("node peak RSS during {size} PUT, MiB (sum)"),
                Some(nodes.iter().sum()),
                None,
            );
        }
        for e in &m.errors {
            add(format!("multipart error: {e}"), None, None);
        }
    }
    if let Some(l) = &main.list {
        let bl = base.map(|b| b.list.as_ref());
        add(
            format!("LIST setup: {} PUTs of 4 B at c=32, op/s", l.keys),
            Some(l.setup.ops_per_s),
            bl.map(|b| b.map(|b| b.setup.ops_per_s)),
        );
        add(
            format!(
                "LIST {} keys ({} a page), median of {} s",
                l.keys,
                l.page_size,
                l.runs_secs.len()
            ),
            l.median_secs,
            bl.map(|b| b.and_then(|b| b.median_secs)),
        );
        add(
            format!("LIST {} keys, keys/s", l.keys),
            l.keys_per_s,
            bl.map(|b| b.and_then(|b| b.keys_per_s)),
        );
        for e in &l.errors {
            add(format!("LIST error: {e}"), None, None);
        }
    }
    t
}

fn mixed_table(main: &TargetResults, base: Option<&TargetResults>) -> Table {
    let (mn, bn) = names(main, base);
    let b = base.map(|_| bn.as_str());
    let mut header = vec!["mixed: op".to_string(), "ops".into()];
    trio(&mut header, "op/s", &mn, b, true);
    trio(&mut header, "p50 ms", &mn, b, false);
    trio(&mut header, "p99 ms", &mn, b, false);
    header.extend(["misses".into(), "errors".into()]);
    let title = main.mixed.as_ref().map_or(String::new(), |m| {
        format!(
            "4. mixed 45% GET / 30% HEAD / 15% PUT / 10% DELETE over {} keys of {}, c={}",
            m.keys,
            size_label(m.object_bytes),
            m.concurrency
        )
    });
    let mut t = Table::new(title, header);
    let Some(m) = &main.mixed else { return t };
    let bm = base.map(|b| b.mixed.as_ref());
    let mut rows: Vec<(String, &CellStats, Option<Option<&CellStats>>)> =
        vec![("all".into(), &m.total, bm.map(|b| b.map(|b| &b.total)))];
    for name in ["GET", "HEAD", "PUT", "DELETE"] {
        if let Some(s) = m.kinds.get(name) {
            rows.push((
                name.into(),
                s,
                bm.map(|b| b.and_then(|b| b.kinds.get(name))),
            ));
        }
    }
    for (name, s, o) in rows {
        let mut row = vec![name, s.ops.to_string()];
        trio_cells(
            &mut row,
            Some(s.ops_per_s),
            o.map(|o| o.map(|o| o.ops_per_s)),
            true,
        );
        trio_cells(
            &mut row,
            s.p50_ms,
            o.map(|o| o.and_then(|o| o.p50_ms)),
            false,
        );
        trio_cells(
            &mut row,
            s.p99_ms,
            o.map(|o| o.and_then(|o| o.p99_ms)),
            false,
        );
        let pairs = |a: u64, b: Option<Option<u64>>| match b {
            Some(b) => format!("{a}/{}", b.map_or("-".into(), |b| b.to_string())),
            None => a.to_string(),
        };
        row.push(pairs(s.misses, o.map(|o| o.map(|o| o.misses))));
        row.push(pairs(s.errors, o.map(|o| o.map(|o| o.errors))));
        t.row(row);
    }
    t
}

fn cache_table(main: &TargetResults) -> Table {
    let header = [
        "cell",
        "on MiB/s",
        "off MiB/s",
        "off/on",
        "on op/s",
        "off op/s",
        "on p50",
        "off p50",
        "on p99",
        "off p99",
        "off errors",
    ]
    .map(String::from)
    .to_vec();
    let mut t = Table::new(
        format!(
            "5. {} GET, cache on (phase 1) vs off (gateway restarted with cache_bytes = 0)",
            main.name
        ),
        header,
    );
    for off in &main.cache_off {
        let on = main
            .object(&off.op, off.size_bytes, off.concurrency)
            .map(|c| &c.stats);
        let s = &off.stats;
        t.row(vec![
            off.label(),
            num(on.map(|o| o.mib_per_s)),
            num(Some(s.mib_per_s)),
            times(ratio(Some(s.mib_per_s), on.map(|o| o.mib_per_s))),
            num(on.map(|o| o.ops_per_s)),
            num(Some(s.ops_per_s)),
            num(on.and_then(|o| o.p50_ms)),
            num(s.p50_ms),
            num(on.and_then(|o| o.p99_ms)),
            num(s.p99_ms),
            s.errors.to_string(),
        ]);
    }
    t
}

fn degraded_table(main: &TargetResults) -> Table {
    let header = [
        "cell",
        "healthy MiB/s",
        "degraded MiB/s",
        "ratio",
        "healthy p99",
        "degraded p99",
        "degraded errors",
    ]
    .map(String::from)
    .to_vec();
    let killed: Vec<String> = main
        .nodes_killed
        .iter()
        .map(|n| format!("node{n}"))
        .collect();
    let mut t = Table::new(
        format!(
            "6. {} degraded GET: {} SIGKILLed, cache off; healthy = phase 5",
            main.name,
            killed.join(" + ")
        ),
        header,
    );
    for d in &main.degraded {
        let h = main
            .cache_off
            .iter()
            .find(|c| c.is(&d.op, d.size_bytes, d.concurrency))
            .map(|c| &c.stats);
        let s = &d.stats;
        t.row(vec![
            d.label(),
            num(h.map(|h| h.mib_per_s)),
            num(Some(s.mib_per_s)),
            times(ratio(Some(s.mib_per_s), h.map(|h| h.mib_per_s))),
            num(h.and_then(|h| h.p99_ms)),
            num(s.p99_ms),
            s.errors.to_string(),
        ]);
    }
    t
}

fn rss_table(targets: &[TargetResults]) -> Table {
    let mut t = Table::new(
        "7. peak RSS over the whole run",
        vec!["process".into(), "MiB".into()],
    );
    let mut all: BTreeMap<String, u64> = BTreeMap::new();
    for r in targets {
        for (name, &bytes) in &r.peak_rss {
            let label = if *name == r.name {
                name.clone()
            } else {
                format!("{} {name}", r.name)
            };
            all.insert(label, bytes);
        }
    }
    for (name, bytes) in all {
        t.row(vec![name, num(Some(mib(bytes)))]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::MultipartResult;

    fn cell(op: &str, size: u64, c: usize, mib_per_s: f64, ops_per_s: f64) -> ObjectCell {
        ObjectCell {
            op: op.into(),
            size_bytes: size,
            concurrency: c,
            stats: CellStats {
                mib_per_s,
                ops_per_s,
                ..CellStats::default()
            },
        }
    }

    #[test]
    fn checks_compare_against_the_limit() {
        assert_eq!(
            check("x", Some(0.8), 0.8, true, String::new()).status,
            "PASS"
        );
        assert_eq!(
            check("x", Some(0.79), 0.8, true, String::new()).status,
            "MISS"
        );
        assert_eq!(
            check("x", Some(256.0), 256.0, false, String::new()).status,
            "PASS"
        );
        assert_eq!(
            check("x", Some(300.0), 256.0, false, String::new()).status,
            "MISS"
        );
        assert_eq!(check("x", None, 1.0, true, String::new()).status, "N/A");
    }

    #[test]
    fn evaluates_every_target_at_the_chosen_concurrency() {
        let k4 = 4 * 1024;
        let mut floe = TargetResults::new("floe", "");
        floe.objects = vec![
            cell("PUT", 64 * MIB, 8, 90.0, 1.4),
            cell("GET", 64 * MIB, 8, 150.0, 2.3),
            cell("PUT", k4, 8, 0.0, 1000.0),
            cell("GET hot", k4, 8, 0.0, 3000.0),
            // Another concurrency must not be picked.
            cell("PUT", 64 * MIB, 1, 1.0, 1.0),
        ];
        floe.cache_off = vec![cell("GET", 64 * MIB, 8, 200.0, 3.0)];
        floe.degraded = vec![cell("GET", 64 * MIB, 8, 120.0, 1.8)];
        floe.multipart = Some(MultipartResult {
            peak_rss_during_upload: [("gateway".to_string(), 300 * MIB)].into(),
            ..MultipartResult::default()
        });
        let mut base = TargetResults::new("s3s-fs", "");
        base.objects = vec![
            cell("PUT", 64 * MIB, 8, 100.0, 1.5),
            cell("GET", 64 * MIB, 8, 100.0, 1.5),
            cell("PUT", k4, 8, 0.0, 1250.0),
            cell("GET hot", k4, 8, 0.0, 1500.0),
        ];
        let checks = evaluate(&floe, Some(&base), 8);
        let got: Vec<(&str, Option<f64>)> = checks
            .iter()
            .map(|c| (c.status.as_str(), c.value))
            .collect();
        assert_eq!(
            got,
            vec![
                ("PASS", Some(0.9)),
                ("PASS", Some(1.5)),
                ("MISS", Some(0.8)),
                ("PASS", Some(2.0)),
                ("MISS", Some(0.6)),
                ("MISS", Some(300.0)),
            ]
        );
        // No baseline: the ratio targets cannot be judged, the others still can.
        let alone: Vec<String> = evaluate(&floe, None, 8)
            .into_iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(alone, ["N/A", "N/A", "N/A", "N/A", "MISS", "MISS"]);
        // A concurrency that was not measured.
        assert_eq!(evaluate(&floe, Some(&base), 32)[0].status, "N/A");
    }

    #[test]
    fn ratios_pair_cells_by_op_size_and_concurrency() {
        let mut floe = TargetResults::new("floe", "");
        floe.objects = vec![cell("PUT", MIB, 8, 50.0, 50.0)];
        let mut base = TargetResults::new("s3s-fs", "");
        base.objects = vec![
            cell("PUT", MIB, 1, 1.0, 1.0),
            cell("PUT", MIB, 8, 100.0, 25.0),
        ];
        let r = ratios(&floe, &base);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].figure, "PUT 1 MiB c=8 MiB/s");
        assert_eq!(r[0].ratio, Some(0.5));
        assert_eq!(r[1].ratio, Some(2.0));
    }
}
