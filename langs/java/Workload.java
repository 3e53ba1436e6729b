// polylab workload in Java (contract 1, see langs/README.md).
//
//   java -cp BUILD Workload --workload {sum,sum-print} --mode {threads,processes} --workers N
//                           (--n COUNT | --seconds S) --result PATH
//
// threads:   N java.lang.Threads in this JVM.
// processes: N child JVMs running this same class with the internal flag --worker-index K; each child
//            writes its worker entry to PATH.worker-K.json, which the parent reads and deletes.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class Workload {

    // Looked up once at start-up, so that workers do not pay for it inside the timed region.
    static final long PID = ProcessHandle.current().pid();

    /** Parsed command line. Exactly one of n / seconds is non-null; workerIndex is null in the parent. */
    record Args(String workload, String mode, int workers, Long n, Double seconds, String result,
                Integer workerIndex) {}

    /** One worker's outcome: a row of the result file's workers[]. */
    record Worker(int index, long pid, long iterations, long sum, double elapsedS) {
        String toJson() {
            return "{\"index\": " + index + ", \"pid\": " + pid + ", \"iterations\": " + iterations
                    + ", \"sum\": " + sum + ", \"elapsed_s\": " + elapsedS + "}";
        }
    }

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
                Worker w = work(args.workerIndex(), args);
                writeAtomically(Paths.get(args.result()), w.toJson() + "\n");
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
    // The work loop

    /** Runs one worker's loop in the calling thread. */
    static Worker work(int index, Args args) {
        final boolean print = args.workload().equals("sum-print");
        long s = 0; // wraps on overflow (two's complement), as the contract asks
        long i = 0;
        final long start = System.nanoTime();
        if (args.n() != null) {
            final long n = args.n();
            for (; i < n; i++) {
                s += i;
                if (print) {
                    // The idiomatic naive print the lab measures. PrintStream.println is synchronized and
                    // System.out autoflushes on println, so each line leaves in one write(2) and never tears.
                    System.out.println(s);
                }
            }
        } else {
            // Saturates for absurd values; comparing elapsed time (not a deadline) cannot overflow.
            final long limit = (long) (args.seconds() * 1e9);
            for (; ; i++) {
                // Read the clock only every 4096 iterations so that it does not dominate the loop.
                if ((i & 4095) == 0 && System.nanoTime() - start >= limit) {
                    break;
                }
                s += i;
                if (print) {
                    System.out.println(s);
                }
            }
        }
        final double elapsed = (System.nanoTime() - start) / 1e9;
        // Using s (and i) in the result keeps the JIT from dropping the loop.
        return new Worker(index, PID, i, s, elapsed);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The parent: start N workers, gather them, write the result file

    static void runParent(Args args) throws IOException, InterruptedException, WorkersFailed {
        final Worker[] results = new Worker[args.workers()];
        final double elapsed = args.mode().equals("threads") ? runThreads(args, results) : runProcesses(args, results);
        writeAtomically(Paths.get(args.result()), resultJson(args, results, elapsed));
    }

    /** Runs the workers as threads of this JVM; returns the wall time from first start to last join. */
    static double runThreads(Args args, Worker[] results) throws InterruptedException, WorkersFailed {
        // Create the threads before starting the clock: the first lambda and string concatenation link
        // their invokedynamic call sites, tens of milliseconds of one-off JVM start-up, not worker time.
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < args.workers(); k++) {
            final int index = k;
            // Each thread writes only its own slot; join() makes the write visible to this thread.
            threads.add(new Thread(() -> results[index] = work(index, args), "worker-" + k));
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
            if (results[k] == null) { // the thread died; its uncaught exception is already on stderr
                System.err.println("workload: worker " + k + " failed");
                failed++;
            }
        }
        if (failed > 0) {
            throw new WorkersFailed(failed);
        }
        return elapsed;
    }

    /** Runs each worker in a child JVM; returns the wall time from first start to last exit. */
    static double runProcesses(Args args, Worker[] results)
            throws IOException, InterruptedException, WorkersFailed {
        // Re-execute this program in a fresh JVM per worker: the running java binary (fallback: java.home),
        // the same class path, the same contract arguments plus the worker's index and its own result path.
        final String java = ProcessHandle.current().info().command()
                .orElse(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        final String classPath = System.getProperty("java.class.path");
        final List<ProcessBuilder> builders = new ArrayList<>();
        final List<Path> childResults = new ArrayList<>();
        for (int k = 0; k < args.workers(); k++) {
            Path childResult = Paths.get(args.result() + ".worker-" + k + ".json");
            childResults.add(childResult);
            List<String> cmd = new ArrayList<>(List.of(java, "-cp", classPath, Workload.class.getName(),
                    "--workload", args.workload(), "--mode", args.mode(),
                    "--workers", Integer.toString(args.workers())));
            if (args.n() != null) {
                cmd.addAll(List.of("--n", Long.toString(args.n())));
            } else {
                cmd.addAll(List.of("--seconds", Double.toString(args.seconds())));
            }
            cmd.addAll(List.of("--result", childResult.toString(), "--worker-index", Integer.toString(k)));
            // Children write their sums straight to our stdout (and diagnostics to our stderr).
            builders.add(new ProcessBuilder(cmd).inheritIO());
        }

        final List<Process> children = new ArrayList<>();
        int failed = 0;
        final long start = System.nanoTime();
        try {
            for (ProcessBuilder pb : builders) {
                children.add(pb.start());
            }
            // Wait for every child, even after one has failed, so that none is left running behind us.
            for (int k = 0; k < children.size(); k++) {
                int code = children.get(k).waitFor();
                if (code != 0) {
                    System.err.println("workload: worker " + k + " exited with status " + code);
                    failed++;
                }
            }
            final double elapsed = (System.nanoTime() - start) / 1e9;
            for (int k = 0; k < children.size(); k++) {
                if (children.get(k).exitValue() != 0) {
                    continue;
                }
                try {
                    results[k] = readWorker(childResults.get(k), k);
                } catch (IOException | RuntimeException e) {
                    System.err.println("workload: worker " + k + ": bad result file: " + e.getMessage());
                    failed++;
                }
            }
            if (failed > 0) {
                throw new WorkersFailed(failed);
            }
            return elapsed;
        } finally {
            for (Process p : children) { // still alive only if we are leaving by an exception
                p.destroyForcibly();
            }
            for (Path p : childResults) {
                Files.deleteIfExists(p);
            }
        }
    }

    // The child's file is the worker's own JSON object, one flat line of numbers written by Worker.toJson()
    // above. Both ends are this program, so one regex over "key": value pairs is all the parsing needed;
    // a JSON library (Java has none built in) would be far more code than the data deserves.
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\"\\s*:\\s*([-+0-9.eE]+)");

    static Worker readWorker(Path file, int expectedIndex) throws IOException {
        Map<String, String> f = new HashMap<>();
        Matcher m = FIELD.matcher(Files.readString(file, StandardCharsets.UTF_8));
        while (m.find()) {
            f.put(m.group(1), m.group(2));
        }
        for (String key : List.of("index", "pid", "iterations", "sum", "elapsed_s")) {
            if (!f.containsKey(key)) {
                throw new IOException("missing \"" + key + "\"");
            }
        }
        int index = Integer.parseInt(f.get("index"));
        if (index != expectedIndex) {
            throw new IOException("index " + index + ", expected " + expectedIndex);
        }
        return new Worker(index, Long.parseLong(f.get("pid")), Long.parseLong(f.get("iterations")),
                Long.parseLong(f.get("sum")), Double.parseDouble(f.get("elapsed_s")));
    }

    // ---------------------------------------------------------------------------------------------------------
    // The result file

    static String resultJson(Args args, Worker[] workers, double elapsed) {
        StringBuilder b = new StringBuilder();
        b.append("{\n");
        b.append("  \"contract\": 1,\n");
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
            b.append("    ").append(workers[k].toJson()).append(k + 1 < workers.length ? ",\n" : "\n");
        }
        b.append("  ],\n");
        b.append("  \"elapsed_s\": ").append(elapsed).append("\n");
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
                case "--workload", "--mode", "--workers", "--n", "--seconds", "--result", "--worker-index" -> { }
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
        if (!workload.equals("sum") && !workload.equals("sum-print")) {
            throw new UsageError("--workload must be sum or sum-print, not " + workload);
        }
        String mode = required(opts, "--mode");
        if (!mode.equals("threads") && !mode.equals("processes")) {
            throw new UsageError("--mode must be threads or processes, not " + mode);
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
            if (!(seconds > 0) || seconds.isInfinite()) {
                throw new UsageError("--seconds must be a positive finite number, not " + v);
            }
        }

        Integer workerIndex = null;
        if (opts.containsKey("--worker-index")) {
            workerIndex = (int) parseLong(opts, "--worker-index", 0, workers - 1);
        }
        return new Args(workload, mode, workers, n, seconds, result, workerIndex);
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
