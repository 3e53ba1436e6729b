//! polylab workload in Rust (contract 1, see langs/README.md). Standard library only, built with plain
//! `rustc` (no cargo: cargo would write Cargo.lock and target/ into this folder).
//!
//!   workload --workload {sum,sum-print} --mode {threads,processes} --workers N
//!            (--n COUNT | --seconds S) --result PATH
//!
//! threads:   N std::thread threads in this process.
//! processes: N children re-executing this binary (std::env::current_exe) with the internal flag
//!            --worker-index K. Children inherit stdout, which is reserved for the sums, so each child
//!            hands its worker entry back in its own file PATH.worker-K, which the parent reads and deletes.

use std::fmt::Display;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command};
use std::thread;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq)]
enum Limit {
    Count(i64),
    Seconds(f64),
}

#[derive(Clone)]
struct Args {
    print: bool,
    threads: bool,
    workers: usize,
    limit: Limit,
    result: String,
    worker_index: Option<usize>,
}

/// One worker's outcome: a row of the result file's workers[].
struct Worker {
    index: usize,
    pid: u32,
    iterations: i64,
    sum: i64,
    elapsed_s: f64,
}

impl Worker {
    fn to_json(&self) -> String {
        format!(
            "{{\"index\": {}, \"pid\": {}, \"iterations\": {}, \"sum\": {}, \"elapsed_s\": {:?}}}",
            self.index, self.pid, self.iterations, self.sum, self.elapsed_s
        )
    }
}

fn main() {
    let args = match parse(std::env::args().skip(1).collect()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("workload: {message}");
            process::exit(2);
        }
    };
    let outcome = match args.worker_index {
        // A child in processes mode: run one worker, hand its entry to the parent via a file.
        Some(index) => work(index, &args).and_then(|w| write_atomically(&args.result, &(w.to_json() + "\n"))),
        None => run_parent(&args),
    };
    if let Err(message) = outcome {
        eprintln!("workload: {message}");
        process::exit(1);
    }
}

// -------------------------------------------------------------------------------------------------------------
// The work loop

/// Runs one worker's loop in the calling thread. Fails only when stdout cannot be written.
fn work(index: usize, args: &Args) -> Result<Worker, String> {
    let start = Instant::now();
    let mut s: i64 = 0;
    let mut i: i64 = 0;
    // opaque(i) hides i from the optimiser, so LLVM cannot replace the loop by the closed formula
    // n(n-1)/2 (which it does otherwise); s itself stays in a register.
    match args.limit {
        Limit::Count(n) => {
            while i < n {
                s = s.wrapping_add(opaque(i));
                if args.print {
                    print_line(s)?;
                }
                i += 1;
            }
        }
        Limit::Seconds(seconds) => {
            loop {
                // Read the clock only every 4096 iterations so that it does not dominate the loop.
                if i & 4095 == 0 && start.elapsed().as_secs_f64() >= seconds {
                    break;
                }
                s = s.wrapping_add(opaque(i));
                if args.print {
                    print_line(s)?;
                }
                i += 1;
            }
        }
    }
    Ok(Worker { index, pid: process::id(), iterations: i, sum: s, elapsed_s: start.elapsed().as_secs_f64() })
}

/// std::hint::black_box (Rust 1.66) by another name: a volatile read the optimiser must perform as written.
/// It keeps the program building with Debian 12's rustc 1.63.
#[inline(always)]
fn opaque(value: i64) -> i64 {
    // SAFETY: reads a live, aligned local.
    unsafe { std::ptr::read_volatile(&value) }
}

/// The idiomatic print: writeln! on the locked stdout. Rust's stdout is always line-buffered (a LineWriter,
/// even on a pipe or file), and a write_all that ends in '\n' leaves as one write(2), so lines never tear;
/// the lock serialises threads as Java's synchronized println does. println! would panic on a closed pipe.
fn print_line(s: i64) -> Result<(), String> {
    writeln!(io::stdout().lock(), "{s}").map_err(|e| format!("writing to stdout: {e}"))
}

// -------------------------------------------------------------------------------------------------------------
// The parent: start N workers, gather them, write the result file

fn run_parent(args: &Args) -> Result<(), String> {
    let start = Instant::now();
    let workers = if args.threads { run_threads(args)? } else { run_processes(args)? };
    let elapsed = start.elapsed().as_secs_f64();
    write_atomically(&args.result, &result_json(args, &workers, elapsed))
}

fn run_threads(args: &Args) -> Result<Vec<Worker>, String> {
    // Scoped threads borrow args; the scope joins every thread before it returns.
    let outcomes: Vec<Result<Worker, String>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..args.workers)
            .map(|k| {
                thread::Builder::new()
                    .name(format!("worker-{k}"))
                    .spawn_scoped(scope, move || work(k, args))
                    .map_err(|e| format!("starting worker {k}: {e}"))
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(k, handle)| handle?.join().unwrap_or_else(|_| Err(format!("worker {k} panicked"))))
            .collect()
    });
    gather(outcomes)
}

fn run_processes(args: &Args) -> Result<Vec<Worker>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding own executable: {e}"))?;
    let limit = match args.limit {
        Limit::Count(n) => ["--n".to_string(), n.to_string()],
        Limit::Seconds(s) => ["--seconds".to_string(), format!("{s:?}")],
    };
    let paths: Vec<PathBuf> = (0..args.workers).map(|k| PathBuf::from(format!("{}.worker-{k}", args.result))).collect();
    let mut children: Vec<Child> = Vec::with_capacity(args.workers);
    for (k, path) in paths.iter().enumerate() {
        let spawned = Command::new(&exe)
            .args(["--workload", if args.print { "sum-print" } else { "sum" }, "--mode", "processes"])
            .args(["--workers".to_string(), args.workers.to_string()])
            .args(&limit)
            .arg("--result")
            .arg(path)
            .args(["--worker-index".to_string(), k.to_string()])
            .spawn(); // stdin, stdout and stderr are inherited
        match spawned {
            Ok(child) => children.push(child),
            Err(e) => {
                for mut child in children {
                    let _ = child.kill(); // leave no started child behind
                    let _ = child.wait();
                }
                return Err(format!("starting worker {k}: {e}"));
            }
        }
    }
    // Wait for every child before judging, so that none outlives us.
    let statuses: Vec<_> = children.iter_mut().map(|child| child.wait()).collect();
    let outcomes = statuses
        .into_iter()
        .zip(&paths)
        .enumerate()
        .map(|(k, (status, path))| {
            let outcome = match status {
                Ok(status) if status.success() => read_worker(path, k),
                Ok(status) => Err(format!("worker {k}: child {status}")),
                Err(e) => Err(format!("worker {k}: waiting for child: {e}")),
            };
            let _ = fs::remove_file(path);
            outcome
        })
        .collect();
    gather(outcomes)
}

/// All workers, or the first failure (every failure is reported on stderr).
fn gather(outcomes: Vec<Result<Worker, String>>) -> Result<Vec<Worker>, String> {
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    if !failures.is_empty() {
        for failure in &failures[1..] {
            eprintln!("workload: {failure}");
        }
        return Err(format!("{} ({} worker(s) failed)", failures[0], failures.len()));
    }
    Ok(outcomes.into_iter().map(|o| o.ok().unwrap()).collect())
}

/// Reads the entry a child wrote: the flat one-line object of Worker::to_json, numbers only, so a
/// key lookup is all the parsing needed (std has no JSON).
fn read_worker(path: &Path, k: usize) -> Result<Worker, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("worker {k}: reading {}: {e}", path.display()))?;
    let field = |key: &str| -> Result<&str, String> {
        let at = text.find(&format!("\"{key}\": ")).ok_or_else(|| format!("worker {k}: result lacks {key}"))?;
        let rest = &text[at + key.len() + 4..];
        Ok(&rest[..rest.find([',', '}']).unwrap_or(rest.len())])
    };
    let bad = |key: &str| format!("worker {k}: bad {key} in result");
    let worker = Worker {
        index: field("index")?.parse().map_err(|_| bad("index"))?,
        pid: field("pid")?.parse().map_err(|_| bad("pid"))?,
        iterations: field("iterations")?.parse().map_err(|_| bad("iterations"))?,
        sum: field("sum")?.parse().map_err(|_| bad("sum"))?,
        elapsed_s: field("elapsed_s")?.parse().map_err(|_| bad("elapsed_s"))?,
    };
    if worker.index != k {
        return Err(format!("worker {k}: result has index {}", worker.index));
    }
    Ok(worker)
}

// -------------------------------------------------------------------------------------------------------------
// The result file

fn result_json(args: &Args, workers: &[Worker], elapsed: f64) -> String {
    let (n, seconds) = match args.limit {
        Limit::Count(n) => (n.to_string(), "null".to_string()),
        Limit::Seconds(s) => ("null".to_string(), format!("{s:?}")),
    };
    let rows: Vec<String> = workers.iter().map(|w| format!("    {}", w.to_json())).collect();
    format!(
        "{{\n  \"contract\": 1,\n  \"lang\": \"rust\",\n  \"runtime\": {{\"name\": \"rustc\", \"version\": \"{}\"}},\n  \
         \"args\": {{\"workload\": \"{}\", \"mode\": \"{}\", \"workers\": {}, \"n\": {n}, \"seconds\": {seconds}}},\n  \
         \"workers\": [\n{}\n  ],\n  \"elapsed_s\": {elapsed:?}\n}}\n",
        compiler_version(),
        if args.print { "sum-print" } else { "sum" },
        if args.threads { "threads" } else { "processes" },
        args.workers,
        rows.join(",\n"),
    )
}

/// The rustc that built this binary, as it signed itself in the ELF .comment section ("rustc version
/// 1.95.0 (...)"): std has no compile-time constant for it and plain rustc sets no build environment.
fn compiler_version() -> String {
    const MARK: &[u8] = b"rustc version ";
    let exe = std::env::current_exe().and_then(fs::read).unwrap_or_default();
    // The first mark followed by a digit: the mark itself also sits in .rodata, followed by other bytes.
    let version = exe.windows(MARK.len() + 1).enumerate().find_map(|(at, w)| {
        (w.starts_with(MARK) && w[MARK.len()].is_ascii_digit()).then(|| {
            let rest = &exe[at + MARK.len()..];
            &rest[..rest.iter().position(|b| !(b.is_ascii_digit() || *b == b'.')).unwrap_or(rest.len())]
        })
    });
    version.map_or_else(|| "unknown".to_string(), |v| String::from_utf8_lossy(v).into_owned())
}

/// Writes via a temporary file in the same directory and a rename, so readers never see half a file.
fn write_atomically(target: &str, text: &str) -> Result<(), String> {
    let tmp = format!("{target}.tmp-{}", process::id());
    let written = fs::write(&tmp, text).and_then(|_| fs::rename(&tmp, target));
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("writing {target}: {e}")
    })
}

// -------------------------------------------------------------------------------------------------------------
// Command line, parsed by hand: "--flag value" pairs in any order

fn parse(argv: Vec<String>) -> Result<Args, String> {
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
    let print = match workload.as_deref() {
        Some("sum") => false,
        Some("sum-print") => true,
        Some(other) => return Err(format!("--workload must be sum or sum-print, not {other}")),
        None => return Err("--workload is required".into()),
    };
    let threads = match mode.as_deref() {
        Some("threads") => true,
        Some("processes") => false,
        Some(other) => return Err(format!("--mode must be threads or processes, not {other}")),
        None => return Err("--mode is required".into()),
    };
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
    Ok(Args { print, threads, workers, limit, result, worker_index })
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
