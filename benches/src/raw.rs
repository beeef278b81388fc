//! The raw side: what a careful programmer writes on each driver by hand. Statements
//! are prepared once and kept; rows are read by column index into plain structs.

use std::collections::HashMap;

type BoxError = Box<dyn std::error::Error>;

/// A user row, hydrated by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawUser {
    /// Primary key.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Hair colour, NULL-able.
    pub hair_color: Option<String>,
}

/// A post row, hydrated by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPost {
    /// Primary key.
    pub id: i32,
    /// The author's key.
    pub user_id: i32,
    /// Title.
    pub title: String,
    /// Body, NULL-able.
    pub body: Option<String>,
}

/// A comment row, hydrated by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawComment {
    /// Primary key.
    pub id: i32,
    /// The post's key.
    pub post_id: i32,
    /// Text.
    pub text: String,
}

/// A user with their posts, each with its comments: loading_associations' result.
pub type UserTree = (RawUser, Vec<(RawPost, Vec<RawComment>)>);

const SELECT_USERS: &str = "SELECT id, name, hair_color FROM users";

/// medium_complex_query's statement, with the driver's placeholder.
fn medium_sql(ph: &str) -> String {
    format!(
        "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, \
         posts.body FROM users LEFT JOIN posts ON posts.user_id = users.id \
         WHERE users.hair_color = {ph}"
    )
}

/// `SELECT <columns> FROM <table> WHERE <key> IN (...)` for `n` keys.
fn in_sql(columns: &str, table: &str, key: &str, n: usize, numbered: bool) -> String {
    let phs: Vec<String> = (1..=n)
        .map(|i| {
            if numbered {
                format!("${i}")
            } else {
                "?".into()
            }
        })
        .collect();
    format!(
        "SELECT {columns} FROM {table} WHERE {key} IN ({})",
        phs.join(", ")
    )
}

/// The raw connection of one backend, with the statements it has prepared.
pub struct RawConn {
    driver: Driver,
    /// The multi-row INSERT for each batch size, written once by [`RawConn::prepare`].
    inserts: HashMap<usize, String>,
}

// One driver per fixture, held for the whole run: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Driver {
    /// `rusqlite` (its statement cache keeps the prepared statements).
    Sqlite(rusqlite::Connection),
    /// The `postgres` crate, with statements prepared by SQL text.
    Postgres(postgres::Client, HashMap<String, postgres::Statement>),
    /// The `mysql` crate, with statements prepared by SQL text.
    Mysql(mysql::Conn, HashMap<String, mysql::Statement>),
}

/// `INSERT INTO users (name, hair_color) VALUES (..), .. RETURNING id` for `n` rows,
/// with placeholders written by `ph(i)`.
fn insert_sql(n: usize, ph: impl Fn(usize) -> String) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("({}, {})", ph(2 * i + 1), ph(2 * i + 2)))
        .collect();
    format!(
        "INSERT INTO users (name, hair_color) VALUES {} RETURNING id",
        rows.join(", ")
    )
}

impl RawConn {
    fn new(driver: Driver) -> RawConn {
        RawConn {
            driver,
            inserts: HashMap::new(),
        }
    }

    /// Wraps a SQLite connection.
    pub fn sqlite(conn: rusqlite::Connection) -> RawConn {
        conn.set_prepared_statement_cache_capacity(64);
        RawConn::new(Driver::Sqlite(conn))
    }

    /// Wraps a PostgreSQL client.
    pub fn postgres(client: postgres::Client) -> RawConn {
        RawConn::new(Driver::Postgres(client, HashMap::new()))
    }

    /// Wraps a MySQL connection.
    pub fn mysql(conn: mysql::Conn) -> RawConn {
        RawConn::new(Driver::Mysql(conn, HashMap::new()))
    }

    /// Runs SQL that returns nothing.
    pub fn batch(&mut self, sql: &str) -> Result<(), BoxError> {
        match &mut self.driver {
            Driver::Sqlite(c) => c.execute_batch(sql)?,
            Driver::Postgres(c, _) => c.batch_execute(sql)?,
            Driver::Mysql(c, _) => mysql::prelude::Queryable::query_drop(c, sql)?,
        }
        Ok(())
    }

    /// Prepares the statements the workloads use, outside any timed loop.
    pub fn prepare(&mut self, insert_sizes: &[usize]) -> Result<(), BoxError> {
        let numbered = matches!(self.driver, Driver::Postgres(..));
        for &n in insert_sizes {
            let sql = if numbered {
                insert_sql(n, |i| format!("${i}"))
            } else {
                insert_sql(n, |_| "?".into())
            };
            self.inserts.insert(n, sql);
        }
        let inserts: Vec<String> = self.inserts.values().cloned().collect();
        match &mut self.driver {
            Driver::Sqlite(c) => {
                c.prepare_cached(SELECT_USERS)?;
                for sql in &inserts {
                    c.prepare_cached(sql)?;
                }
            }
            Driver::Postgres(c, stmts) => {
                for sql in std::iter::once(SELECT_USERS.to_owned()).chain(inserts) {
                    let stmt = c.prepare(&sql)?;
                    stmts.insert(sql, stmt);
                }
            }
            Driver::Mysql(c, stmts) => {
                for sql in std::iter::once(SELECT_USERS.to_owned()).chain(inserts) {
                    let stmt = mysql::prelude::Queryable::prep(c, &sql)?;
                    stmts.insert(sql, stmt);
                }
            }
        }
        Ok(())
    }

    /// trivial_query: every user, into a `Vec`.
    pub fn load_users(&mut self) -> Result<Vec<RawUser>, BoxError> {
        match &mut self.driver {
            Driver::Sqlite(c) => {
                let mut stmt = c.prepare_cached(SELECT_USERS)?;
                let rows = stmt.query_map([], |r| {
                    Ok(RawUser {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        hair_color: r.get(2)?,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Driver::Postgres(c, stmts) => {
                let stmt = &stmts[SELECT_USERS];
                Ok(c.query(stmt, &[])?
                    .iter()
                    .map(|r| RawUser {
                        id: r.get(0),
                        name: r.get(1),
                        hair_color: r.get(2),
                    })
                    .collect())
            }
            Driver::Mysql(c, stmts) => {
                let stmt = &stmts[SELECT_USERS];
                Ok(mysql::prelude::Queryable::exec_map(
                    c,
                    stmt,
                    (),
                    |(id, name, hair_color)| RawUser {
                        id,
                        name,
                        hair_color,
                    },
                )?)
            }
        }
    }

    /// medium_complex_query: black-haired users LEFT JOIN their posts, one pair per row.
    pub fn medium(&mut self) -> Result<Vec<(RawUser, Option<RawPost>)>, BoxError> {
        fn pair(c: crate::models::MediumColumns) -> (RawUser, Option<RawPost>) {
            let (id, name, hair_color, pid, user_id, title, body) = c;
            let post = pid.map(|id| RawPost {
                id,
                user_id: user_id.unwrap_or_default(),
                title: title.unwrap_or_default(),
                body,
            });
            (
                RawUser {
                    id,
                    name,
                    hair_color,
                },
                post,
            )
        }
        match &mut self.driver {
            Driver::Sqlite(c) => {
                let mut stmt = c.prepare_cached(&medium_sql("?"))?;
                let rows = stmt.query_map(["black"], |r| {
                    Ok(pair((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    )))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Driver::Postgres(c, stmts) => {
                let sql = medium_sql("$1");
                if !stmts.contains_key(&sql) {
                    let stmt = c.prepare(&sql)?;
                    stmts.insert(sql.clone(), stmt);
                }
                Ok(c.query(&stmts[&sql], &[&"black"])?
                    .iter()
                    .map(|r| {
                        pair((
                            r.get(0),
                            r.get(1),
                            r.get(2),
                            r.get(3),
                            r.get(4),
                            r.get(5),
                            r.get(6),
                        ))
                    })
                    .collect())
            }
            Driver::Mysql(c, stmts) => {
                let sql = medium_sql("?");
                if !stmts.contains_key(&sql) {
                    let stmt = mysql::prelude::Queryable::prep(&mut *c, &sql)?;
                    stmts.insert(sql.clone(), stmt);
                }
                Ok(mysql::prelude::Queryable::exec_map(
                    c,
                    &stmts[&sql],
                    ("black",),
                    pair,
                )?)
            }
        }
    }

    /// Rows of `SELECT columns FROM table WHERE key IN (keys)`, read by `read`.
    fn select_in<T, C>(
        &mut self,
        columns: &str,
        table: &str,
        key: &str,
        keys: &[i32],
        read: impl Fn(C) -> T,
    ) -> Result<Vec<T>, BoxError>
    where
        C: mysql::prelude::FromRow + FromSqliteRow + FromPgRow,
    {
        match &mut self.driver {
            Driver::Sqlite(c) => {
                let sql = in_sql(columns, table, key, keys.len(), false);
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(keys), |r| {
                    C::from_sqlite(r).map(&read)
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Driver::Postgres(c, stmts) => {
                let sql = in_sql(columns, table, key, keys.len(), true);
                if !stmts.contains_key(&sql) {
                    let stmt = c.prepare(&sql)?;
                    stmts.insert(sql.clone(), stmt);
                }
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> = keys
                    .iter()
                    .map(|k| k as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                Ok(c.query(&stmts[&sql], &params)?
                    .iter()
                    .map(|r| read(C::from_pg(r)))
                    .collect())
            }
            Driver::Mysql(c, stmts) => {
                let sql = in_sql(columns, table, key, keys.len(), false);
                if !stmts.contains_key(&sql) {
                    let stmt = mysql::prelude::Queryable::prep(&mut *c, &sql)?;
                    stmts.insert(sql.clone(), stmt);
                }
                let params: Vec<mysql::Value> = keys.iter().map(|&k| k.into()).collect();
                Ok(mysql::prelude::Queryable::exec_map(
                    c,
                    &stmts[&sql],
                    params,
                    read,
                )?)
            }
        }
    }

    /// loading_associations: every user, then their posts (`user_id IN (...)`), then
    /// the posts' comments (`post_id IN (...)`), grouped by hand.
    pub fn associations(&mut self) -> Result<Vec<UserTree>, BoxError> {
        let users = self.load_users()?;
        let user_ids: Vec<i32> = users.iter().map(|u| u.id).collect();
        let posts = self.select_in(
            "id, user_id, title, body",
            "posts",
            "user_id",
            &user_ids,
            |(id, user_id, title, body): (i32, i32, String, Option<String>)| RawPost {
                id,
                user_id,
                title,
                body,
            },
        )?;
        let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
        let comments = self.select_in(
            "id, post_id, text",
            "comments",
            "post_id",
            &post_ids,
            |(id, post_id, text): (i32, i32, String)| RawComment { id, post_id, text },
        )?;
        let mut by_post: HashMap<i32, Vec<RawComment>> = HashMap::with_capacity(posts.len());
        for c in comments {
            by_post.entry(c.post_id).or_default().push(c);
        }
        let mut by_user: HashMap<i32, Vec<(RawPost, Vec<RawComment>)>> =
            HashMap::with_capacity(users.len());
        for p in posts {
            let cs = by_post.remove(&p.id).unwrap_or_default();
            by_user.entry(p.user_id).or_default().push((p, cs));
        }
        Ok(users
            .into_iter()
            .map(|u| {
                let ps = by_user.remove(&u.id).unwrap_or_default();
                (u, ps)
            })
            .collect())
    }

    /// insert: the users in one multi-row INSERT, their generated keys read back into
    /// them (what `bulk_create` does).
    pub fn insert_users(&mut self, users: &mut [RawUser]) -> Result<(), BoxError> {
        let sql = self
            .inserts
            .get(&users.len())
            .ok_or("RawConn::prepare was not given this batch size")?;
        match &mut self.driver {
            Driver::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let params: Vec<&dyn rusqlite::ToSql> = users
                    .iter()
                    .flat_map(|u| [&u.name as &dyn rusqlite::ToSql, &u.hair_color])
                    .collect();
                let mut rows = stmt.query(params.as_slice())?;
                let mut i = 0;
                while let Some(row) = rows.next()? {
                    users[i].id = row.get(0)?;
                    i += 1;
                }
            }
            Driver::Postgres(c, stmts) => {
                let stmt = &stmts[sql];
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> = users
                    .iter()
                    .flat_map(|u| {
                        [
                            &u.name as &(dyn postgres::types::ToSql + Sync),
                            &u.hair_color,
                        ]
                    })
                    .collect();
                let rows = c.query(stmt, &params)?;
                drop(params);
                for (u, row) in users.iter_mut().zip(rows) {
                    u.id = row.get(0);
                }
            }
            Driver::Mysql(c, stmts) => {
                let stmt = &stmts[sql];
                let params: Vec<mysql::Value> = users
                    .iter()
                    .flat_map(|u| [u.name.clone().into(), u.hair_color.clone().into()])
                    .collect();
                let ids: Vec<i32> = mysql::prelude::Queryable::exec(c, stmt, params)?;
                for (u, id) in users.iter_mut().zip(ids) {
                    u.id = id;
                }
            }
        }
        Ok(())
    }
}

/// A tuple of columns read from a rusqlite row by index.
pub trait FromSqliteRow: Sized {
    /// Reads the columns.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// A tuple of columns read from a `postgres` row by index.
pub trait FromPgRow: Sized {
    /// Reads the columns.
    fn from_pg(row: &postgres::Row) -> Self;
}

macro_rules! tuple_rows {
    ($($t:ident $i:tt),+) => {
        impl<$($t),+> FromSqliteRow for ($($t,)+)
        where
            $($t: rusqlite::types::FromSql),+
        {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }

        impl<$($t),+> FromPgRow for ($($t,)+)
        where
            $(for<'a> $t: postgres::types::FromSql<'a>),+
        {
            fn from_pg(row: &postgres::Row) -> Self {
                ($(row.get::<_, $t>($i),)+)
            }
        }
    };
}

tuple_rows!(A 0, B 1, C 2);
tuple_rows!(A 0, B 1, C 2, D 3);
