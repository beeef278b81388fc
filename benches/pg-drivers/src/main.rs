//! PostgreSQL clients side by side on quarry's `trivial_query` workload.
//!
//! quarry talks to PostgreSQL through the sync `postgres` 0.19 crate. This program asks
//! how much of the per-query and per-row cost is the client's own, by running the same
//! query through several clients in one process, against the same server, on the same
//! data:
//!
//! | client | how a query runs |
//! |---|---|
//! | `postgres` | `postgres` 0.19 (sync), `client.query(&stmt, &[])`, quarry's call (the baseline) |
//! | `postgres raw` | `postgres` 0.19, `client.query_raw(&stmt, [])`, rows pulled one by one from its `RowIter` |
//! | `tokio-postgres` | `tokio-postgres` 0.7, `client.query(&stmt, &[])` in `block_on` on a current-thread tokio runtime |
//! | `tokio-postgres raw` | `tokio-postgres` 0.7, `client.query_raw(&stmt, [])`, the `RowStream` read in the same `block_on` |
//! | `sqlx` | `sqlx` 0.8 (postgres + runtime-tokio only), `query_as(..).fetch_all(&mut conn)` in `block_on` on a current-thread runtime; sqlx prepares the statement once and keeps it (`persistent` is its default) |
//! | `libpq` | the C client through `pq-sys` (cargo feature `libpq`, on by default): `PQexecPrepared` with binary results, read with `PQgetvalue`; for reference, it is not a pure-Rust option |
//!
//! # Workload
//!
//! Table `quarry_pg_drivers.users(id serial primary key, name varchar not null, hair_color
//! varchar null)` in database `test` on 127.0.0.1:5432 (user `postgres`, trust auth),
//! filled with N rows `name = "User {i}"`, `hair_color` NULL, for N = 1, 10, 100, 1000,
//! 10000. The data is loaded once per N, outside the timing. Timed: `SELECT id, name,
//! hair_color FROM users`, a statement each client prepared once, with every row read by
//! column index into a `Vec<User { id: i32, name: String, hair_color: Option<String> }>`
//! (the `Vec` is built and dropped inside the timing).
//!
//! # Timing
//!
//! For each N: every client runs for about 200 ms of warm-up, and its results are checked
//! against the baseline's. From the warm-up, an iteration count is chosen so that a batch
//! of the average client takes about 20 ms. Then 31 rounds: in each, every client runs that same
//! number of iterations back to back (the order rotates by one each round), and the
//! batch's time divided by the count is that client's per-iteration time for the round.
//! Reported: the median over rounds of each client's per-iteration time, and the median
//! over rounds of its ratio to `postgres` in the same round (with the ratios'
//! interquartile range). The same is reported for the main thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`: the client's own work, user and kernel, without the
//! server's and without waiting), which a busy machine disturbs less than the wall
//! time of small queries (less, not never: with compilers running on both cores it too
//! was seen to jump by ~30 µs a query for whole batches). Rounds interleave the clients so that a slow spell of the machine
//! falls on all of them rather than on one.
//!
//! Arguments (all optional): `--rounds R` (31), `--sizes 1,10,100` (1,10,100,1000,10000),
//! `--batch-ms MS` (20), `--dump` (every round's times as CSV on stderr).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// libpq-style connection string shared by every client but sqlx.
const CONNINFO: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
/// The same server for sqlx.
const SQLX_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Schema of this benchmark's own table; every connection puts it first on its search_path.
/// (Not `pg_drivers`: PostgreSQL keeps the `pg_` prefix for system schemas.)
const SCHEMA: &str = "quarry_pg_drivers";
/// The timed query.
const SELECT_USERS: &str = "SELECT id, name, hair_color FROM users";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One row of the result, read by column index.
#[derive(Debug, Clone, PartialEq)]
struct User {
    id: i32,
    name: String,
    hair_color: Option<String>,
}

/// A client under test: a name and a closure that runs the query once.
struct Client {
    name: &'static str,
    run: Box<dyn FnMut() -> Vec<User>>,
}

/// `postgres` 0.19, `client.query`: all rows are received into a `Vec<Row>` first,
/// then mapped.
fn postgres_query() -> Result<Client, Error> {
    let mut client = postgres::Client::connect(CONNINFO, postgres::NoTls)?;
    client.batch_execute(&format!("SET search_path TO {SCHEMA}"))?;
    let stmt = client.prepare(SELECT_USERS)?;
    Ok(Client {
        name: "postgres",
        run: Box::new(move || {
            client
                .query(&stmt, &[])
                .expect("postgres query")
                .iter()
                .map(|r| User {
                    id: r.get(0),
                    name: r.get(1),
                    hair_color: r.get(2),
                })
                .collect()
        }),
    })
}

/// `postgres` 0.19, `client.query_raw`: rows are mapped as they arrive; every
/// `RowIter::next` enters the crate's internal runtime.
fn postgres_query_raw() -> Result<Client, Error> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut client = postgres::Client::connect(CONNINFO, postgres::NoTls)?;
    client.batch_execute(&format!("SET search_path TO {SCHEMA}"))?;
    let stmt = client.prepare(SELECT_USERS)?;
    Ok(Client {
        name: "postgres raw",
        run: Box::new(move || {
            let mut rows = client
                .query_raw(&stmt, std::iter::empty::<i32>())
                .expect("postgres query_raw");
            let mut users = Vec::new();
            while let Some(r) = rows.next().expect("postgres row") {
                users.push(User {
                    id: r.get(0),
                    name: r.get(1),
                    hair_color: r.get(2),
                });
            }
            users
        }),
    })
}

/// A current-thread tokio runtime, as the async clients get one each.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A `tokio-postgres` connection whose connection task is spawned on `rt` (it runs
/// whenever `rt.block_on` does), with its statement prepared.
fn tokio_postgres_connect(
    rt: &tokio::runtime::Runtime,
) -> Result<(tokio_postgres::Client, tokio_postgres::Statement), Error> {
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(CONNINFO, tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("tokio-postgres connection: {e}");
            }
        });
        client
            .batch_execute(&format!("SET search_path TO {SCHEMA}"))
            .await?;
        let stmt = client.prepare(SELECT_USERS).await?;
        Ok((client, stmt))
    })
}

/// `tokio-postgres` 0.7, `client.query` in one `block_on` per query.
fn tokio_postgres_query() -> Result<Client, Error> {
    let rt = runtime()?;
    let (client, stmt) = tokio_postgres_connect(&rt)?;
    Ok(Client {
        name: "tokio-postgres",
        run: Box::new(move || {
            rt.block_on(client.query(&stmt, &[]))
                .expect("tokio-postgres query")
                .iter()
                .map(|r| User {
                    id: r.get(0),
                    name: r.get(1),
                    hair_color: r.get(2),
                })
                .collect()
        }),
    })
}

/// `tokio-postgres` 0.7, `client.query_raw`, the `RowStream` read row by row inside
/// one `block_on` per query.
fn tokio_postgres_query_raw() -> Result<Client, Error> {
    use futures_util::StreamExt;
    let rt = runtime()?;
    let (client, stmt) = tokio_postgres_connect(&rt)?;
    Ok(Client {
        name: "tokio-postgres raw",
        run: Box::new(move || {
            rt.block_on(async {
                let rows = client
                    .query_raw(&stmt, std::iter::empty::<i32>())
                    .await
                    .expect("tokio-postgres query_raw");
                let mut rows = std::pin::pin!(rows);
                let mut users = Vec::new();
                while let Some(r) = rows.next().await {
                    let r = r.expect("tokio-postgres row");
                    users.push(User {
                        id: r.get(0),
                        name: r.get(1),
                        hair_color: r.get(2),
                    });
                }
                users
            })
        }),
    })
}

/// By hand, since sqlx's derive macros are not enabled.
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for User {
    fn from_row(r: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(User {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            hair_color: r.try_get(2)?,
        })
    }
}

/// `sqlx` 0.8, `query_as::<_, User>(..).fetch_all(&mut conn)` in one `block_on` per
/// query. The statement is prepared on first use and kept in the connection's
/// statement cache (sqlx's defaults: `persistent(true)`, statement logging at DEBUG
/// with no logger installed).
fn sqlx_query_as() -> Result<Client, Error> {
    use sqlx::{Connection, Executor};
    let rt = runtime()?;
    let mut conn = rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(SQLX_URL).await?;
        conn.execute(format!("SET search_path TO {SCHEMA}").as_str())
            .await?;
        Ok::<_, Error>(conn)
    })?;
    Ok(Client {
        name: "sqlx",
        run: Box::new(move || {
            rt.block_on(sqlx::query_as::<_, User>(SELECT_USERS).fetch_all(&mut conn))
                .expect("sqlx fetch_all")
        }),
    })
}

/// libpq through pq-sys: one `PQexecPrepared` per query (binary results, the whole
/// result buffered by libpq as is its default), then each value copied out of the
/// `PGresult`. Strings are checked as UTF-8 as the Rust clients do.
#[cfg(feature = "libpq")]
mod libpq {
    use super::{Client, Error, User, CONNINFO, SCHEMA, SELECT_USERS};
    use pq_sys::*;
    use std::ffi::{CStr, CString};

    /// Owns the connection; closes it on drop.
    struct Conn(*mut PGconn);

    impl Drop for Conn {
        fn drop(&mut self) {
            unsafe { PQfinish(self.0) }
        }
    }

    impl Conn {
        fn error(&self) -> String {
            unsafe { CStr::from_ptr(PQerrorMessage(self.0)) }
                .to_string_lossy()
                .into_owned()
        }

        /// Runs a statement that returns no rows.
        fn exec(&self, sql: &str) -> Result<(), Error> {
            let sql = CString::new(sql)?;
            unsafe {
                let res = PQexec(self.0, sql.as_ptr());
                let ok = PQresultStatus(res) == ExecStatusType::PGRES_COMMAND_OK;
                PQclear(res);
                if ok {
                    Ok(())
                } else {
                    Err(self.error().into())
                }
            }
        }
    }

    const STMT: &CStr = c"pg_drivers_users";

    /// A `String` from a non-NULL value of `res`.
    unsafe fn text(res: *const PGresult, row: i32, col: i32) -> String {
        let (p, len) = unsafe { (PQgetvalue(res, row, col), PQgetlength(res, row, col)) };
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) };
        std::str::from_utf8(bytes).expect("utf-8").to_owned()
    }

    pub fn client() -> Result<Client, Error> {
        let conninfo = CString::new(CONNINFO)?;
        let conn = Conn(unsafe { PQconnectdb(conninfo.as_ptr()) });
        if unsafe { PQstatus(conn.0) } != ConnStatusType::CONNECTION_OK {
            return Err(conn.error().into());
        }
        conn.exec(&format!("SET search_path TO {SCHEMA}"))?;
        let sql = CString::new(SELECT_USERS)?;
        unsafe {
            let res = PQprepare(conn.0, STMT.as_ptr(), sql.as_ptr(), 0, std::ptr::null());
            let ok = PQresultStatus(res) == ExecStatusType::PGRES_COMMAND_OK;
            PQclear(res);
            if !ok {
                return Err(conn.error().into());
            }
        }
        Ok(Client {
            name: "libpq",
            run: Box::new(move || unsafe {
                let (no_values, no_ints) = (std::ptr::null(), std::ptr::null());
                let res = PQexecPrepared(conn.0, STMT.as_ptr(), 0, no_values, no_ints, no_ints, 1);
                assert!(
                    PQresultStatus(res) == ExecStatusType::PGRES_TUPLES_OK,
                    "libpq: {}",
                    conn.error()
                );
                let n = PQntuples(res);
                let mut users = Vec::with_capacity(n as usize);
                for i in 0..n {
                    // Binary int4: four bytes, big-endian.
                    assert_eq!(PQgetlength(res, i, 0), 4);
                    let id = PQgetvalue(res, i, 0) as *const [u8; 4];
                    users.push(User {
                        id: i32::from_be_bytes(*id),
                        name: text(res, i, 1),
                        hair_color: if PQgetisnull(res, i, 2) != 0 {
                            None
                        } else {
                            Some(text(res, i, 2))
                        },
                    });
                }
                PQclear(res);
                users
            }),
        })
    }
}

/// Every client, the baseline first.
fn clients() -> Result<Vec<Client>, Error> {
    #[allow(unused_mut)]
    let mut all = vec![
        postgres_query()?,
        postgres_query_raw()?,
        tokio_postgres_query()?,
        tokio_postgres_query_raw()?,
        sqlx_query_as()?,
    ];
    #[cfg(feature = "libpq")]
    all.push(libpq::client()?);
    Ok(all)
}

/// Creates the schema and table (once), on the setup connection.
fn create_table(admin: &mut postgres::Client) -> Result<(), Error> {
    admin.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
         SET search_path TO {SCHEMA};
         DROP TABLE IF EXISTS users;
         CREATE TABLE users (id serial PRIMARY KEY, name varchar NOT NULL, hair_color varchar NULL);"
    ))?;
    Ok(())
}

/// Replaces the table's rows with `n` users `"User {i}"`, `hair_color` NULL.
fn load(admin: &mut postgres::Client, n: usize) -> Result<(), Error> {
    admin.batch_execute(&format!(
        "TRUNCATE users RESTART IDENTITY;
         INSERT INTO users (name) SELECT 'User ' || i FROM generate_series(0, {}) AS i;",
        n - 1
    ))?;
    // On its own: VACUUM cannot run inside the implicit transaction of a multi-statement batch.
    admin.batch_execute("VACUUM ANALYZE users")?;
    Ok(())
}

/// CPU time of the calling thread so far, in seconds. Every client runs on the main
/// thread (the async ones on current-thread runtimes, the sync `postgres` client on its
/// own internal one), so this is the client's own work, user and kernel, without the
/// server's and without the time spent waiting for it.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Per-iteration wall time and thread CPU time of `iters` back-to-back runs.
fn time_batch(client: &mut Client, iters: u32) -> (f64, f64) {
    let cpu = thread_cpu();
    let start = Instant::now();
    for _ in 0..iters {
        black_box((client.run)());
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = thread_cpu() - cpu;
    (wall / iters as f64, cpu / iters as f64)
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Linear-interpolated quantile `q` of `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

fn fmt_time(secs: f64) -> String {
    if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.2} µs", secs * 1e6)
    } else {
        format!("{:.0} ns", secs * 1e9)
    }
}

/// The results for one N.
struct Measured {
    n: usize,
    iters: u32,
    /// Per client: per-iteration wall seconds, one per round.
    times: Vec<Vec<f64>>,
    /// Per client: per-iteration seconds of the main thread's CPU time, one per round.
    cpu: Vec<Vec<f64>>,
}

fn measure(clients: &mut [Client], n: usize, rounds: usize, batch: Duration) -> Measured {
    // Warm-up (~200 ms a client, at least 3 runs), checking every client's rows against
    // the baseline's, and estimating each client's time per run.
    let expected = (clients[0].run)();
    assert_eq!(expected.len(), n, "row count");
    assert_eq!(expected[n - 1].name, format!("User {}", n - 1));
    let mut estimate = Vec::new();
    for c in clients.iter_mut() {
        let mut got = (c.run)();
        got.sort_by_key(|u| u.id);
        let mut want = expected.clone();
        want.sort_by_key(|u| u.id);
        assert!(got == want, "{} returned other rows", c.name);
        let start = Instant::now();
        let mut runs = 0u32;
        while runs < 3 || start.elapsed() < Duration::from_millis(200) {
            black_box((c.run)());
            runs += 1;
        }
        estimate.push(start.elapsed().as_secs_f64() / runs as f64);
    }
    let mean = estimate.iter().sum::<f64>() / estimate.len() as f64;
    let iters = ((batch.as_secs_f64() / mean).round() as u32).max(1);

    let k = clients.len();
    let mut times = vec![Vec::with_capacity(rounds); k];
    let mut cpu = vec![Vec::with_capacity(rounds); k];
    for r in 0..rounds {
        for j in 0..k {
            let c = (r + j) % k;
            let (wall, thread) = time_batch(&mut clients[c], iters);
            times[c].push(wall);
            cpu[c].push(thread);
        }
    }
    Measured {
        n,
        iters,
        times,
        cpu,
    }
}

/// One metric's tables: median per query with the ratios to `postgres` (the median over
/// rounds of the per-round ratio), the ratios' interquartile ranges, and per row.
fn print_metric(
    title: &str,
    names: &[&str],
    results: &[Measured],
    pick: fn(&Measured) -> &Vec<Vec<f64>>,
) {
    let ratios = |m: &Measured, c: usize| -> Vec<f64> {
        let t = pick(m);
        t[c].iter().zip(&t[0]).map(|(x, base)| x / base).collect()
    };
    let head = |first: &str, cols: &[&str], suffix: &str, align: &str| {
        print!("| {first} |");
        for col in cols {
            print!(" {col}{suffix} |");
        }
        print!("\n|---:|");
        for _ in cols {
            print!("{align}|");
        }
        println!();
    };

    println!("### {title}: median per query, and ratio to postgres\n");
    let mut cols: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    cols.extend(names[1..].iter().map(|n| format!("{n} / postgres")));
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    head("N", &cols, "", "---:");
    for m in results {
        print!("| {} |", m.n);
        for c in 0..names.len() {
            print!(" {} |", fmt_time(median(&pick(m)[c])));
        }
        for c in 1..names.len() {
            print!(" {:.3} |", median(&ratios(m, c)));
        }
        println!();
    }

    println!("\n### {title}: ratio to postgres, median (interquartile range) over rounds\n");
    head("N", &names[1..], "", "---");
    for m in results {
        print!("| {} |", m.n);
        for c in 1..names.len() {
            let r = ratios(m, c);
            let (q1, q2, q3) = (quantile(&r, 0.25), median(&r), quantile(&r, 0.75));
            print!(" {q2:.3} ({q1:.3}–{q3:.3}) |");
        }
        println!();
    }

    println!("\n### {title}: median per row (per query / N)\n");
    head("N", names, "", "---:");
    for m in results {
        print!("| {} |", m.n);
        for c in 0..names.len() {
            print!(" {} |", fmt_time(median(&pick(m)[c]) / m.n as f64));
        }
        println!();
    }
    println!();
}

fn print_tables(names: &[&str], results: &[Measured]) {
    print!("Iterations per batch:");
    for m in results {
        print!(" N={}: {};", m.n, m.iters);
    }
    println!("\n");
    print_metric("Wall time", names, results, |m| &m.times);
    print_metric("Client CPU time (main thread)", names, results, |m| &m.cpu);
}

/// With `--dump`: every round's per-iteration wall and CPU time, as CSV on stderr.
fn dump(names: &[&str], results: &[Measured]) {
    eprintln!("n,round,client,wall_s,cpu_s");
    for m in results {
        for (c, name) in names.iter().enumerate() {
            for r in 0..m.times[c].len() {
                eprintln!("{},{r},{name},{:e},{:e}", m.n, m.times[c][r], m.cpu[c][r]);
            }
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() -> Result<(), Error> {
    let mut rounds = 31usize;
    let mut sizes = vec![1usize, 10, 100, 1000, 10000];
    let mut batch = Duration::from_millis(20);
    let mut dump_rounds = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--rounds" => rounds = value()?.parse()?,
            "--sizes" => {
                sizes = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--batch-ms" => batch = Duration::from_millis(value()?.parse()?),
            "--dump" => dump_rounds = true,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    if rounds == 0 || sizes.contains(&0) {
        return Err("rounds and sizes must be positive".into());
    }

    let mut admin = postgres::Client::connect(CONNINFO, postgres::NoTls)?;
    create_table(&mut admin)?;
    let server: String = admin.query_one("SHOW server_version", &[])?.get(0);
    let mut clients = clients()?;
    let names: Vec<&str> = clients.iter().map(|c| c.name).collect();
    eprintln!(
        "PostgreSQL {server}; clients: {}; {rounds} rounds of ~{} ms batches; load average before: {}",
        names.join(", "),
        batch.as_millis(),
        loadavg()
    );

    let mut results = Vec::new();
    for &n in &sizes {
        load(&mut admin, n)?;
        let m = measure(&mut clients, n, rounds, batch);
        eprintln!(
            "N={n}: {} iterations a batch; load average {}",
            m.iters,
            loadavg()
        );
        results.push(m);
    }
    print_tables(&names, &results);
    if dump_rounds {
        dump(&names, &results);
    }
    Ok(())
}
