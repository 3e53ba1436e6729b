// polylab workload in Java (contract 2, see langs/README.md).
//
//   java -cp BUILD Workload --workload {sum,sum-print,pingpong,contended,io,native,crash}
//                           --mode {threads,processes,pool,async} --workers N (--n COUNT | --seconds S)
//                           --result PATH
//
// This file is the parent: arguments, the threads, the result file. The workers' loops are in Work.java,
// processes mode (child JVMs, pingpong's ring of named pipes) in Children.java, pool and async in Pools.java.
//
// threads:   N java.lang.Threads in this JVM.
// processes: N child JVMs running this same class with the internal flag --worker-index K.
// pool:      N tasks (sum and io only) on Executors.newWorkStealingPool().
// async:     N tasks (sum and io only), one virtual thread each (JDK 21+).

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public final class Workload {

    // Looked up once at start-up, so that workers do not pay for it inside the timed region.
    static final long PID = ProcessHandle.current().pid();

    static final List<String> WORKLOADS = List.of("sum", "sum-print", "pingpong", "contended", "io", "native", "crash");
    static final List<String> MODES = List.of("threads", "processes", "pool", "async");
    /** The modes where --workers counts tasks handed to an executor, and the workloads they run. */
    static final List<String> POOLED_MODES = List.of("pool", "async");
    static final List<String> POOLED_WORKLOADS = List.of("sum", "io");

    /** Parsed command line. Exactly one of n / seconds is non-null; workerIndex (and ring, pingpong's folder of
     *  named pipes) are null in the parent. */
    record Args(String workload, String mode, int workers, Long n, Double seconds, String result,
                Integer workerIndex, String ring) {}

    /** One worker's outcome: a row of the result file's workers[]. finished (crash), digest (native), token
     *  (pingpong: the token's final value, seen by one worker) and tids (pool and async: the kernel threads the
     *  task began and ended on) are null where they do not apply. */
    record Worker(int index, long pid, long iterations, long sum, double elapsedS, Boolean finished, String digest,
                  Long token, long[] tids) {
        /** elapsedS is read by the caller: calling of() first loads this class, milliseconds of JVM work that
         *  must not count as the worker's. */
        static Worker of(int index, Args args, long iterations, long sum, double elapsedS) {
            Boolean finished = args.workload().equals("crash") ? Boolean.TRUE : null;
            return new Worker(index, PID, iterations, sum, elapsedS, finished, null, null, null);
        }

        /** The entry of a worker that died before it could report (the crash workload's worker 0). */
        static Worker failed(int index, long pid) {
            return new Worker(index, pid, 0, 0, 0.0, false, null, null, null);
        }

        Worker withDigest(String hex) {
            return new Worker(index, pid, iterations, sum, elapsedS, finished, hex, token, tids);
        }

        Worker withToken(Long value) {
            return new Worker(index, pid, iterations, sum, elapsedS, finished, digest, value, tids);
        }

        Worker withTids(long[] ids) {
            return new Worker(index, pid, iterations, sum, elapsedS, finished, digest, token, ids);
        }

        /** The result file's row; a child's file adds the token for the parent. */
        String toJson(boolean withToken) {
            return "{\"index\": " + index + ", \"pid\": " + pid + ", \"iterations\": " + iterations
                    + ", \"sum\": " + sum + ", \"elapsed_s\": " + elapsedS
                    + (digest != null ? ", \"digest\": \"" + digest + "\"" : "")
                    + (finished != null ? ", \"finished\": " + finished : "")
                    + (withToken && token != null ? ", \"token\": " + token : "")
                    + (tids != null ? ", \"tids\": " + Arrays.toString(tids) : "") + "}";
        }
    }

    /** What running the workers measured: the wall time from the first one started to the last one done, and in
     *  pool and async modes the pool's size as the executor reports it (null for virtual threads). */
    record Ran(double elapsedS, Integer poolSize) {}

    /** Bad command line: reported as one line on stderr, exit status 2. */
    static final class UsageError extends Exception {
        UsageError(String message) { super(message); }
    }

    /** Some workers did not finish; each has been reported on stderr already. Exit status 1. */
    static final class WorkersFailed extends Exception {
        WorkersFailed(int count) { super(count + " worker(s) failed"); }
    }

    public static void main(String[] argv) {
        Args args;
        try {
            args = parse(argv);
        } catch (UsageError e) {
            System.err.println("workload: " + e.getMessage());
            System.exit(2);
            return;
        }
        int status = 0;
        try {
            if (args.workerIndex() != null) {
                // A child in processes mode: run one worker, hand the result to the parent via a file.
                Work.Ring ring = args.ring() == null ? null
                        : new Work.FifoRing(Paths.get(args.ring()), args.workerIndex(), args.workers());
                Worker w = Work.run(args.workerIndex(), args, new Work.Shared(ring, null));
                writeAtomically(Paths.get(args.result()), w.toJson(true) + "\n");
            } else {
                runParent(args);
            }
        } catch (WorkersFailed e) {
            System.err.println("workload: " + e.getMessage());
            status = 1;
        } catch (IOException | InterruptedException e) {
            System.err.println("workload: " + e);
            status = 1;
        }
        // System.out is an autoflush PrintStream, so every println has already reached the fd; the flush is
        // belt and braces. PrintStream swallows write errors (e.g. a closed pipe), so ask for them
        // explicitly: losing sums silently must not look like success.
        System.out.flush();
        if (System.out.checkError()) {
            System.err.println("workload: error writing to stdout");
            status = 1;
        }
        System.exit(status);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The parent: start N workers, gather them, write the result file

    static void runParent(Args args) throws IOException, InterruptedException, WorkersFailed {
        final Worker[] results = new Worker[args.workers()];
        final Work.Counter counter = new Work.Counter();
        final Ran ran = switch (args.mode()) {
            case "threads" -> new Ran(runThreads(args, results, counter), null);
            case "processes" -> new Ran(Children.run(args, results), null);
            default -> Pools.run(args, results);
        };
        writeAtomically(Paths.get(args.result()), resultJson(args, results, counter.value, ran));
    }

    /** Runs the workers as threads of this JVM; returns the wall time from first start to last join. */
    static double runThreads(Args args, Worker[] results, Work.Counter counter)
            throws InterruptedException, WorkersFailed {
        final Work.QueueRing[] ring = args.workload().equals("pingpong") ? Work.QueueRing.of(args.workers()) : null;
        // Create the threads before starting the clock: the first lambda and string concatenation link
        // their invokedynamic call sites, tens of milliseconds of one-off JVM start-up, not worker time.
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < args.workers(); k++) {
            final int index = k;
            final Work.Shared shared = new Work.Shared(ring == null ? null : ring[k], counter);
            // Each thread writes only its own slot; join() makes the write visible to this thread. An exception
            // the worker does not catch (crash's RuntimeException) ends only its thread: the default handler
            // prints it on stderr and the slot stays null.
            threads.add(new Thread(() -> {
                try {
                    results[index] = Work.run(index, args, shared);
                } catch (IOException | InterruptedException e) {
                    System.err.println("workload: worker " + index + ": " + e);
                }
            }, "worker-" + k));
        }
        final long start = System.nanoTime();
        for (Thread t : threads) {
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        final double elapsed = (System.nanoTime() - start) / 1e9;
        int failed = 0;
        for (int k = 0; k < results.length; k++) {
            if (results[k] == null && args.workload().equals("crash") && k == 0) {
                System.err.println("workload: worker 0's thread died, as the crash workload asks; the JVM goes on");
                results[k] = Worker.failed(k, PID);
            } else if (results[k] == null) { // the thread died; its uncaught exception is already on stderr
                System.err.println("workload: worker " + k + " failed");
                failed++;
            }
        }
        if (failed > 0) {
            throw new WorkersFailed(failed);
        }
        return elapsed;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The result file

    static String resultJson(Args args, Worker[] workers, long counter, Ran ran) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("{\n");
        b.append("  \"contract\": 2,\n");
        b.append("  \"lang\": \"java\",\n");
        b.append("  \"runtime\": {\"name\": ").append(jsonString(System.getProperty("java.vm.name", "OpenJDK")))
                .append(", \"version\": ").append(jsonString(System.getProperty("java.version"))).append("},\n");
        b.append("  \"args\": {\"workload\": ").append(jsonString(args.workload()))
                .append(", \"mode\": ").append(jsonString(args.mode()))
                .append(", \"workers\": ").append(args.workers())
                .append(", \"n\": ").append(args.n() == null ? "null" : args.n().toString())
                .append(", \"seconds\": ").append(args.seconds() == null ? "null" : args.seconds().toString())
                .append("},\n");
        b.append("  \"workers\": [\n");
        for (int k = 0; k < workers.length; k++) {
            b.append("    ").append(workers[k].toJson(false)).append(k + 1 < workers.length ? ",\n" : "\n");
        }
        b.append("  ],\n");
        if (POOLED_MODES.contains(args.mode())) {
            b.append("  \"pool_size\": ").append(ran.poolSize()).append(",\n"); // null: virtual threads
        }
        switch (args.workload()) {
            case "pingpong" -> {
                Long token = null;
                for (Worker w : workers) {
                    token = token != null ? token : w.token();
                }
                if (token == null) {
                    throw new IOException("no worker saw the token's final value");
                }
                b.append("  \"token\": ").append(token).append(",\n");
            }
            case "contended" -> b.append("  \"counter\": ").append(counter).append(",\n");
            case "crash" -> b.append("  \"crash\": {\"worker\": 0, \"survived\": true},\n"); // we are writing it
            default -> { }
        }
        b.append("  \"elapsed_s\": ").append(ran.elapsedS()).append("\n");
        b.append("}\n");
        return b.toString();
    }

    /** A JSON string literal: quotes, backslashes and control characters escaped. */
    static String jsonString(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** Writes the file via a temporary file in the same directory and a rename, so readers never see half. */
    static void writeAtomically(Path target, String text) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, target.getFileName() + ".", ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp); // gone already after a successful move
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Command line, parsed by hand

    static Args parse(String[] argv) throws UsageError {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            String flag = argv[i];
            switch (flag) {
                case "--workload", "--mode", "--workers", "--n", "--seconds", "--result", "--worker-index", "--ring" -> { }
                default -> throw new UsageError("unknown argument " + flag);
            }
            if (i + 1 >= argv.length) {
                throw new UsageError(flag + " needs a value");
            }
            if (opts.put(flag, argv[i + 1]) != null) {
                throw new UsageError(flag + " given twice");
            }
        }
        String workload = required(opts, "--workload");
        if (!WORKLOADS.contains(workload)) {
            throw new UsageError("--workload must be one of " + String.join(", ", WORKLOADS) + ", not " + workload);
        }
        String mode = required(opts, "--mode");
        if (!MODES.contains(mode)) {
            throw new UsageError("--mode must be one of " + String.join(", ", MODES) + ", not " + mode);
        }
        if (POOLED_MODES.contains(mode) && !POOLED_WORKLOADS.contains(workload)) {
            throw new UsageError("--mode " + mode + " runs the sum and io workloads only, not " + workload);
        }
        if (mode.equals("async") && !Pools.hasVirtualThreads()) {
            throw new UsageError("virtual threads need JDK 21+ (this is " + Runtime.version() + ")");
        }
        int workers = (int) parseLong(opts, "--workers", 1, Integer.MAX_VALUE);
        String result = required(opts, "--result");
        if (result.isEmpty()) {
            throw new UsageError("--result must not be empty");
        }

        Long n = null;
        Double seconds = null;
        if (opts.containsKey("--n") == opts.containsKey("--seconds")) {
            throw new UsageError("exactly one of --n and --seconds is required");
        } else if (opts.containsKey("--n")) {
            n = parseLong(opts, "--n", 0, Long.MAX_VALUE);
        } else {
            String v = opts.get("--seconds");
            try {
                seconds = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new UsageError("--seconds must be a number, not " + v);
            }
            if (!(seconds >= 0) || seconds.isInfinite()) {
                throw new UsageError("--seconds must be a finite number >= 0, not " + v);
            }
        }

        Integer workerIndex = null;
        if (opts.containsKey("--worker-index")) {
            workerIndex = (int) parseLong(opts, "--worker-index", 0, workers - 1);
        }
        if (workload.equals("pingpong") && workers < 2) {
            throw new UsageError("pingpong passes a token around a ring: it needs --workers 2 or more, not " + workers);
        }
        if (workload.equals("contended") && !mode.equals("threads")) {
            throw new UsageError("contended runs in threads mode only: processes share no counter to contend for");
        }
        if (workload.equals("crash") && n != null && n < 2) {
            throw new UsageError("crash fails worker 0 after n/2 iterations: it needs --n 2 or more, not " + n);
        }
        return new Args(workload, mode, workers, n, seconds, result, workerIndex, opts.get("--ring"));
    }

    static String required(Map<String, String> opts, String flag) throws UsageError {
        String v = opts.get(flag);
        if (v == null) {
            throw new UsageError(flag + " is required");
        }
        return v;
    }

    static long parseLong(Map<String, String> opts, String flag, long min, long max) throws UsageError {
        String v = required(opts, flag);
        long x;
        try {
            x = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageError(flag + " must be an integer, not " + v);
        }
        if (x < min || x > max) {
            throw new UsageError(flag + " must be between " + min + " and " + max + ", not " + v);
        }
        return x;
    }
}
