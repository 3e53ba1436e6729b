'use strict';
// The worker side of every workload of the contract (langs/README.md): one loop per workload, each returning
// the worker's iterations, its checksum sum (s += i for i = 0, 1, 2, …, a wrapping int64 kept in a BigInt)
// and any extra keys of its entry; plus what the workers share:
// - pingpong: a mailbox per worker. Between threads, a slot in a SharedArrayBuffer with Atomics.wait/notify:
//   a blocking hand-off, the futex-like primitive JS has (a MessagePort would go through each thread's event
//   loop and measure libuv's async wake-ups instead). Between processes, a named pipe per worker (below).
// - contended: a lock word and a counter in a SharedArrayBuffer.

const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

// Iterations per block: the duration clock is read once a block, and a block's Number partial sum stays
// exact (below 2^53) until i reaches about 2^53 / 4096 = 2.2e12, hours of looping.
const BLOCK = 4096;
const PINGPONG_CLOCK_EVERY = 1024; // worker 0 reads the clock once per this many of its hand-offs
const STOP = -1n; // the pingpong token that tells the ring to stop (real tokens are >= 0)
const NATIVE_BUFFER_BYTES = 64 * 1024;
const RING_FDS = [4, 5]; // a processes-mode pingpong child's inbox and outbox (3 is the IPC channel)

const wrap = (s, partial) => BigInt.asIntN(64, s + BigInt(partial));

// Runs body(lo, hi) over blocks of at most `size` iterations until n iterations (count mode) or until the
// seconds have passed, read between blocks. body returns the block's sum of i as a Number.
function blocks(limit, start, size, body) {
  let s = 0n;
  let i = 0;
  for (;;) {
    let end = i + size;
    if (limit.n === null) {
      if (performance.now() - start >= limit.seconds * 1000) break;
    } else {
      end = Math.min(end, limit.n);
      if (i >= end) break;
    }
    s = wrap(s, body(i, end));
    i = end;
  }
  return { iterations: i, sum: s };
}

// ---------------------------------------------------------------------------------------------------------
// The loops: (index, args, shared, start) -> { iterations, sum, ...extra keys }

function sumLoop(index, args, shared, start, limit = args) {
  if (args.workload !== 'sum-print') {
    // The plain Number loop a JS programmer writes, folded into the BigInt once per block. partial starts as
    // -0, a double: from 0, V8 first compiles the loop for small integers and must throw that code away when
    // block sums pass 2^31 (i ~ 0.5 M), which doubles its warm-up (tens of ms).
    return blocks(limit, start, BLOCK, (lo, hi) => {
      let partial = -0;
      for (let i = lo; i < hi; i++) partial += i;
      return partial;
    });
  }
  // Every line must show the exact partial sum, so sum-print keeps a BigInt throughout; next to a write(2)
  // per line the BigInt arithmetic does not show.
  let printed = 0n;
  return blocks(limit, start, BLOCK, (lo, hi) => {
    let partial = -0;
    for (let i = lo; i < hi; i++) {
      partial += i;
      printed = BigInt.asIntN(64, printed + BigInt(i));
      writeLine(`${printed}\n`);
    }
    return partial;
  });
}

// One place in the ring: take the token from my mailbox, add 1, put it in the next one's. `token` is the
// last token this worker held; the parent reports the largest.
function pingpongLoop(index, args, { inbox, outbox }, start) {
  let s = 0n;
  let held = 0n;
  let i = 0;
  if (args.n !== null) {
    const share = Math.max(0, Math.ceil((args.n - index) / args.workers)); // my hand-offs of n in all
    for (; i < share; i++) {
      held = inbox.get() + 1n;
      outbox.put(held);
      s = wrap(s, i);
    }
    return { iterations: i, sum: s, token: held };
  }
  for (;; i++) {
    const token = inbox.get();
    if (token === STOP) {
      if (index + 1 < args.workers) outbox.put(STOP); // pass it on, but not back to worker 0, who stopped
      break;
    }
    held = token;
    if (index === 0 && i % PINGPONG_CLOCK_EVERY === 0 && performance.now() - start >= args.seconds * 1000) {
      outbox.put(STOP);
      break;
    }
    held = token + 1n;
    outbox.put(held);
    s = wrap(s, i);
  }
  return { iterations: i, sum: s, token: held };
}

function contendedLoop(index, args, { lock, counter }, start) {
  return blocks(args, start, BLOCK, (lo, hi) => {
    let partial = -0;
    for (let i = lo; i < hi; i++) {
      acquire(lock);
      counter[0] += 1; // a Float64Array: exact up to 2^53 increments
      release(lock);
      partial += i;
    }
    return partial;
  });
}

// Node has no blocking sleep: Atomics.wait on a private Int32Array, for a value nobody changes, with a
// 1 ms timeout blocks this thread in the kernel (a futex wait) for 1 ms.
function ioLoop(index, args, shared, start) {
  const never = new Int32Array(new SharedArrayBuffer(4));
  return blocks(args, start, 1, (i) => {
    Atomics.wait(never, 0, 0, 1);
    return i;
  });
}

// SHA-256 chained through a 64 KiB buffer: hash it, write the digest over its first 32 bytes. createHash
// runs synchronously on the calling thread (not libuv's pool), so each worker hashes on its own thread.
function nativeLoop(index, args, shared, start) {
  const buffer = Buffer.alloc(NATIVE_BUFFER_BYTES);
  let digest = Buffer.alloc(0);
  const result = blocks(args, start, 1, (i) => {
    digest = crypto.createHash('sha256').update(buffer).digest();
    digest.copy(buffer, 0);
    return i;
  });
  return { ...result, digest: digest.toString('hex') };
}

// The summing loop; worker 0 throws halfway through and nothing catches it. In a worker thread the parent
// gets the Worker's 'error' event and goes on; in a child process Node prints the stack and exits with 1.
function crashLoop(index, args, shared, start) {
  if (index !== 0) return { ...sumLoop(index, args, shared, start), finished: true };
  const half = { n: args.n === null ? null : Math.floor(args.n / 2), seconds: args.seconds / 2 };
  const { iterations } = sumLoop(index, args, shared, start, half);
  throw new Error(`worker 0 fails on purpose after ${iterations} iterations (the crash workload)`);
}

const LOOPS = {
  sum: sumLoop,
  'sum-print': sumLoop,
  pingpong: pingpongLoop,
  contended: contendedLoop,
  io: ioLoop,
  native: nativeLoop,
  crash: crashLoop,
};

// An async-mode task (--mode async): sum or io as an async function on the main thread's event loop. A sum
// task never awaits, so it runs to its end when called and the tasks run one after another; an io task awaits
// a 1 ms timer, and the loop runs the others meanwhile. Its entry adds the kernel threads it ran on.
async function task(index, args) {
  const firstTid = threadId();
  const start = performance.now();
  const { iterations, sum } = args.workload === 'io' ? await ioTaskLoop(args, start) : sumLoop(index, args, {}, start);
  const lastTid = threadId();
  return {
    index, pid: process.pid, iterations, sum, elapsed_s: (performance.now() - start) / 1000,
    tids: lastTid === firstTid ? [firstTid] : [firstTid, lastTid],
  };
}

// ioLoop's iterations, each awaiting a 1 ms setTimeout instead of blocking the thread.
async function ioTaskLoop(args, start) {
  let s = 0n;
  let i = 0;
  for (; args.n === null ? performance.now() - start < args.seconds * 1000 : i < args.n; i++) {
    await new Promise((resolve) => { setTimeout(resolve, 1); });
    s = wrap(s, i);
  }
  return { iterations: i, sum: s };
}

// The kernel thread id of the calling thread: /proc/thread-self links to "PID/task/TID".
const threadId = () => Number(fs.readlinkSync('/proc/thread-self').split('/').pop());

// Runs one worker and returns its entry for the result file.
function work(index, args, shared) {
  const start = performance.now();
  const { iterations, sum, ...extra } = LOOPS[args.workload](index, args, shared, start);
  return { index, pid: process.pid, iterations, sum, elapsed_s: (performance.now() - start) / 1000, ...extra };
}

// The entry of a worker that failed (crash): its counts died with it.
const unfinished = (index, pid) => ({ index, pid, iterations: 0, sum: 0n, elapsed_s: 0, finished: false });

// Why the program will not run these settings (the lab never asks for them), or null.
function unsupported({ workload, mode, workers, n }) {
  if (mode === 'async' && !['sum', 'io'].includes(workload)) return `async mode runs sum and io only, not ${workload}`;
  if (workload === 'contended' && mode !== 'threads') return 'contended runs in threads mode only: processes share no counter';
  if (workload === 'pingpong' && workers < 2) return 'pingpong passes a token round a ring: it needs --workers 2 or more';
  if (workload === 'crash' && n !== null && n < 2) return 'crash fails worker 0 after n/2 iterations: it needs --n 2 or more';
  return null;
}

// One worker's write(2) per line, straight to fd 1 from the worker's own thread. Not process.stdout: in a
// worker_thread that is a stream relayed asynchronously through the main thread, so one thread would do
// all the writing and queue up lines without bound.
function writeLine(line) {
  for (;;) {
    try {
      fs.writeSync(1, line); // lines are far below PIPE_BUF, so a pipe takes each whole
      return;
    } catch (error) {
      // fd 1 may have been left non-blocking by whoever shares it; wait for room instead of failing
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the workers share

// A 3-state futex mutex (Drepper, "Futexes Are Tricky", mutex 2) on one Int32 cell: 0 free, 1 locked,
// 2 locked and maybe waited for. Node has no standard mutex; this is the smallest correct one that, like
// a pthread mutex, makes no wait or notify call when nobody contends.
function acquire(lock) {
  let state = Atomics.compareExchange(lock, 0, 0, 1);
  if (state === 0) return;
  if (state !== 2) state = Atomics.exchange(lock, 0, 2);
  while (state !== 0) {
    Atomics.wait(lock, 0, 2);
    state = Atomics.exchange(lock, 0, 2);
  }
}

function release(lock) {
  if (Atomics.sub(lock, 0, 1) !== 1) {
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0, 1);
  }
}

// A one-slot mailbox between threads: one token goes round the ring, so a slot never holds two.
class AtomicsMailbox {
  constructor(full, tokens, k) {
    Object.assign(this, { full, tokens, k });
  }

  put(token) {
    Atomics.store(this.tokens, this.k, token);
    Atomics.store(this.full, this.k, 1);
    Atomics.notify(this.full, this.k, 1);
  }

  get() {
    while (Atomics.load(this.full, this.k) === 0) Atomics.wait(this.full, this.k, 0);
    Atomics.store(this.full, this.k, 0);
    return Atomics.load(this.tokens, this.k);
  }
}

// One end of a pipe: the token travels as 8 little-endian bytes, with blocking reads and writes.
class PipeMailbox {
  constructor(fd) {
    Object.assign(this, { fd, bytes: Buffer.alloc(8) });
  }

  put(token) {
    this.bytes.writeBigInt64LE(token);
    fs.writeSync(this.fd, this.bytes);
  }

  get() {
    for (let got = 0; got < 8;) got += fs.readSync(this.fd, this.bytes, got, 8 - got);
    return this.bytes.readBigInt64LE(0);
  }
}

// The buffers the threads share, sent to each in its workerData (a SharedArrayBuffer is shared, not copied).
// The token starts in worker 0's mailbox, at 0.
function threadsData(args) {
  const data = {
    full: new Int32Array(new SharedArrayBuffer(4 * args.workers)),
    tokens: new BigInt64Array(new SharedArrayBuffer(8 * args.workers)),
    lock: new Int32Array(new SharedArrayBuffer(4)),
    counter: new Float64Array(new SharedArrayBuffer(8)),
  };
  if (args.workload === 'pingpong') new AtomicsMailbox(data.full, data.tokens, 0).put(0n);
  return data;
}

// Worker k's view of threadsData: its mailbox and the next one's, the lock and the counter.
function threadShared(k, args, { full, tokens, lock, counter }) {
  return {
    inbox: new AtomicsMailbox(full, tokens, k),
    outbox: new AtomicsMailbox(full, tokens, (k + 1) % args.workers),
    lock,
    counter,
  };
}

// A processes-mode child's view: for pingpong, the pipe ends the parent passed it.
function childShared(args) {
  if (args.workload !== 'pingpong') return {};
  return { inbox: new PipeMailbox(RING_FDS[0]), outbox: new PipeMailbox(RING_FDS[1]) };
}

// The pipes of a processes-mode pingpong ring: for each child, the extra stdio entries (its pipe's fd and the
// next child's), and every fd, which the parent keeps open until the children have exited, so that the
// last token put into a stopped worker's pipe never meets a closed one. Node has no pipe(2) call, so these
// are named pipes made by mkfifo(1), opened read-write (which never blocks on Linux) and unlinked at once.
function pipeRing(args) {
  const folder = fs.mkdtempSync(path.join(path.dirname(args.result), '.ring-'));
  try {
    const names = Array.from({ length: args.workers }, (_, k) => path.join(folder, String(k)));
    childProcess.execFileSync('mkfifo', names);
    const fds = names.map((name) => fs.openSync(name, 'r+'));
    new PipeMailbox(fds[0]).put(0n);
    return { stdio: fds.map((fd, k) => [fd, fds[(k + 1) % fds.length]]), fds };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

// The keys a workload adds to the result beside the workers (after taking what it needs from them).
function topLevel(workload, entries, data) {
  if (workload === 'pingpong') {
    const tokens = entries.map((entry) => entry.token);
    entries.forEach((entry) => delete entry.token);
    return { token: tokens.reduce((a, b) => (a > b ? a : b)) };
  }
  if (workload === 'contended') return { counter: data.counter[0] };
  if (workload === 'crash') return { crash: { worker: 0, survived: true } };
  return {};
}

module.exports = {
  LOOPS, RING_FDS, childShared, pipeRing, task, threadShared, threadsData, topLevel, unfinished, unsupported, work,
};
