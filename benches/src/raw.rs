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

const SELECT_USERS: &str = "SELECT id, name, hair_color FROM users";

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
