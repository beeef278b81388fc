//! The workloads: load the data, check every side against the raw driver, then time
//! each side against the raw driver with the suite's harness.

use crate::side::{new_users, Outcome, Side, UserRow, Work};
use quarry::Executor;
use quarry_benches::data;
use quarry_benches::harness::{compare, BoxError, Measurement, Settings};
use quarry_benches::raw::{RawPost, RawUser};
use quarry_benches::workloads::{raw_insert, ASSOCIATIONS};
use quarry_benches::Fixture;
use std::collections::HashMap;
use std::hint::black_box;

/// One library under test on one backend.
pub struct Entry {
    /// Its name in the report.
    pub name: &'static str,
    /// Its side, or `None` where it does not run on this backend.
    pub side: Option<Box<dyn Side>>,
    /// True when it holds its own copy of the data (SQLite in memory, except quarry,
    /// whose copy the fixture loads).
    pub own_data: bool,
    /// True when part of its work runs on another thread, which the client CPU ratio
    /// (the benchmark thread's CPU time) does not count.
    pub off_thread: bool,
}

/// One case: a workload at one size, with each entry's measurement against raw.
pub struct Row {
    /// Workload name.
    pub workload: &'static str,
    /// Its size.
    pub n: usize,
    /// One measurement per entry, in entry order (`None`: not run on this backend).
    pub cells: Vec<Option<Measurement>>,
}

/// The fixture and the libraries of one backend, with the timing settings.
pub struct Runner<'a> {
    /// The raw side and quarry's database.
    pub fx: &'a mut Fixture,
    /// The libraries under test.
    pub entries: &'a mut [Entry],
    /// How long to measure.
    pub settings: Settings,
}

fn user_row(u: &RawUser) -> UserRow {
    (u.id, u.name.clone(), u.hair_color.clone())
}

fn post_row(p: &RawPost) -> crate::side::PostRow {
    (p.id, p.user_id, p.title.clone(), p.body.clone())
}

/// The raw side's result of `work`, as plain rows.
fn raw_outcome(fx: &mut Fixture, work: Work) -> Result<Outcome, BoxError> {
    Ok(match work {
        Work::Users => Outcome::Users(fx.raw.load_users()?.iter().map(user_row).collect()),
        Work::Medium => Outcome::Medium(
            fx.raw
                .medium()?
                .iter()
                .map(|(u, p)| (user_row(u), p.as_ref().map(post_row)))
                .collect(),
        ),
        Work::Insert(n) => Outcome::Keys(raw_insert(fx, n)?.iter().map(|u| u.id).collect()),
        Work::Associations => Outcome::Tree(
            fx.raw
                .associations()?
                .iter()
                .map(|(u, posts)| {
                    let posts = posts
                        .iter()
                        .map(|(p, cs)| {
                            let cs = cs.iter().map(|c| (c.id, c.post_id, c.text.clone()));
                            (post_row(p), cs.collect())
                        })
                        .collect();
                    (user_row(u), posts)
                })
                .collect(),
        ),
    })
}

/// The raw side's timed call.
fn raw_run(fx: &mut Fixture, work: Work) -> Result<(), BoxError> {
    match work {
        Work::Users => {
            black_box(fx.raw.load_users()?);
        }
        Work::Medium => {
            black_box(fx.raw.medium()?);
        }
        Work::Insert(n) => {
            black_box(raw_insert(fx, n)?);
        }
        Work::Associations => {
            black_box(fx.raw.associations()?);
        }
    }
    Ok(())
}

/// The number of rows (users for the tree) in a result.
fn len(o: &Outcome) -> usize {
    match o {
        Outcome::Users(v) => v.len(),
        Outcome::Medium(v) => v.len(),
        Outcome::Keys(v) => v.len(),
        Outcome::Tree(v) => v.len(),
    }
}

/// Checks that `keys` are the `n` fresh keys of users `0..n` as `rows` (every user of
/// the table) hold them.
fn check_inserted(who: &str, n: usize, keys: &[i32], rows: &[UserRow]) -> Result<(), BoxError> {
    let by_id: HashMap<i32, &UserRow> = rows.iter().map(|r| (r.0, r)).collect();
    let mut seen = std::collections::HashSet::new();
    if keys.len() != n {
        return Err(format!("{who}: insert N={n} returned {} keys", keys.len()).into());
    }
    for (key, (name, colour)) in keys.iter().zip(new_users(n)) {
        let row = by_id
            .get(key)
            .ok_or_else(|| format!("{who}: insert N={n}: key {key} is not in the table"))?;
        if !seen.insert(*key) || (&row.1, &row.2) != (&name, &colour) {
            return Err(format!("{who}: insert N={n}: key {key} holds {row:?}, not {name}").into());
        }
    }
    Ok(())
}

impl Runner<'_> {
    /// Runs `sql` on every side that holds its own copy of the data.
    fn replay(&mut self, statements: &[String]) -> Result<(), BoxError> {
        for e in self.entries.iter_mut().filter(|e| e.own_data) {
            if let Some(side) = &mut e.side {
                for sql in statements {
                    side.run_sql(sql)?;
                }
            }
        }
        Ok(())
    }

    /// Checks that every side returns what the raw side returns for `work`, and that
    /// the raw side returns `rows` rows, so that no side measures an empty result.
    fn check(&mut self, workload: &str, work: Work, rows: usize) -> Result<(), BoxError> {
        if let Work::Insert(n) = work {
            return self.check_insert(n);
        }
        let expected = raw_outcome(self.fx, work)?.sorted();
        if len(&expected) != rows {
            return Err(format!(
                "raw: {workload} returned {} rows, not {rows}",
                len(&expected)
            )
            .into());
        }
        for e in self.entries.iter_mut() {
            let Some(side) = &mut e.side else { continue };
            let got = side.outcome(work)?.sorted();
            if got != expected {
                return Err(format!(
                    "{}: {workload} returned {} rows that differ from the raw side's {}",
                    e.name,
                    len(&got),
                    len(&expected)
                )
                .into());
            }
        }
        Ok(())
    }

    /// insert's check: every side's keys are fresh and name the rows it wrote.
    fn check_insert(&mut self, n: usize) -> Result<(), BoxError> {
        let keys = raw_insert(self.fx, n)?
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>();
        let rows: Vec<UserRow> = self.fx.raw.load_users()?.iter().map(user_row).collect();
        check_inserted("raw", n, &keys, &rows)?;
        for e in self.entries.iter_mut() {
            let Some(side) = &mut e.side else { continue };
            let Outcome::Keys(keys) = side.outcome(Work::Insert(n))? else {
                unreachable!("insert returns keys")
            };
            let Outcome::Users(rows) = side.outcome(Work::Users)? else {
                unreachable!("trivial_query returns users")
            };
            check_inserted(e.name, n, &keys, &rows)?;
        }
        Ok(())
    }

    /// Times every side against the raw side on `work`.
    fn measure(&mut self, workload: &'static str, n: usize, work: Work) -> Result<Row, BoxError> {
        let mut cells = Vec::new();
        for e in self.entries.iter_mut() {
            let Some(side) = &mut e.side else {
                cells.push(None);
                continue;
            };
            let fx = &mut *self.fx;
            cells.push(Some(compare(
                self.settings,
                workload,
                n,
                &mut || raw_run(fx, work),
                &mut || side.run(work),
            )?));
            eprintln!("  {workload} N={n}: {} done", e.name);
        }
        Ok(Row { workload, n, cells })
    }

    /// Before any timing, medium_complex_query on data that has posts (the timed data
    /// has none, as in the suite): 9 users, two posts for user 1 and one for user 2.
    pub fn preflight(&mut self) -> Result<(), BoxError> {
        let dialect = self.fx.db.dialect();
        self.fx.load_users(9, true)?;
        self.replay(&data::users(dialect, 9, true))?;
        let posts = "INSERT INTO posts (user_id, title, body) VALUES (1, 'Post 0 by user 1', \
                     NULL), (1, 'Post 1 by user 1', 'text'), (2, 'Post 2 by user 2', NULL)";
        self.fx.run_sql(posts)?;
        self.replay(&[posts.to_owned()])?;
        self.fx.raw.prepare(&[])?;
        self.check("medium_complex_query (with posts)", Work::Medium, 6)?;
        let Outcome::Medium(pairs) = raw_outcome(self.fx, Work::Medium)? else {
            unreachable!("medium returns pairs")
        };
        let with_post = pairs.iter().filter(|(_, p)| p.is_some()).count();
        if with_post != 2 {
            return Err(format!("raw: {with_post} users with a post, not 2").into());
        }
        Ok(())
    }

    /// trivial_query: `n` users with NULL hair colour, all loaded.
    pub fn trivial_query(&mut self, sizes: &[usize]) -> Result<Vec<Row>, BoxError> {
        let dialect = self.fx.db.dialect();
        let mut out = Vec::new();
        for &n in sizes {
            self.fx.load_users(n, false)?;
            self.replay(&data::users(dialect, n, false))?;
            self.fx.raw.prepare(&[])?;
            self.check("trivial_query", Work::Users, n)?;
            out.push(self.measure("trivial_query", n, Work::Users)?);
        }
        Ok(out)
    }

    /// medium_complex_query: `n` users with alternating hair colours, the black-haired
    /// half LEFT JOIN their posts (none).
    pub fn medium_complex_query(&mut self, sizes: &[usize]) -> Result<Vec<Row>, BoxError> {
        let dialect = self.fx.db.dialect();
        let mut out = Vec::new();
        for &n in sizes {
            self.fx.load_users(n, true)?;
            self.replay(&data::users(dialect, n, true))?;
            self.fx.raw.prepare(&[])?;
            self.check("medium_complex_query", Work::Medium, n.div_ceil(2))?;
            out.push(self.measure("medium_complex_query", n, Work::Medium)?);
        }
        Ok(out)
    }

    /// insert: `n` users in one multi-row INSERT per iteration, keys read back.
    pub fn insert(&mut self, sizes: &[usize]) -> Result<Vec<Row>, BoxError> {
        let dialect = self.fx.db.dialect();
        self.fx.reset()?;
        self.replay(&data::reset(dialect))?;
        self.fx.raw.prepare(sizes)?;
        let mut out = Vec::new();
        for &n in sizes {
            self.check("insert", Work::Insert(n), n)?;
            out.push(self.measure("insert", n, Work::Insert(n))?);
        }
        Ok(out)
    }

    /// loading_associations: 100 users, 10 posts each, 10 comments per post.
    pub fn loading_associations(&mut self) -> Result<Vec<Row>, BoxError> {
        let dialect = self.fx.db.dialect();
        let (users, posts, comments) = ASSOCIATIONS;
        self.fx.load_associations(users, posts, comments)?;
        self.replay(&data::associations(dialect, users, posts, comments))?;
        self.fx.raw.prepare(&[])?;
        self.check("loading_associations", Work::Associations, users)?;
        let Outcome::Tree(tree) = raw_outcome(self.fx, Work::Associations)? else {
            unreachable!("associations return a tree")
        };
        let full = tree
            .iter()
            .all(|(_, ps)| ps.len() == posts && ps.iter().all(|(_, cs)| cs.len() == comments));
        if !full {
            return Err("raw: loading_associations' tree is not 100 × 10 × 10".into());
        }
        Ok(vec![self.measure(
            "loading_associations",
            users,
            Work::Associations,
        )?])
    }
}
