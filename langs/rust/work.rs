//! The workers' loops, one per workload (langs/README.md). Each worker keeps the universal checksum
//! s += i over its own iterations i = 0, 1, 2, ..., wrapping (debug builds would panic on overflow).

use std::fs::File;
use std::io::{self, Read, Write};
use std::process;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::sha256;
use crate::{Args, Limit, Workload};

const CLOCK_EVERY: i64 = 4096; // sum, contended, crash: the clock is read once per this many iterations
const PINGPONG_CLOCK_EVERY: i64 = 1024; // worker 0 reads it once per this many of its hand-offs
const NATIVE_BUFFER_BYTES: usize = 64 * 1024;
const STOP: i64 = -1; // the pingpong token that stops the ring (real tokens are >= 0)

/// One worker's outcome: a row of the result file's workers[].
pub struct Worker {
    pub index: usize,
    pub pid: u32,
    pub iterations: i64,
    pub sum: i64,
    pub elapsed_s: f64,
    pub finished: Option<bool>, // crash only: false for the worker that failed
    pub digest: Option<String>, // native only: the last SHA-256 in lowercase hex, "" after no iteration
    pub token: Option<i64>,     // pingpong: the token's final value, seen by exactly one worker
    pub tids: Vec<u64>,         // pool only: the kernel thread ids the task ran on, at its start and end
}

impl Worker {
    /// The entry of a worker that died before it could report (the crash workload's worker 0).
    pub fn failed(index: usize, pid: u32) -> Worker {
        let (iterations, sum, elapsed_s, finished) = (0, 0, 0.0, Some(false));
        Worker { index, pid, iterations, sum, elapsed_s, finished, digest: None, token: None, tids: Vec::new() }
    }

    fn new(index: usize, args: &Args, iterations: i64, sum: i64, start: Instant) -> Worker {
        let finished = (args.workload == Workload::Crash).then(|| true);
        let elapsed_s = start.elapsed().as_secs_f64();
        let pid = process::id();
        Worker { index, pid, iterations, sum, elapsed_s, finished, digest: None, token: None, tids: Vec::new() }
    }
}

/// One end of the pingpong ring: this worker's mailbox and the next worker's.
pub trait Ring: Send {
    fn pass(&mut self, token: i64) -> Result<(), String>;
    fn receive(&mut self) -> Result<i64, String>;
}

/// Between threads: a std::sync::mpsc channel per worker.
pub struct ChannelEnds {
    to_next: Sender<i64>,
    mine: Receiver<i64>,
}

impl ChannelEnds {
    /// Worker k's ends: it receives on channel k and sends on channel k + 1.
    pub fn ring(workers: usize) -> Vec<ChannelEnds> {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers).map(|_| mpsc::channel()).unzip();
        let to_next = (0..workers).map(|k| senders[(k + 1) % workers].clone());
        to_next.zip(receivers).map(|(to_next, mine)| ChannelEnds { to_next, mine }).collect()
    }
}

impl Ring for ChannelEnds {
    fn pass(&mut self, token: i64) -> Result<(), String> {
        self.to_next.send(token).map_err(|_| "the ring broke: the next worker is gone".to_string())
    }
    fn receive(&mut self) -> Result<i64, String> {
        self.mine.recv().map_err(|_| "the ring broke: the previous worker is gone".to_string())
    }
}

/// Between processes: this child's stdin is the pipe from the previous child, its stdout the pipe to the next
/// (pingpong prints no sums, so stdout is free). Both are used unbuffered, through duplicates of fds 0 and 1:
/// stdout's LineWriter would split a token that holds a '\n' byte into two writes.
pub struct PipeEnds {
    from_previous: File,
    to_next: File,
}

impl PipeEnds {
    pub fn from_stdio() -> Result<PipeEnds, String> {
        use std::os::unix::io::AsFd;
        let own = |fd: std::os::unix::io::BorrowedFd| fd.try_clone_to_owned().map(File::from);
        let ends = own(io::stdin().as_fd()).and_then(|from_previous| Ok((from_previous, own(io::stdout().as_fd())?)));
        let (from_previous, to_next) = ends.map_err(|e| format!("duplicating stdin/stdout: {e}"))?;
        Ok(PipeEnds { from_previous, to_next })
    }
}

impl Ring for PipeEnds {
    fn pass(&mut self, token: i64) -> Result<(), String> {
        self.to_next.write_all(&token.to_le_bytes()).map_err(|e| format!("the ring broke: {e}"))
    }
    fn receive(&mut self) -> Result<i64, String> {
        let mut bytes = [0u8; 8];
        self.from_previous.read_exact(&mut bytes).map_err(|e| format!("the ring broke: {e}"))?;
        Ok(i64::from_le_bytes(bytes))
    }
}

/// Runs worker `index` in the calling thread. pingpong needs its ring ends, contended the shared counter.
pub fn work(index: usize, args: &Args, ring: Option<Box<dyn Ring>>, counter: &Mutex<i64>) -> Result<Worker, String> {
    match (args.workload, ring) {
        (Workload::Sum | Workload::SumPrint, _) => summing(index, args),
        (Workload::Pingpong, Some(mut ring)) => pingpong(index, args, ring.as_mut()),
        (Workload::Pingpong, None) => Err("pingpong without a ring".into()),
        _ => stepping(index, args, counter),
    }
}

/// sum and sum-print: the tight loop the lab times, with nothing else in it.
fn summing(index: usize, args: &Args) -> Result<Worker, String> {
    let print = args.workload == Workload::SumPrint;
    let start = Instant::now();
    let mut s: i64 = 0;
    let mut i: i64 = 0;
    // opaque(i) hides i from the optimiser, so LLVM cannot replace the loop by the closed formula
    // n(n-1)/2 (which it does otherwise); s itself stays in a register.
    match args.limit {
        Limit::Count(n) => {
            while i < n {
                s = s.wrapping_add(opaque(i));
                if print {
                    print_line(s)?;
                }
                i += 1;
            }
        }
        Limit::Seconds(seconds) => loop {
            // Read the clock only every 4096 iterations so that it does not dominate the loop.
            if i & (CLOCK_EVERY - 1) == 0 && start.elapsed().as_secs_f64() >= seconds {
                break;
            }
            s = s.wrapping_add(opaque(i));
            if print {
                print_line(s)?;
            }
            i += 1;
        },
    }
    Ok(Worker::new(index, args, i, s, start))
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

/// io, native, contended and crash: one step per iteration (a 1 ms sleep, a 64 KiB hash, a locked increment
/// or nothing), then s += i. The clock is read every iteration when a step takes a millisecond or a hash's
/// tens of microseconds, every CLOCK_EVERY otherwise.
fn stepping(index: usize, args: &Args, counter: &Mutex<i64>) -> Result<Worker, String> {
    let workload = args.workload;
    let clock_every = if matches!(workload, Workload::Io | Workload::Native) { 1 } else { CLOCK_EVERY };
    let fails = workload == Workload::Crash && index == 0;
    let mut buffer = vec![0u8; if workload == Workload::Native { NATIVE_BUFFER_BYTES } else { 0 }];
    let start = Instant::now();
    let (mut s, mut i) = (0i64, 0i64);
    loop {
        let read_clock = i & (clock_every - 1) == 0;
        let (stop, fail) = match args.limit {
            Limit::Count(n) => (i == n, i == n / 2),
            Limit::Seconds(seconds) if read_clock => {
                let elapsed = start.elapsed().as_secs_f64();
                (elapsed >= seconds, elapsed >= seconds / 2.0)
            }
            Limit::Seconds(_) => (false, false),
        };
        if stop {
            break;
        }
        if fails && fail {
            // Unhandled, as Rust has it: the panic unwinds this thread (or ends this child process).
            panic!("worker {index} fails midway, as the crash workload asks");
        }
        match workload {
            Workload::Io => thread::sleep(Duration::from_millis(1)),
            Workload::Native => {
                let digest = sha256::digest(&buffer);
                buffer[..32].copy_from_slice(&digest);
            }
            Workload::Contended => *counter.lock().map_err(|_| "the counter's mutex is poisoned")? += 1,
            _ => {}
        }
        s = s.wrapping_add(opaque(i));
        i += 1;
    }
    let mut worker = Worker::new(index, args, i, s, start);
    if workload == Workload::Native {
        worker.digest = Some(if i > 0 { sha256::hex(&buffer[..32]) } else { String::new() });
    }
    Ok(worker)
}

/// The holder of token t passes t + 1, so worker k receives exactly the tokens k, k + N, k + 2N, ... In count
/// mode the tokens stop at n: worker k's last is the largest of them <= n, and the one that receives n itself
/// holds the final value. In duration mode worker 0 stops the ring with STOP, which goes round once and back.
fn pingpong(index: usize, args: &Args, ring: &mut dyn Ring) -> Result<Worker, String> {
    let (me, workers) = (index as i64, args.workers as i64);
    let count = match args.limit {
        Limit::Count(n) => Some(n),
        Limit::Seconds(_) => None,
    };
    let start = Instant::now();
    let (mut s, mut handoffs, mut final_token) = (0i64, 0i64, None);
    if count.map_or(true, |n| me <= n) {
        let mut token = if me == 0 { 0 } else { ring.receive()? }; // worker 0 holds 0 at the start
        loop {
            if token == STOP {
                ring.pass(STOP)?; // worker 0 never gets here: it takes STOP back below
                break;
            }
            let done = match args.limit {
                Limit::Count(n) => token == n,
                Limit::Seconds(seconds) => {
                    me == 0 && handoffs % PINGPONG_CLOCK_EVERY == 0 && start.elapsed().as_secs_f64() >= seconds
                }
            };
            if done {
                final_token = Some(token);
                if count.is_none() {
                    ring.pass(STOP)?;
                    ring.receive()?;
                }
                break;
            }
            ring.pass(token + 1)?;
            s = s.wrapping_add(handoffs);
            handoffs += 1;
            if count.map_or(false, |n| token + workers > n) {
                break; // this worker's share is done: the token will not come back
            }
            token = ring.receive()?;
        }
    }
    let mut worker = Worker::new(index, args, handoffs, s, start);
    worker.token = final_token;
    Ok(worker)
}
