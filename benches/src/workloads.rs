//! The workloads, each as a raw closure and a quarry closure over the same data.

use crate::harness::{compare, BoxError, Measurement, Settings};
use crate::models::{user_fields, User};
use crate::raw::RawUser;
use crate::setup::Fixture;
use quarry::prelude::*;
use std::hint::black_box;

/// The sizes of trivial_query.
pub const TRIVIAL_SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// The sizes of insert.
pub const INSERT_SIZES: [usize; 5] = [1, 10, 25, 50, 100];

/// quarry's side of trivial_query.
pub fn quarry_users(db: &Database) -> quarry::Result<Vec<User>> {
    User::objects().all(db)
}

fn new_users(n: usize) -> impl Iterator<Item = (String, Option<String>)> {
    (0..n).map(|i| user_fields(i, true))
}

/// quarry's side of insert.
pub fn quarry_insert(db: &Database, n: usize) -> quarry::Result<Vec<User>> {
    let users = new_users(n).map(|(name, hc)| User::new(name, hc)).collect();
    User::objects().bulk_create(db, users, &BulkCreate::new())
}

/// The raw side of insert.
pub fn raw_insert(fx: &mut Fixture, n: usize) -> Result<Vec<RawUser>, BoxError> {
    let mut users: Vec<RawUser> = new_users(n)
        .map(|(name, hair_color)| RawUser {
            id: 0,
            name,
            hair_color,
        })
        .collect();
    fx.raw.insert_users(&mut users)?;
    Ok(users)
}

/// trivial_query: N users with NULL hair colour, all loaded into a `Vec`.
pub fn trivial_query(
    fx: &mut Fixture,
    settings: Settings,
    sizes: &[usize],
) -> Result<Vec<Measurement>, BoxError> {
    let mut out = Vec::new();
    for &n in sizes {
        fx.load_users(n, false)?;
        fx.raw.prepare(&[])?;
        let db = fx.db.clone();
        let raw = &mut fx.raw;
        out.push(compare(
            settings,
            "trivial_query",
            n,
            &mut || {
                black_box(raw.load_users()?);
                Ok(())
            },
            &mut || {
                black_box(quarry_users(&db)?);
                Ok(())
            },
        )?);
    }
    Ok(out)
}

/// insert: N new users in one `bulk_create` (one multi-row INSERT) per iteration.
pub fn insert(
    fx: &mut Fixture,
    settings: Settings,
    sizes: &[usize],
) -> Result<Vec<Measurement>, BoxError> {
    let mut out = Vec::new();
    fx.reset()?;
    fx.raw.prepare(sizes)?;
    for &n in sizes {
        let db = fx.db.clone();
        let fx = &mut *fx;
        let mut raw = || -> Result<(), BoxError> {
            black_box(raw_insert(fx, n)?);
            Ok(())
        };
        out.push(compare(settings, "insert", n, &mut raw, &mut || {
            black_box(quarry_insert(&db, n)?);
            Ok(())
        })?);
    }
    Ok(out)
}
