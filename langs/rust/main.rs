//! polylab workload in Rust (contract 2, see langs/README.md). Standard library only, built with plain
//! `rustc` (no cargo: cargo would write Cargo.lock and target/ into this folder).
//!
//!   workload --workload {sum,sum-print,pingpong,contended,io,native,crash} --mode {threads,processes,pool}
//!            --workers N (--n COUNT | --seconds S) --result PATH
//!
//! This file is the parent: starting and gathering the workers, the result file. The command line is parsed
//! in args.rs, the workers' loops are in work.rs, the native workload's SHA-256 in sha256.rs, pool mode's
//! threads in pool.rs.
//!
//! threads:   N std::thread threads in this process.
//! processes: N children re-executing this binary (std::env::current_exe) with the internal flag
//!            --worker-index K. Children inherit stdout, which is reserved for the sums, so each child
//!            hands its worker entry back in its own file PATH.worker-K, which the parent reads and deletes.
//!            pingpong's ring of pipes is made of the children's stdin and stdout (see run_processes).
//! pool:      N tasks (sum and io only) on available_parallelism() threads that pull them from a queue.

mod args;
mod pool;
mod sha256;
mod work;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

pub use args::{Args, Limit, Mode, Workload};
use work::{ChannelEnds, PipeEnds, Ring, Worker};

/// The entry of a worker as the result file's workers[] holds it; a child's file adds the pingpong token.
fn entry_json(w: &Worker, with_token: bool) -> String {
    let mut json = format!(
        "{{\"index\": {}, \"pid\": {}, \"iterations\": {}, \"sum\": {}, \"elapsed_s\": {:?}",
        w.index, w.pid, w.iterations, w.sum, w.elapsed_s
    );
    if let Some(digest) = &w.digest {
        json += &format!(", \"digest\": \"{digest}\"");
    }
    if let Some(finished) = w.finished {
        json += &format!(", \"finished\": {finished}");
    }
    if let (Some(token), true) = (w.token, with_token) {
        json += &format!(", \"token\": {token}");
    }
    if !w.tids.is_empty() {
        let tids: Vec<String> = w.tids.iter().map(u64::to_string).collect();
        json += &format!(", \"tids\": [{}]", tids.join(", "));
    }
    json + "}"
}

fn main() {
    let args = match args::parse(std::env::args().skip(1).collect()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("workload: {message}");
            process::exit(2);
        }
    };
    let outcome = if args.workload == Workload::Native { sha256::self_test() } else { Ok(()) }.and_then(|_| {
        match args.worker_index {
            Some(index) => run_child(index, &args),
            None => run_parent(&args),
        }
    });
    if let Err(message) = outcome {
        eprintln!("workload: {message}");
        process::exit(1);
    }
}

/// A child in processes mode: run one worker, hand its entry to the parent via a file.
fn run_child(index: usize, args: &Args) -> Result<(), String> {
    let ring: Option<Box<dyn Ring>> = match args.workload {
        Workload::Pingpong => Some(Box::new(PipeEnds::from_stdio()?)),
        _ => None,
    };
    let worker = work::work(index, args, ring, &Mutex::new(0))?;
    write_atomically(&args.result, &(entry_json(&worker, true) + "\n"))
}

// -------------------------------------------------------------------------------------------------------------
// The parent: start N workers, gather them, write the result file

fn run_parent(args: &Args) -> Result<(), String> {
    let pool_size = (args.mode == Mode::Pool).then(pool::size);
    let start = Instant::now();
    let counter = Mutex::new(0);
    let workers = match (args.mode, pool_size) {
        (Mode::Threads, _) => run_threads(args, &counter)?,
        (Mode::Processes, _) => run_processes(args)?,
        (Mode::Pool, size) => pool::run(args, size.unwrap_or(1), &counter)?,
    };
    let elapsed = start.elapsed().as_secs_f64();
    let counter = *counter.lock().map_err(|_| "the counter's mutex is poisoned")?;
    write_atomically(&args.result, &result_json(args, &workers, counter, pool_size, elapsed)?)
}

fn run_threads(args: &Args, counter: &Mutex<i64>) -> Result<Vec<Worker>, String> {
    let mut rings: Vec<Option<Box<dyn Ring>>> = (0..args.workers).map(|_| None).collect();
    if args.workload == Workload::Pingpong {
        for (slot, ends) in rings.iter_mut().zip(ChannelEnds::ring(args.workers)) {
            *slot = Some(Box::new(ends));
        }
    }
    // Scoped threads borrow args and the counter; the scope joins every thread before it returns.
    let outcomes: Vec<Result<Worker, String>> = thread::scope(|scope| {
        let handles: Vec<_> = rings
            .into_iter()
            .enumerate()
            .map(|(k, ring)| {
                thread::Builder::new()
                    .name(format!("worker-{k}"))
                    .spawn_scoped(scope, move || work::work(k, args, ring, counter))
                    .map_err(|e| format!("starting worker {k}: {e}"))
            })
            .collect();
        // join() hands a worker's panic over as an Err: only that thread unwound, this one goes on.
        let crash = args.workload == Workload::Crash;
        let joined = handles.into_iter().enumerate().map(|(k, handle)| match handle?.join() {
            Ok(outcome) => outcome,
            Err(_) if crash && k == 0 => Ok(Worker::failed(k, process::id())),
            Err(_) => Err(format!("worker {k} panicked")),
        });
        joined.collect()
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
    let pingpong = args.workload == Workload::Pingpong;
    let mut children: Vec<Child> = Vec::with_capacity(args.workers);
    // pingpong: the ends of the ring not yet handed to a child
    let (mut first_stdin, mut previous_stdout) = (None, None);
    for (k, path) in paths.iter().enumerate() {
        let mut command = Command::new(&exe);
        command
            .args(["--workload", args.workload.name(), "--mode", "processes"])
            .args(["--workers".to_string(), args.workers.to_string()])
            .args(&limit)
            .arg("--result")
            .arg(path)
            .args(["--worker-index".to_string(), k.to_string()]); // stdin, stdout and stderr are inherited
        if pingpong {
            // The ring: std (before 1.87) cannot make a bare pipe, but it makes one for each piped stdin and
            // stdout, and can hand either end to another child. Child k's stdout becomes child k+1's stdin;
            // the last child's stdout is the write end of child 0's stdin. The parent keeps no end.
            command.stdin(previous_stdout.take().map_or_else(Stdio::piped, Stdio::from));
            let last = k + 1 == args.workers;
            command.stdout(if last { first_stdin.take().map_or_else(Stdio::piped, Stdio::from) } else { Stdio::piped() });
        }
        match command.spawn() {
            Ok(mut child) => {
                if pingpong {
                    first_stdin = first_stdin.or_else(|| child.stdin.take());
                    previous_stdout = child.stdout.take();
                }
                children.push(child);
            }
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
    let statuses: Vec<_> = children.iter_mut().map(|child| (child.id(), child.wait())).collect();
    let crash = args.workload == Workload::Crash;
    let outcomes = statuses
        .into_iter()
        .zip(&paths)
        .enumerate()
        .map(|(k, ((pid, status), path))| {
            let outcome = match status {
                Ok(status) if status.success() => read_worker(path, k),
                Ok(status) if crash && k == 0 => {
                    eprintln!("workload: worker 0 (pid {pid}) died, as the crash workload asks: {status}");
                    Ok(Worker::failed(k, pid))
                }
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

/// Reads the entry a child wrote: the flat one-line object of entry_json, numbers, booleans and one hex
/// string, so a key lookup is all the parsing needed (std has no JSON).
fn read_worker(path: &Path, k: usize) -> Result<Worker, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("worker {k}: reading {}: {e}", path.display()))?;
    let field = |key: &str| -> Option<&str> {
        let at = text.find(&format!("\"{key}\": "))?;
        let rest = &text[at + key.len() + 4..];
        Some(rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim_matches('"'))
    };
    fn parsed<T: std::str::FromStr>(value: Option<&str>, k: usize, key: &str) -> Result<T, String> {
        let value = value.ok_or_else(|| format!("worker {k}: result lacks {key}"))?;
        value.parse().map_err(|_| format!("worker {k}: bad {key} in result: {value}"))
    }
    let worker = Worker {
        index: parsed(field("index"), k, "index")?,
        pid: parsed(field("pid"), k, "pid")?,
        iterations: parsed(field("iterations"), k, "iterations")?,
        sum: parsed(field("sum"), k, "sum")?,
        elapsed_s: parsed(field("elapsed_s"), k, "elapsed_s")?,
        finished: field("finished").map(|v| parsed(Some(v), k, "finished")).transpose()?,
        digest: field("digest").map(str::to_string),
        token: field("token").map(|v| parsed(Some(v), k, "token")).transpose()?,
        tids: Vec::new(),
    };
    if worker.index != k {
        return Err(format!("worker {k}: result has index {}", worker.index));
    }
    Ok(worker)
}

// -------------------------------------------------------------------------------------------------------------
// The result file

fn result_json(
    args: &Args,
    workers: &[Worker],
    counter: i64,
    pool_size: Option<usize>,
    elapsed: f64,
) -> Result<String, String> {
    let (n, seconds) = match args.limit {
        Limit::Count(n) => (n.to_string(), "null".to_string()),
        Limit::Seconds(s) => ("null".to_string(), format!("{s:?}")),
    };
    let pool_size = pool_size.map_or_else(String::new, |size| format!("  \"pool_size\": {size},\n"));
    let extra = match args.workload {
        Workload::Pingpong => {
            let token = workers.iter().find_map(|w| w.token).ok_or("no worker saw the token's final value")?;
            format!("  \"token\": {token},\n")
        }
        Workload::Contended => format!("  \"counter\": {counter},\n"),
        Workload::Crash => "  \"crash\": {\"worker\": 0, \"survived\": true},\n".to_string(), // we are writing it
        _ => String::new(),
    };
    let rows: Vec<String> = workers.iter().map(|w| format!("    {}", entry_json(w, false))).collect();
    Ok(format!(
        "{{\n  \"contract\": 2,\n  \"lang\": \"rust\",\n  \"runtime\": {{\"name\": \"rustc\", \"version\": \"{}\"}},\n  \
         \"args\": {{\"workload\": \"{}\", \"mode\": \"{}\", \"workers\": {}, \"n\": {n}, \"seconds\": {seconds}}},\n  \
         \"workers\": [\n{}\n  ],\n{pool_size}{extra}  \"elapsed_s\": {elapsed:?}\n}}\n",
        compiler_version(),
        args.workload.name(),
        args.mode.name(),
        args.workers,
        rows.join(",\n"),
    ))
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
