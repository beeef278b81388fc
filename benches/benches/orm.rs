//! `cargo bench -p quarry-benches`: every workload on every backend, quarry against the
//! raw driver. Environment:
//!
//! - `QUARRY_BENCH_DATABASES`: backends to run (default `sqlite,postgres,mysql`);
//! - `QUARRY_BENCH_QUICK=1`: a short smoke run;
//! - `QUARRY_BENCH_OUT=path`: also write the Markdown tables there.
//!
//! A positional argument keeps only the workloads whose name contains it.

use quarry_benches::harness::{markdown_table, Settings};
use quarry_benches::workloads::{self, INSERT_SIZES, MEDIUM_SIZES, TRIVIAL_SIZES};
use quarry_benches::{Backend, Fixture};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let settings = if std::env::var_os("QUARRY_BENCH_QUICK").is_some() {
        Settings::quick()
    } else {
        Settings::full()
    };
    let names =
        std::env::var("QUARRY_BENCH_DATABASES").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    let mut report = String::new();
    for name in names.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let backend = Backend::from_name(name)
            .ok_or_else(|| format!("unknown backend '{name}': sqlite, postgres or mysql"))?;
        let mut fx =
            Fixture::open(backend).map_err(|e| format!("{name} cannot be reached: {e}"))?;
        let mut rows = Vec::new();
        if "trivial_query".contains(&filter) {
            rows.extend(workloads::trivial_query(&mut fx, settings, &TRIVIAL_SIZES)?);
        }
        if "medium_complex_query".contains(&filter) {
            rows.extend(workloads::medium_complex_query(
                &mut fx,
                settings,
                &MEDIUM_SIZES,
            )?);
        }
        if "insert".contains(&filter) {
            rows.extend(workloads::insert(&mut fx, settings, &INSERT_SIZES)?);
        }
        if "loading_associations".contains(&filter) {
            rows.extend(workloads::loading_associations(&mut fx, settings)?);
        }
        fx.reset()?;
        let table = markdown_table(name, &rows);
        println!("{table}");
        report.push_str(&table);
        report.push('\n');
    }
    if let Some(path) = std::env::var_os("QUARRY_BENCH_OUT") {
        std::fs::write(path, report)?;
    }
    Ok(())
}
