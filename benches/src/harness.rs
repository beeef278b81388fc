//! Timing in alternating pairs: each pair runs the raw side and quarry for the same
//! number of iterations back to back (the order flips every pair), and the reported
//! ratio is the median over pairs of quarry's time divided by the raw time. Drift in the
//! machine's speed hits both halves of a pair alike, so the ratio is steadier than either
//! time.

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
}

fn time(iters: u64, f: &mut dyn FnMut() -> Result<(), BoxError>) -> Result<Duration, BoxError> {
    let start = Instant::now();
    for _ in 0..iters {
        f()?;
    }
    Ok(start.elapsed() / iters as u32)
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
    let once = time(3, raw)?.max(Duration::from_nanos(50));
    let iters = (settings.sample.as_nanos() / once.as_nanos()).clamp(1, 1_000_000) as u64;
    let (mut raws, mut quarries, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..settings.pairs {
        let (r, q) = if pair % 2 == 0 {
            let r = time(iters, raw)?;
            (r, time(iters, quarry)?)
        } else {
            let q = time(iters, quarry)?;
            (time(iters, raw)?, q)
        };
        ratios.push(q.as_secs_f64() / r.as_secs_f64());
        raws.push(r);
        quarries.push(q);
    }
    ratios.sort_by(f64::total_cmp);
    Ok(Measurement {
        workload,
        n,
        raw: median_duration(raws),
        quarry: median_duration(quarries),
        ratio: percentile(&ratios, 0.5),
        spread: (percentile(&ratios, 0.25), percentile(&ratios, 0.75)),
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
        "### {backend}\n\n| workload | N | raw driver | quarry | quarry/raw (median) | IQR |\n\
         |---|---:|---:|---:|---:|---|\n"
    );
    for m in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3}–{:.3} |\n",
            m.workload,
            m.n,
            human(m.raw),
            human(m.quarry),
            m.ratio,
            m.spread.0,
            m.spread.1
        ));
    }
    out
}
