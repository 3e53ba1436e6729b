//! The command line, the workloads and modes it names, and the checks each combination must pass (see main.rs).

use std::fmt::Display;

#[derive(Clone, Copy, PartialEq)]
pub enum Workload {
    Sum,
    SumPrint,
    Pingpong,
    Contended,
    Io,
    Native,
    Crash,
}

const WORKLOADS: [(&str, Workload); 7] = [
    ("sum", Workload::Sum),
    ("sum-print", Workload::SumPrint),
    ("pingpong", Workload::Pingpong),
    ("contended", Workload::Contended),
    ("io", Workload::Io),
    ("native", Workload::Native),
    ("crash", Workload::Crash),
];

impl Workload {
    pub fn name(self) -> &'static str {
        WORKLOADS.iter().find(|(_, w)| *w == self).map(|(name, _)| *name).unwrap_or("?")
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Threads,
    Processes,
    Pool,
}

const MODES: [(&str, Mode); 3] = [("threads", Mode::Threads), ("processes", Mode::Processes), ("pool", Mode::Pool)];

impl Mode {
    pub fn name(self) -> &'static str {
        MODES.iter().find(|(_, m)| *m == self).map(|(name, _)| *name).unwrap_or("?")
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Limit {
    Count(i64),
    Seconds(f64),
}

#[derive(Clone)]
pub struct Args {
    pub workload: Workload,
    pub mode: Mode,
    pub workers: usize,
    pub limit: Limit,
    pub result: String,
    pub worker_index: Option<usize>,
}

// -------------------------------------------------------------------------------------------------------------
// Command line, parsed by hand: "--flag value" pairs in any order

pub fn parse(argv: Vec<String>) -> Result<Args, String> {
    const FLAGS: [&str; 7] = ["--workload", "--mode", "--workers", "--n", "--seconds", "--result", "--worker-index"];
    let mut values: [Option<String>; 7] = Default::default();
    let mut rest = argv.into_iter();
    while let Some(flag) = rest.next() {
        let slot = FLAGS.iter().position(|f| *f == flag).ok_or_else(|| format!("unknown argument {flag}"))?;
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        if values[slot].replace(value).is_some() {
            return Err(format!("{flag} given twice"));
        }
    }
    let [workload, mode, workers, n, seconds, result, worker_index] = values;
    let workload = workload.ok_or("--workload is required")?;
    let workload = WORKLOADS.iter().find(|(name, _)| *name == workload).map(|(_, w)| *w).ok_or_else(|| {
        format!("--workload must be one of sum, sum-print, pingpong, contended, io, native, crash, not {workload}")
    })?;
    let mode = mode.ok_or("--mode is required")?;
    let mode = MODES.iter().find(|(name, _)| *name == mode).map(|(_, m)| *m).ok_or_else(|| {
        format!("--mode must be threads, processes or pool, not {mode}") // async: Rust's std has no event loop
    })?;
    let workers: usize = number("--workers", workers.as_deref().ok_or("--workers is required")?, 1..=100_000)?;
    let limit = match (n, seconds) {
        (Some(n), None) => Limit::Count(number("--n", &n, 0..=i64::MAX)?),
        (None, Some(s)) => match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Limit::Seconds(v),
            _ => return Err(format!("--seconds must be a finite number >= 0, not {s}")),
        },
        _ => return Err("exactly one of --n and --seconds is required".into()),
    };
    let result = result.filter(|r| !r.is_empty()).ok_or("--result is required")?;
    let worker_index = match worker_index {
        Some(k) => Some(number("--worker-index", &k, 0..=workers - 1)?),
        None => None,
    };
    if workload == Workload::Pingpong && workers < 2 {
        return Err(format!("pingpong passes a token around a ring: it needs --workers 2 or more, not {workers}"));
    }
    if mode == Mode::Pool && workload != Workload::Sum && workload != Workload::Io {
        return Err(format!("--mode pool runs the sum and io workloads only, not {}", workload.name()));
    }
    if workload == Workload::Contended && mode == Mode::Processes {
        return Err("contended runs in threads mode only: processes share no counter to contend for".into());
    }
    if let (Workload::Crash, Limit::Count(n)) = (workload, limit) {
        if n < 2 {
            return Err(format!("crash fails worker 0 after n/2 iterations: it needs --n 2 or more, not {n}"));
        }
    }
    Ok(Args { workload, mode, workers, limit, result, worker_index })
}

fn number<T: std::str::FromStr + PartialOrd + Display>(
    flag: &str,
    text: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    match text.parse::<T>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(format!("{flag} must be an integer from {} to {}, not {text}", range.start(), range.end())),
    }
}
