//! Timing in alternating pairs: each pair runs the raw side and quarry for the same
//! number of iterations back to back (the order flips every pair), and the reported
//! ratio is the median over pairs of quarry's time divided by the raw time. Drift in the
//! machine's speed hits both halves of a pair alike, so the ratio is steadier than either
//! time.
//!
//! Each half is timed twice: by the wall clock, and by the CPU time of the benchmark's
//! thread (`CLOCK_THREAD_CPUTIME_ID`), which is the client's own work. On a server
//! backend the wall time of a small query is mostly the round trip, and on a small
//! virtual machine that round trip depends on where the scheduler puts the server
//! process of each connection: one connection can answer in 10 µs and the other in
//! 70 µs for a whole run. The server's work is the same for both sides; the client CPU
//! ratio shows what quarry adds.

use std::time::{Duration, Instant};

/// The error both sides return.
pub type BoxError = Box<dyn std::error::Error>;

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Pairs per case.
    pub pairs: usize,
    /// Roughly how long one half of a pair runs.
    pub sample: Duration,
}

impl Settings {
    /// The full run: 31 pairs of about 20 ms halves.
    pub fn full() -> Settings {
        Settings {
            pairs: 31,
            sample: Duration::from_millis(20),
        }
    }

    /// A smoke run: enough to see that every workload works.
    pub fn quick() -> Settings {
        Settings {
            pairs: 5,
            sample: Duration::from_millis(2),
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Workload name.
    pub workload: &'static str,
    /// Its size parameter.
    pub n: usize,
    /// Median time per iteration of the raw side.
    pub raw: Duration,
    /// Median time per iteration of quarry.
    pub quarry: Duration,
    /// Median of the per-pair ratios quarry/raw.
    pub ratio: f64,
    /// The 25th and 75th percentiles of the per-pair ratios.
    pub spread: (f64, f64),
    /// Median of the per-pair ratios of the thread's CPU time, quarry/raw.
    pub cpu_ratio: f64,
    /// The 25th and 75th percentiles of those.
    pub cpu_spread: (f64, f64),
}

/// One half of a pair: wall time and thread CPU time per iteration.
#[derive(Debug, Clone, Copy)]
struct Half {
    wall: Duration,
    cpu: Duration,
}

/// The CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn time(iters: u64, f: &mut dyn FnMut() -> Result<(), BoxError>) -> Result<Half, BoxError> {
    let (start, cpu) = (Instant::now(), thread_cpu());
    for _ in 0..iters {
        f()?;
    }
    Ok(Half {
        wall: start.elapsed() / iters as u32,
        cpu: (thread_cpu() - cpu) / iters as u32,
    })
}

/// The median and quartiles of `ratios`.
fn summary(mut ratios: Vec<f64>) -> (f64, (f64, f64)) {
    ratios.sort_by(f64::total_cmp);
    (
        percentile(&ratios, 0.5),
        (percentile(&ratios, 0.25), percentile(&ratios, 0.75)),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn median_duration(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Measures one case.
pub fn compare(
    settings: Settings,
    workload: &'static str,
    n: usize,
    raw: &mut dyn FnMut() -> Result<(), BoxError>,
    quarry: &mut dyn FnMut() -> Result<(), BoxError>,
) -> Result<Measurement, BoxError> {
    // Warm both sides (statement caches, allocator), then size the samples on the raw side.
    for _ in 0..3 {
        raw()?;
        quarry()?;
    }
    let once = time(3, raw)?.wall.max(Duration::from_nanos(50));
    let iters = (settings.sample.as_nanos() / once.as_nanos()).clamp(1, 1_000_000) as u64;
    let (mut raws, mut quarries) = (Vec::new(), Vec::new());
    let (mut ratios, mut cpu_ratios) = (Vec::new(), Vec::new());
    for pair in 0..settings.pairs {
        let (r, q) = if pair % 2 == 0 {
            let r = time(iters, raw)?;
            (r, time(iters, quarry)?)
        } else {
            let q = time(iters, quarry)?;
            (time(iters, raw)?, q)
        };
        ratios.push(q.wall.as_secs_f64() / r.wall.as_secs_f64());
        cpu_ratios.push(q.cpu.as_secs_f64() / r.cpu.max(Duration::from_nanos(1)).as_secs_f64());
        raws.push(r.wall);
        quarries.push(q.wall);
    }
    let (ratio, spread) = summary(ratios);
    let (cpu_ratio, cpu_spread) = summary(cpu_ratios);
    Ok(Measurement {
        workload,
        n,
        raw: median_duration(raws),
        quarry: median_duration(quarries),
        ratio,
        spread,
        cpu_ratio,
        cpu_spread,
    })
}

/// A duration in the unit that suits it.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

/// One backend's results as a Markdown table.
pub fn markdown_table(backend: &str, rows: &[Measurement]) -> String {
    let mut out = format!(
        "### {backend}\n\n| workload | N | raw driver | quarry | quarry/raw (median) | IQR | \
         client CPU quarry/raw | IQR |\n|---|---:|---:|---:|---:|---|---:|---|\n"
    );
    for m in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3}–{:.3} | {:.3} | {:.3}–{:.3} |\n",
            m.workload,
            m.n,
            human(m.raw),
            human(m.quarry),
            m.ratio,
            m.spread.0,
            m.spread.1,
            m.cpu_ratio,
            m.cpu_spread.0,
            m.cpu_spread.1
        ));
    }
    out
}
