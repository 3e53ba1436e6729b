'use strict';
// polylab workload in Node.js (contract 2, see langs/README.md). Node's standard library only.
//
//   node workload.js --workload {sum,sum-print,pingpong,contended,io,native,crash} --mode {threads,processes,async}
//                    --workers N (--n COUNT | --seconds S) --result PATH
//
// threads:   N worker_threads Workers (each its own V8 isolate on its own OS thread) running this file.
// processes: N children from child_process.fork() running this file with the internal flag --worker-index K;
//            each hands its worker entry back over its own IPC pipe, since stdout is reserved for the sums.
// async:     N async functions on this thread's event loop, awaited with Promise.all (sum and io only). Node
//            has no standard thread pool for JS code, so there is no pool mode.
// This file is the parent: arguments, workers, the result file; workloads.js holds each workload's loop and
// what its workers share.
//
// Sums are exact wrapping int64 values, which a JS Number (exact to 2^53) is not: see README.md here.

const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { performance } = require('node:perf_hooks');
const workerThreads = require('node:worker_threads');

const workloads = require('./workloads');

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------
// The parent: start N workers, gather them, write the result file

async function runParent(args) {
  const start = performance.now();
  const data = args.mode === 'threads' ? workloads.threadsData(args) : null;
  const ring = args.mode === 'processes' && args.workload === 'pingpong' ? workloads.pipeRing(args) : null;
  let outcomes;
  try {
    const startWorker = {
      threads: (k) => startThread(k, args, data),
      processes: (k) => startProcess(k, args, ring ? ring.stdio[k] : []),
      async: (k) => workloads.task(k, args), // rejects if the task throws, which fails the run
    }[args.mode];
    outcomes = await Promise.all(Array.from({ length: args.workers }, (_, k) => startWorker(k)));
  } finally {
    if (ring) ring.fds.forEach((fd) => fs.closeSync(fd));
  }
  const elapsed = (performance.now() - start) / 1000;
  if (args.workload === 'crash' && outcomes[0] instanceof Error) { // worker 0 fails on purpose
    console.error(`workload: ${outcomes[0].message}`);
    outcomes[0] = workloads.unfinished(0, outcomes[0].pid);
  }
  const failures = outcomes.filter((o) => o instanceof Error);
  if (failures.length > 0) {
    for (const failure of failures) console.error(`workload: ${failure.message}`);
    throw new Error(`${failures.length} worker(s) failed`);
  }
  const extra = workloads.topLevel(args.workload, outcomes, data);
  if (args.mode === 'async') extra.pool_size = null; // an event loop has no pool size
  writeAtomically(args.result, resultJson(args, outcomes, elapsed, extra));
}

// A failed worker's Error, with the pid that ran it.
function workerError(k, pid, message) {
  return Object.assign(new Error(`worker ${k}: ${message}`), { pid });
}

// Resolves to the worker's entry, or to an Error (never rejects, so that every worker is waited for). An
// exception the worker does not catch ends only that thread: the Worker emits 'error', then 'exit'.
function startThread(k, args, data) {
  return new Promise((resolve) => {
    let entry = null;
    let failure = null;
    const thread = new workerThreads.Worker(__filename, { workerData: { index: k, args, data } });
    thread.on('message', (message) => { entry = message; });
    thread.on('error', (error) => { failure = error; });
    thread.on('exit', (code) => resolve(entry ?? workerError(k, process.pid,
      failure ? `uncaught ${failure.stack}` : `thread exited with ${code}`)));
  });
}

function startProcess(k, args, ringFds) {
  return new Promise((resolve) => {
    let entry = null;
    const limit = args.n === null ? ['--seconds', String(args.seconds)] : ['--n', String(args.n)];
    const argv = ['--workload', args.workload, '--mode', args.mode, '--workers', String(args.workers), ...limit,
      '--result', args.result, '--worker-index', String(k)];
    // fork: a new node running this file, stdin/stdout/stderr inherited, plus its own IPC pipe (fd 3) and
    // for pingpong its two ring pipes (workloads.RING_FDS). 'advanced' serialization carries BigInts.
    const child = childProcess.fork(__filename, argv, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...ringFds], serialization: 'advanced',
    });
    child.on('message', (message) => { entry = message; });
    child.on('error', (error) => resolve(workerError(k, child.pid, error.message)));
    child.on('exit', (code, signal) => resolve(code === 0 && entry
      ? entry : workerError(k, child.pid, `pid ${child.pid} exited with ${signal ?? code}`)));
  });
}

// ---------------------------------------------------------------------------------------------------------
// The result file

// JSON.stringify cannot write a BigInt; a BigInt is written as its decimal digits, a JSON number.
const valueJson = (value) => (typeof value === 'bigint' ? String(value) : JSON.stringify(value));

function workerJson(w) {
  return `{${Object.entries(w).map(([key, value]) => `${JSON.stringify(key)}: ${valueJson(value)}`).join(', ')}}`;
}

function resultJson(args, workers, elapsed, extra) {
  const fields = {
    contract: 2,
    lang: 'node',
    runtime: { name: 'node', version: process.versions.node },
    args: { workload: args.workload, mode: args.mode, workers: args.workers, n: args.n, seconds: args.seconds },
  };
  const lines = Object.entries(fields).map(([key, value]) => `  ${JSON.stringify(key)}: ${valueJson(value)}`);
  lines.push(`  "workers": [\n${workers.map((w) => `    ${workerJson(w)}`).join(',\n')}\n  ]`);
  lines.push(`  "elapsed_s": ${JSON.stringify(elapsed)}`);
  lines.push(...Object.entries(extra).map(([key, value]) => `  ${JSON.stringify(key)}: ${valueJson(value)}`));
  return `{\n${lines.join(',\n')}\n}\n`;
}

// A temporary file in the same directory, renamed over the target, so readers never see half a file.
function writeAtomically(target, text) {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true }); // gone already after a successful rename
  }
}

// ---------------------------------------------------------------------------------------------------------
// Command line

function parse(argv) {
  const options = Object.fromEntries(['workload', 'mode', 'workers', 'n', 'seconds', 'result', 'worker-index']
    .map((name) => [name, { type: 'string' }]));
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error.message.split('\n')[0]); // one line; parseArgs adds advice lines
  }
  const required = (name) => {
    if (values[name] === undefined || values[name] === '') throw new UsageError(`--${name} is required`);
    return values[name];
  };
  const integer = (name, min, max) => {
    const text = required(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${text}`);
    }
    return value;
  };
  const workload = required('workload');
  if (!Object.hasOwn(workloads.LOOPS, workload)) {
    throw new UsageError(`--workload must be one of ${Object.keys(workloads.LOOPS).join(', ')}, not ${workload}`);
  }
  const mode = required('mode');
  if (mode !== 'threads' && mode !== 'processes' && mode !== 'async') {
    throw new UsageError(`--mode must be threads, processes or async, not ${mode}`);
  }
  const workers = integer('workers', 1, 100000);
  if ((values.n === undefined) === (values.seconds === undefined)) {
    throw new UsageError('exactly one of --n and --seconds is required');
  }
  // Count mode counts in a Number, exact up to 2^53 - 1.
  const n = values.n === undefined ? null : integer('n', 0, Number.MAX_SAFE_INTEGER);
  let seconds = null;
  if (values.seconds !== undefined) {
    seconds = Number(values.seconds);
    if (values.seconds.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(`--seconds must be a finite number >= 0, not ${values.seconds}`);
    }
  }
  const result = required('result');
  const workerIndex = values['worker-index'] === undefined ? null : integer('worker-index', 0, workers - 1);
  const args = { workload, mode, workers, n, seconds, result, workerIndex };
  const problem = workloads.unsupported(args);
  if (problem) throw new UsageError(problem);
  return args;
}

// ---------------------------------------------------------------------------------------------------------
// Entry points: a worker thread, a child process, or the parent

function main() {
  if (!workerThreads.isMainThread) {
    const { index, args, data } = workerThreads.workerData;
    const entry = workloads.work(index, args, workloads.threadShared(index, args, data));
    workerThreads.parentPort.postMessage(entry); // BigInt survives the structured clone
    return;
  }
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`workload: ${error.message}`);
    process.exit(2);
  }
  if (args.workerIndex !== null) {
    // An exception here is left uncaught: Node prints its stack and exits with 1 (the crash workload).
    const entry = workloads.work(args.workerIndex, args, workloads.childShared(args));
    process.send(entry, () => process.disconnect());
    return;
  }
  runParent(args).catch((error) => {
    console.error(`workload: ${error.message}`);
    process.exitCode = 1;
  });
}

main();
