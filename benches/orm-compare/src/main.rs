//! Diesel, SeaORM, sqlx and quarry against the raw drivers, on the workloads of
//! `quarry-benches`, in one process.
//!
//! For every backend, every workload and every size, each library is first checked
//! against the raw driver (same rows), then timed against it with the suite's harness
//! (`harness::compare`: alternating pairs, the median of the per-pair ratios). The
//! raw side and quarry's side are the suite's own. One Markdown table per backend goes
//! to stdout, and to a file with `--out PATH` (or `ORM_COMPARE_OUT`).
//!
//! Arguments, all optional:
//!
//! - `--quick`: `Settings::quick()`, a smoke run (default `Settings::full()`);
//! - `--pairs N`: that many pairs per case instead;
//! - `--backends sqlite,postgres,mysql` (or `ORM_COMPARE_DATABASES`; default all three);
//! - `--out PATH`: also write the tables there;
//! - a word: only the workloads whose name contains it.
//!
//! The servers are those of the suite (`QUARRY_POSTGRES_URL`, `QUARRY_MYSQL_URL`, with
//! the same defaults); the scratch schema or database is [`SCRATCH`].

mod orm_diesel;
mod orm_quarry;
mod orm_sea;
mod orm_sqlx;
mod report;
mod run;
mod side;

use orm_diesel::DieselSide;
use orm_quarry::QuarrySide;
use orm_sea::SeaOrmSide;
use orm_sqlx::SqlxSide;
use quarry_benches::harness::{BoxError, Settings};
use quarry_benches::workloads::{INSERT_SIZES, MEDIUM_SIZES, TRIVIAL_SIZES};
use quarry_benches::{Backend, Fixture};
use run::{Entry, Runner};
use side::Side;
use std::time::Instant;

/// The PostgreSQL schema or MariaDB database this program creates, fills and drops
/// (not the suite's `quarry_bench`, so that both can run at once).
pub const SCRATCH: &str = "quarry_orm_compare";

/// A current-thread tokio runtime, one per async side, driven by `block_on` on the
/// benchmark's thread.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn env_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// The URL the fixture connects to in `scratch`, with the schema on the search path.
fn postgres_url(scratch: &str) -> String {
    let base = env_url(
        "QUARRY_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{scratch}")
}

/// The URL of the database `scratch` on the fixture's MariaDB server.
fn mysql_url(scratch: &str) -> String {
    let base = env_url("QUARRY_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    match base.rfind('/') {
        Some(i) => format!("{}/{scratch}", &base[..i]),
        None => base,
    }
}

/// The libraries under test on `backend`, in report order.
fn entries(backend: Backend, fx: &Fixture) -> Result<Vec<Entry>, BoxError> {
    let sqlite = backend == Backend::Sqlite;
    let (diesel, url): (Option<Box<dyn Side>>, String) = match backend {
        Backend::Sqlite => (
            Some(Box::new(DieselSide::sqlite()?)),
            "sqlite::memory:".into(),
        ),
        Backend::Postgres => {
            let url = postgres_url(SCRATCH);
            (Some(Box::new(DieselSide::postgres(&url)?)), url)
        }
        // Diesel's MySQL backend links libmysqlclient, which is not installed.
        Backend::Mysql => (None, mysql_url(SCRATCH)),
    };
    Ok(vec![
        Entry {
            name: "diesel",
            side: diesel,
            own_data: sqlite,
            off_thread: false,
        },
        Entry {
            name: "sea-orm",
            side: Some(Box::new(SeaOrmSide::connect(&url)?)),
            own_data: sqlite,
            off_thread: sqlite,
        },
        Entry {
            name: "sqlx",
            side: Some(Box::new(SqlxSide::connect(&url)?)),
            own_data: sqlite,
            off_thread: sqlite,
        },
        Entry {
            name: "quarry",
            side: Some(Box::new(QuarrySide::new(fx.db.clone()))),
            own_data: false,
            off_thread: false,
        },
    ])
}

/// The command line.
struct Args {
    settings: Settings,
    backends: Vec<Backend>,
    out: Option<String>,
    filter: String,
}

fn args() -> Result<Args, BoxError> {
    let mut settings = Settings::full();
    let mut pairs = None;
    let mut backends =
        std::env::var("ORM_COMPARE_DATABASES").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    let mut out = std::env::var("ORM_COMPARE_OUT").ok();
    let mut filter = String::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--quick" => settings = Settings::quick(),
            "--pairs" => pairs = Some(value()?.parse()?),
            "--backends" => backends = value()?,
            "--out" => out = Some(value()?),
            // `cargo bench`-style flags that a runner may pass.
            _ if a.starts_with("--") => {}
            _ => filter = a,
        }
    }
    if let Some(p) = pairs {
        settings.pairs = p;
    }
    let backends = backends
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Backend::from_name(s)
                .ok_or_else(|| format!("unknown backend '{s}': sqlite, postgres or mysql"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Args {
        settings,
        backends,
        out,
        filter,
    })
}

/// Every selected workload on one backend, as a Markdown table.
fn run_backend(backend: Backend, args: &Args) -> Result<String, BoxError> {
    let name = backend.name();
    let mut fx =
        Fixture::open_in(backend, SCRATCH).map_err(|e| format!("{name} cannot be reached: {e}"))?;
    let mut entries = entries(backend, &fx)?;
    let mut runner = Runner {
        fx: &mut fx,
        entries: &mut entries,
        settings: args.settings,
    };
    runner.preflight()?;
    let wanted = |w: &str| w.contains(&args.filter);
    let mut rows = Vec::new();
    if wanted("trivial_query") {
        rows.extend(runner.trivial_query(&TRIVIAL_SIZES)?);
    }
    if wanted("medium_complex_query") {
        rows.extend(runner.medium_complex_query(&MEDIUM_SIZES)?);
    }
    if wanted("insert") {
        rows.extend(runner.insert(&INSERT_SIZES)?);
    }
    if wanted("loading_associations") {
        rows.extend(runner.loading_associations()?);
    }
    let table = report::table(name, &entries, &rows, args.settings);
    drop(entries);
    fx.destroy()?;
    Ok(table)
}

fn main() -> Result<(), BoxError> {
    let args = args()?;
    let mut report = String::new();
    for &backend in &args.backends {
        let start = Instant::now();
        eprintln!("{}:", backend.name());
        let table = run_backend(backend, &args)?;
        eprintln!("{}: {:.0?}", backend.name(), start.elapsed());
        println!("{table}");
        report.push_str(&table);
        report.push('\n');
    }
    if let Some(path) = &args.out {
        std::fs::write(path, report)?;
    }
    Ok(())
}
