//! Runs one side of one workload in a loop, for a profiler:
//! `profile <sqlite|postgres|mysql> <workload> <n> <raw|quarry> <iterations>`, the
//! workload one of trivial_query, insert, medium_complex_query, loading_associations
//! (whose n is ignored).
//!
//! Under `valgrind --tool=callgrind` the instruction counts of the two sides compare
//! the per-query work exactly, whatever else the machine is doing.

use quarry_benches::workloads::{
    quarry_associations, quarry_insert, quarry_medium, quarry_users, raw_insert, ASSOCIATIONS,
};
use quarry_benches::{Backend, Fixture};
use std::hint::black_box;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [backend, workload, n, side, iters] = args.as_slice() else {
        return Err("usage: profile <backend> <workload> <n> <raw|quarry> <iterations>".into());
    };
    let backend = Backend::from_name(backend).ok_or("unknown backend")?;
    let n: usize = n.parse()?;
    let iters: usize = iters.parse()?;
    let mut fx = Fixture::open(backend)?;
    let raw = side == "raw";
    match workload.as_str() {
        "trivial_query" => {
            fx.load_users(n, false)?;
            fx.raw.prepare(&[])?;
            for _ in 0..iters {
                if raw {
                    black_box(fx.raw.load_users()?);
                } else {
                    black_box(quarry_users(&fx.db)?);
                }
            }
        }
        "insert" => {
            fx.reset()?;
            fx.raw.prepare(&[n])?;
            for _ in 0..iters {
                if raw {
                    black_box(raw_insert(&mut fx, n)?);
                } else {
                    black_box(quarry_insert(&fx.db, n)?);
                }
            }
        }
        "medium_complex_query" => {
            fx.load_users(n, true)?;
            for _ in 0..iters {
                if raw {
                    black_box(fx.raw.medium()?);
                } else {
                    black_box(quarry_medium(&fx.db)?);
                }
            }
        }
        "loading_associations" => {
            let (users, posts, comments) = ASSOCIATIONS;
            fx.load_associations(users, posts, comments)?;
            fx.raw.prepare(&[])?;
            for _ in 0..iters {
                if raw {
                    black_box(fx.raw.associations()?);
                } else {
                    black_box(quarry_associations(&fx.db)?);
                }
            }
        }
        other => return Err(format!("unknown workload {other}").into()),
    }
    Ok(())
}
