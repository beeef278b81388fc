//! One backend's results as a Markdown table: per case, the raw driver's time and each
//! library's median ratio to it, by the wall clock and by the benchmark thread's CPU
//! time.

use crate::run::{Entry, Row};
use quarry_benches::harness::{human, Settings};
use std::time::Duration;

/// The median of the raw side's median times over a case's measurements.
fn raw_time(row: &Row) -> Option<Duration> {
    let mut raws: Vec<Duration> = row.cells.iter().flatten().map(|m| m.raw).collect();
    raws.sort();
    raws.get(raws.len() / 2).copied()
}

/// The table of `backend`'s rows, with a note under it on how to read it.
pub fn table(backend: &str, entries: &[Entry], rows: &[Row], settings: Settings) -> String {
    let mut out = format!("### {backend}\n\n| workload | N | raw driver |");
    let mut rule = String::from("|---|---:|---:|");
    for e in entries {
        let mark = if e.off_thread { " †" } else { "" };
        out.push_str(&format!(" {0}/raw | {0} CPU/raw{mark} |", e.name));
        rule.push_str("---:|---:|");
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for row in rows {
        let raw = raw_time(row).map_or("—".to_owned(), human);
        out.push_str(&format!("| {} | {} | {raw} |", row.workload, row.n));
        for cell in &row.cells {
            match cell {
                Some(m) => out.push_str(&format!(" {:.2} | {:.2} |", m.ratio, m.cpu_ratio)),
                None => out.push_str(" — | — |"),
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\nRatios are medians over {} alternating pairs of the library's time over the raw \
         driver's (below 1: faster than raw); \"raw driver\" is the raw side's median time per \
         iteration. CPU is the benchmark thread's CPU time. — : not run on this backend.\n",
        settings.pairs
    ));
    if entries.iter().any(|e| e.off_thread) {
        out.push_str(
            "† sqlx (and SeaORM, on sqlx) runs each SQLite connection on a worker thread of its own; the \
             benchmark thread's CPU time leaves that thread's work out, so this column \
             understates the client's CPU.\n",
        );
    }
    out
}
