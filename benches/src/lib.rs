//! quarry against the raw drivers on the workloads the Rust ORM projects compare on.
//!
//! Every workload has two sides run on the same data in the same process: the raw
//! driver (`rusqlite`, `postgres`, `mysql`) with hand-written SQL, prepared once and
//! hydrated by hand, and quarry's natural API. [`harness`] times them in alternating
//! pairs and reports the median of the per-pair ratios. `cargo bench -p quarry-benches`
//! runs it; `benches/run.sh` writes `BENCHMARKS.md`.

pub mod data;
pub mod harness;
pub mod models;
pub mod raw;
pub mod setup;
pub mod workloads;

pub use setup::{Backend, Fixture};
