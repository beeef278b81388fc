//! The workloads, each as a raw closure and a quarry closure over the same data.

use crate::harness::{compare, BoxError, Measurement, Settings};
use crate::models::{user_fields, MediumColumns, Post, User};
use crate::raw::RawUser;
use crate::setup::Fixture;
use quarry::prelude::*;
use std::hint::black_box;

/// The sizes of trivial_query.
pub const TRIVIAL_SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// The sizes of insert.
pub const INSERT_SIZES: [usize; 5] = [1, 10, 25, 50, 100];
/// The sizes of medium_complex_query (users; half of them black-haired).
pub const MEDIUM_SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// loading_associations: users, posts per user, comments per post.
pub const ASSOCIATIONS: (usize, usize, usize) = (100, 10, 10);

/// A user and its post, read from the seven columns of one row as it arrives: a row
/// type of the caller's own, through the tuple's reader (`FromQueryRow`), as the raw
/// side builds its pair inside its row callback.
struct UserPost((User, Option<Post>));

impl quarry::query::FromQueryRow for UserPost {
    #[inline]
    fn from_query_row<R: quarry::Row + ?Sized>(
        row: &R,
        shape: &quarry::query::RowShape,
    ) -> quarry::Result<Self> {
        let (id, name, hair_color, post_id, user_id, title, body) =
            MediumColumns::from_query_row(row, shape)?;
        let user = User {
            id,
            name,
            hair_color,
            _state: ModelState::loaded(),
        };
        let post = post_id.map(|id| Post {
            id,
            user: ForeignKey::new(user_id.unwrap_or_default()),
            title: title.unwrap_or_default(),
            body,
            _state: ModelState::loaded(),
        });
        Ok(UserPost((user, post)))
    }
}

impl quarry::query::ValuesTuple for UserPost {
    const WIDTH: usize = <MediumColumns as quarry::query::ValuesTuple>::WIDTH;
}

/// quarry's side of medium_complex_query: `values_list_as` across the reverse relation
/// (a LEFT OUTER JOIN, as Django writes it), each row made into a user and its post as
/// it is read; the raw side reads the same columns into the same pair.
pub fn quarry_medium(db: &Database) -> quarry::Result<Vec<(User, Option<Post>)>> {
    let rows: Vec<UserPost> = User::objects()
        .filter(q!(hair_color = "black"))
        .values_list_as([
            "id",
            "name",
            "hair_color",
            "posts__id",
            "posts__user",
            "posts__title",
            "posts__body",
        ])
        .all(db)?;
    // The same layout: the vector is reused in place.
    Ok(rows.into_iter().map(|UserPost(pair)| pair).collect())
}

/// quarry's side of loading_associations: three queries, the posts and comments kept
/// on their parents.
pub fn quarry_associations(db: &Database) -> quarry::Result<Vec<User>> {
    User::objects()
        .prefetch_related(["posts__comments"])
        .all(db)
}

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

/// medium_complex_query: N users (alternating hair colours, no posts), the black-haired
/// ones LEFT JOIN their posts, as `(user, Option<post>)` pairs.
pub fn medium_complex_query(
    fx: &mut Fixture,
    settings: Settings,
    sizes: &[usize],
) -> Result<Vec<Measurement>, BoxError> {
    let mut out = Vec::new();
    for &n in sizes {
        fx.load_users(n, true)?;
        let db = fx.db.clone();
        let raw = &mut fx.raw;
        out.push(compare(
            settings,
            "medium_complex_query",
            n,
            &mut || {
                black_box(raw.medium()?);
                Ok(())
            },
            &mut || {
                black_box(quarry_medium(&db)?);
                Ok(())
            },
        )?);
    }
    Ok(out)
}

/// loading_associations: 100 users, 10 posts each, 10 comments per post, loaded with
/// their posts and the posts' comments in three queries.
pub fn loading_associations(
    fx: &mut Fixture,
    settings: Settings,
) -> Result<Vec<Measurement>, BoxError> {
    let (users, posts, comments) = ASSOCIATIONS;
    fx.load_associations(users, posts, comments)?;
    fx.raw.prepare(&[])?;
    let db = fx.db.clone();
    let raw = &mut fx.raw;
    Ok(vec![compare(
        settings,
        "loading_associations",
        users,
        &mut || {
            black_box(raw.associations()?);
            Ok(())
        },
        &mut || {
            black_box(quarry_associations(&db)?);
            Ok(())
        },
    )?])
}
