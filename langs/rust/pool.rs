//! pool mode (langs/README.md section 10): Rust's standard library has no thread pool, so this is the one its
//! users write with std alone: available_parallelism() OS threads, each pulling the next task's index from a
//! shared AtomicUsize until none is left. A task is a worker of work.rs, run to its end on the thread that
//! took it.

use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use crate::work::{self, Worker};
use crate::Args;

/// The pool's thread count: the parallelism std reports (the CPUs this process may use, cgroup quotas
/// included), 1 when it cannot tell.
pub fn size() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs the N tasks on `size` threads; the entries in index order, each with its tids.
pub fn run(args: &Args, size: usize, counter: &Mutex<i64>) -> Result<Vec<Worker>, String> {
    let next = AtomicUsize::new(0);
    let (mut done, failures) = thread::scope(|scope| {
        let handles: Vec<_> = (0..size)
            .map(|t| {
                let next = &next;
                thread::Builder::new()
                    .name(format!("pool-{t}"))
                    .spawn_scoped(scope, move || take_tasks(args, next, counter))
                    .map_err(|e| format!("starting pool thread {t}: {e}"))
            })
            .collect();
        // Every started thread is joined; the ones that did start take all the tasks between them.
        let (mut done, mut failures) = (Vec::new(), Vec::new());
        for (t, handle) in handles.into_iter().enumerate() {
            match handle.and_then(|h| h.join().map_err(|_| format!("pool thread {t} panicked"))) {
                Ok(tasks) => done.extend(tasks),
                Err(failure) => failures.push(Err(failure)),
            }
        }
        (done, failures)
    });
    done.sort_by_key(|(k, _)| *k);
    crate::gather(done.into_iter().map(|(_, outcome)| outcome).chain(failures).collect())
}

/// One pool thread: take the next task until none is left; the tasks it ran, by index.
fn take_tasks(args: &Args, next: &AtomicUsize, counter: &Mutex<i64>) -> Vec<(usize, Result<Worker, String>)> {
    let mut done = Vec::new();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= args.workers {
            return done;
        }
        done.push((k, task(k, args, counter)));
    }
}

fn task(k: usize, args: &Args, counter: &Mutex<i64>) -> Result<Worker, String> {
    let first = current_tid()?;
    let mut worker = work::work(k, args, None, counter)?;
    let last = current_tid()?;
    // An OS thread never hands its task on, so the two agree here; the contract lists a move as two tids.
    worker.tids = if last == first { vec![first] } else { vec![first, last] };
    Ok(worker)
}

/// The kernel's id of the calling thread: /proc/thread-self links to "PID/task/TID" (std has no gettid).
fn current_tid() -> Result<u64, String> {
    let link = fs::read_link("/proc/thread-self").map_err(|e| format!("reading /proc/thread-self: {e}"))?;
    let tid = link.file_name().and_then(|name| name.to_str()).and_then(|name| name.parse().ok());
    tid.ok_or_else(|| format!("/proc/thread-self links to {}, not PID/task/TID", link.display()))
}
