//! Table 1b of the report: server CPU-seconds per GiB moved, Floe's gateway and nodes apart,
//! beside the baseline's.

use super::report::{names, trio_cells};
use super::results::{CpuPerGib, TargetResults};
use super::stats::ratio;
use super::table::{Table, num, times};
use super::units::size_label;

/// Server CPU-seconds per GiB moved, per cell and for the multipart upload: Floe's gateway and
/// nodes apart, beside the baseline's.
pub(super) fn cpu_table(main: &TargetResults, base: Option<&TargetResults>) -> Table {
    let (mn, bn) = names(main, base);
    let mut header = vec![
        "cell".to_string(),
        format!("{mn} front"),
        format!("{mn} nodes"),
        format!("{mn} total"),
    ];
    if base.is_some() {
        header.extend([format!("{bn} total"), "ratio".into()]);
    }
    let mut t = Table::new("1b. server CPU-seconds per GiB moved", header);
    let mut add = |label: String, a: Option<CpuPerGib>, b: Option<Option<CpuPerGib>>| {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let mut row = vec![
            label,
            num(a.map(|a| round(a.front))),
            num(a.map(|a| round(a.nodes))),
        ];
        let total = |c: Option<CpuPerGib>| c.map(|c| round(c.total()));
        trio_cells(&mut row, total(a), b.map(total), false);
        if b.is_some() {
            row.push(times(ratio(total(a), b.and_then(total))));
        }
        t.row(row);
    };
    for cell in main.objects.iter().filter(|c| c.size_bytes >= 64 * 1024) {
        let other = base.map(|b| {
            b.object(&cell.op, cell.size_bytes, cell.concurrency)
                .and_then(|o| o.stats.server_cpu_s_per_gib)
        });
        add(cell.label(), cell.stats.server_cpu_s_per_gib, other);
    }
    if let Some(m) = &main.multipart {
        let other = base.map(|b| b.multipart.as_ref().and_then(|m| m.upload_cpu_s_per_gib));
        add(
            format!("multipart PUT {}", size_label(m.total_bytes)),
            m.upload_cpu_s_per_gib,
            other,
        );
    }
    t
}
