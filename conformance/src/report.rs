//! Checks and their results: every check runs as its own task (a panic or a hang fails that check
//! only), its outcome is printed as it happens, and the run ends with the operation × client
//! matrix and the `N passed, M failed` count.

use std::future::Future;
use std::time::{Duration, Instant};

/// One column of the matrix: who performed the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Sdk,
    AwsCli,
    Rclone,
    S3cmd,
    Boto3,
    Failure,
}

impl Column {
    pub const ALL: [Column; 6] = [
        Column::Sdk,
        Column::AwsCli,
        Column::Rclone,
        Column::S3cmd,
        Column::Boto3,
        Column::Failure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Column::Sdk => "sdk",
            Column::AwsCli => "aws-cli",
            Column::Rclone => "rclone",
            Column::S3cmd => "s3cmd",
            Column::Boto3 => "boto3",
            Column::Failure => "failure",
        }
    }
}

/// A check that has not finished after this long has failed (and is aborted).
const CHECK_TIMEOUT: Duration = Duration::from_secs(180);

struct Entry {
    row: String,
    column: Column,
    failure: Option<String>,
}

#[derive(Default)]
pub struct Report {
    entries: Vec<Entry>,
    skipped: Vec<Column>,
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one outcome and prints it right away.
    pub fn record(
        &mut self,
        column: Column,
        row: &str,
        result: Result<(), String>,
        took: Duration,
    ) {
        let secs = took.as_secs_f64();
        match &result {
            Ok(()) => println!("  pass  {:<8} {row} ({secs:.1}s)", column.name()),
            Err(msg) => {
                println!("  FAIL  {:<8} {row} ({secs:.1}s)", column.name());
                for line in msg.lines() {
                    println!("          {line}");
                }
            }
        }
        self.entries.push(Entry {
            row: row.to_string(),
            column,
            failure: result.err(),
        });
    }

    /// Something the whole run depends on failed (e.g. the cluster did not start).
    pub fn fail_setup(&mut self, what: &str, msg: &str) {
        self.record(Column::Sdk, what, Err(msg.to_string()), Duration::ZERO);
    }

    /// A column that was deliberately not run: shown as `-` with a note.
    pub fn skip_column(&mut self, column: Column) {
        self.skipped.push(column);
    }

    pub fn counts(&self) -> (usize, usize) {
        let failed = self.entries.iter().filter(|e| e.failure.is_some()).count();
        (self.entries.len() - failed, failed)
    }

    /// The failures again (so they are not lost in the scroll), then the matrix.
    pub fn print_matrix(&self) {
        let failures: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.failure.is_some())
            .collect();
        if !failures.is_empty() {
            println!("\n== failures");
            for e in failures {
                let msg = e.failure.as_deref().unwrap_or_default();
                let first = msg.lines().next().unwrap_or_default();
                println!("  {} / {}: {first}", e.column.name(), e.row);
            }
        }
        let mut rows: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !rows.contains(&e.row.as_str()) {
                rows.push(&e.row);
            }
        }
        let width = rows
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(0)
            .max(20);
        println!("\n== results (pass / FAIL / - = not applicable)");
        let mut header = format!("{:<width$}", "operation / scenario");
        for c in Column::ALL {
            header.push_str(&format!("  {:<7}", c.name()));
        }
        println!("{}", header.trim_end());
        for row in rows {
            let mut line = format!("{row:<width$}");
            for c in Column::ALL {
                let cell: Vec<&Entry> = self
                    .entries
                    .iter()
                    .filter(|e| e.row == row && e.column == c)
                    .collect();
                let text = if cell.is_empty() {
                    "-"
                } else if cell.iter().any(|e| e.failure.is_some()) {
                    "FAIL"
                } else {
                    "pass"
                };
                line.push_str(&format!("  {text:<7}"));
            }
            println!("{}", line.trim_end());
        }
        for c in &self.skipped {
            println!("({} column skipped: see above)", c.name());
        }
    }
}

/// Runs `check` as its own task with a time limit and records the outcome under (`column`, `row`).
pub async fn check<F>(report: &mut Report, column: Column, row: &str, check: F)
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let started = Instant::now();
    let handle = tokio::spawn(check);
    let abort = handle.abort_handle();
    let result = match tokio::time::timeout(CHECK_TIMEOUT, handle).await {
        Err(_) => {
            abort.abort();
            Err(format!(
                "did not finish within {}s",
                CHECK_TIMEOUT.as_secs()
            ))
        }
        Ok(Err(join)) if join.is_panic() => {
            Err(format!("panicked: {}", panic_text(join.into_panic())))
        }
        Ok(Err(join)) => Err(format!("task failed: {join}")),
        Ok(Ok(Err(e))) => Err(format!("{e:#}")),
        Ok(Ok(Ok(()))) => Ok(()),
    };
    report.record(column, row, result, started.elapsed());
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic".into()
    }
}

/// Prints a suite heading.
pub fn heading(title: &str) {
    println!("\n== {title}");
}
