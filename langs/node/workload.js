'use strict';
// polylab workload in Node.js (contract 1, see langs/README.md). Node's standard library only.
//
//   node workload.js --workload {sum,sum-print} --mode {threads,processes} --workers N
//                    (--n COUNT | --seconds S) --result PATH
//
// threads:   N worker_threads Workers (each its own V8 isolate on its own OS thread) running this file.
// processes: N children from child_process.fork() running this file with the internal flag --worker-index K;
//            each hands its worker entry back over its own IPC pipe, since stdout is reserved for the sums.
//
// Sums are exact wrapping int64 values, which a JS Number (exact to 2^53) is not: see README.md here.

const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { performance } = require('node:perf_hooks');
const workerThreads = require('node:worker_threads');

// Iterations per block: the duration clock is read once a block, and a block's Number partial sum stays
// exact (below 2^53) until i reaches about 2^53 / 4096 = 2.2e12, hours of looping.
const BLOCK = 4096;

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------
// The work loop

function work(index, args) {
  const start = performance.now();
  const limitMs = args.seconds === null ? null : args.seconds * 1000;
  const print = args.workload === 'sum-print';
  let s = 0n; // the exact sum, wrapped to int64 after every block (or every line)
  let i = 0;
  for (;;) {
    // One block of up to BLOCK iterations; duration mode reads the clock once per block.
    let end = i + BLOCK;
    if (limitMs === null) {
      end = Math.min(end, args.n);
      if (i >= end) break;
    } else if (performance.now() - start >= limitMs) {
      break;
    }
    if (print) {
      // Every line must show the exact partial sum, so sum-print keeps s a BigInt throughout; next to a
      // write(2) per line the BigInt arithmetic does not show.
      for (; i < end; i++) {
        s = BigInt.asIntN(64, s + BigInt(i));
        writeLine(`${s}\n`);
      }
    } else {
      // The plain Number loop a JS programmer writes, folded into the BigInt once per block. partial starts
      // as -0, a double: from 0, V8 first compiles the loop for small integers and must throw that code
      // away when block sums pass 2^31 (i ~ 0.5 M), which doubles its warm-up (tens of ms).
      let partial = -0;
      for (; i < end; i++) partial += i;
      s = BigInt.asIntN(64, s + BigInt(partial));
    }
  }
  return { index, pid: process.pid, iterations: i, sum: s, elapsed_s: (performance.now() - start) / 1000 };
}

// One write(2) per line, straight to fd 1 from the worker's own thread. Not process.stdout: in a
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
// The parent: start N workers, gather them, write the result file

async function runParent(args) {
  const start = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: args.workers }, (_, k) => (args.mode === 'threads' ? startThread : startProcess)(k, args)));
  const elapsed = (performance.now() - start) / 1000;
  const failures = outcomes.filter((o) => o instanceof Error);
  if (failures.length > 0) {
    for (const failure of failures) console.error(`workload: ${failure.message}`);
    throw new Error(`${failures.length} worker(s) failed`);
  }
  writeAtomically(args.result, resultJson(args, outcomes, elapsed));
}

// Resolves to the worker's entry, or to an Error (never rejects, so that every worker is waited for).
function startThread(k, args) {
  return new Promise((resolve) => {
    let entry = null;
    let failure = null;
    const thread = new workerThreads.Worker(__filename, { workerData: { index: k, args } });
    thread.on('message', (message) => { entry = message; });
    thread.on('error', (error) => { failure = error; });
    thread.on('exit', (code) => resolve(
      entry ?? new Error(`worker ${k}: ${failure ? failure.message : `thread exited with ${code}`}`)));
  });
}

function startProcess(k, args) {
  return new Promise((resolve) => {
    let entry = null;
    const limit = args.n === null ? ['--seconds', String(args.seconds)] : ['--n', String(args.n)];
    const argv = ['--workload', args.workload, '--mode', args.mode, '--workers', String(args.workers), ...limit,
      '--result', args.result, '--worker-index', String(k)];
    // fork: a new node running this file, stdin/stdout/stderr inherited, plus its own IPC pipe
    const child = childProcess.fork(__filename, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (message) => { entry = { ...message, sum: BigInt(message.sum) }; });
    child.on('error', (error) => resolve(new Error(`worker ${k}: ${error.message}`)));
    child.on('exit', (code, signal) => resolve(code === 0 && entry
      ? entry : new Error(`worker ${k} (pid ${child.pid}): exited with ${signal ?? code}`)));
  });
}

// ---------------------------------------------------------------------------------------------------------
// The result file

function workerJson(w) {
  // JSON.stringify cannot write a BigInt; the sum is written as its decimal digits, a JSON number.
  return `{"index": ${w.index}, "pid": ${w.pid}, "iterations": ${w.iterations}, "sum": ${w.sum}, `
    + `"elapsed_s": ${JSON.stringify(w.elapsed_s)}}`;
}

function resultJson(args, workers, elapsed) {
  const head = {
    contract: 1,
    lang: 'node',
    runtime: { name: 'node', version: process.versions.node },
    args: { workload: args.workload, mode: args.mode, workers: args.workers, n: args.n, seconds: args.seconds },
  };
  const lines = Object.entries(head).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  return ['{', ...lines, '  "workers": [', workers.map((w) => `    ${workerJson(w)}`).join(',\n'), '  ],',
    `  "elapsed_s": ${JSON.stringify(elapsed)}`, '}', ''].join('\n');
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
  if (workload !== 'sum' && workload !== 'sum-print') {
    throw new UsageError(`--workload must be sum or sum-print, not ${workload}`);
  }
  const mode = required('mode');
  if (mode !== 'threads' && mode !== 'processes') {
    throw new UsageError(`--mode must be threads or processes, not ${mode}`);
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
  return { workload, mode, workers, n, seconds, result, workerIndex };
}

// ---------------------------------------------------------------------------------------------------------
// Entry points: a worker thread, a child process, or the parent

function main() {
  if (!workerThreads.isMainThread) {
    const { index, args } = workerThreads.workerData;
    workerThreads.parentPort.postMessage(work(index, args)); // BigInt survives the structured clone
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
    let entry;
    try {
      entry = work(args.workerIndex, args);
    } catch (error) {
      console.error(`workload: worker ${args.workerIndex}: ${error.message}`);
      process.exit(1);
    }
    // The IPC channel speaks JSON, which has no BigInt: the sum travels as a string.
    process.send({ ...entry, sum: String(entry.sum) }, () => process.disconnect());
    return;
  }
  runParent(args).catch((error) => {
    console.error(`workload: ${error.message}`);
    process.exitCode = 1;
  });
}

main();
