// processes mode for Workload.java: N child JVMs running this same class with the internal flag
// --worker-index K; each child writes its worker entry to PATH.worker-K.json, which the parent reads and
// deletes. pingpong's ring is N named pipes (FIFOs) in a temporary folder beside PATH, passed as --ring DIR:
// Java can give a child no pipe but one to the parent itself (ProcessBuilder's Redirect.PIPE; startPipeline
// links children in a line, not a ring), and the JDK cannot make a FIFO, so mkfifo(1) makes them.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

final class Children {
    private Children() {}

    /** Runs each worker in a child JVM; returns the wall time from first start to last exit. */
    static double run(Workload.Args args, Workload.Worker[] results)
            throws IOException, InterruptedException, Workload.WorkersFailed {
        final Path ring = args.workload().equals("pingpong") ? makeRing(args) : null;
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
            if (ring != null) {
                cmd.addAll(List.of("--ring", ring.toString()));
            }
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
            final boolean crash = args.workload().equals("crash");
            for (int k = 0; k < children.size(); k++) {
                Process child = children.get(k);
                int code = child.waitFor();
                if (code == 0) {
                    continue;
                }
                if (crash && k == 0) { // the failure the crash workload asks for: a finding, not an error
                    System.err.println("workload: worker 0 (pid " + child.pid() + ") died, as the crash workload "
                            + "asks: exit status " + code);
                    results[0] = Workload.Worker.failed(0, child.pid());
                } else {
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
                throw new Workload.WorkersFailed(failed);
            }
            return elapsed;
        } finally {
            for (Process p : children) { // still alive only if we are leaving by an exception
                p.destroyForcibly();
            }
            for (Path p : childResults) {
                Files.deleteIfExists(p);
            }
            if (ring != null) {
                for (int k = 0; k < args.workers(); k++) {
                    Files.deleteIfExists(ring.resolve("ring-" + k));
                }
                Files.deleteIfExists(ring);
            }
        }
    }

    /** A temporary folder beside PATH (writable in both backends) holding the FIFOs ring-0 .. ring-(N-1). */
    static Path makeRing(Workload.Args args) throws IOException, InterruptedException {
        Path folder = Files.createTempDirectory(Paths.get(args.result()).toAbsolutePath().getParent(), ".ring-");
        List<String> cmd = new ArrayList<>(List.of("mkfifo"));
        for (int k = 0; k < args.workers(); k++) {
            cmd.add(folder.resolve("ring-" + k).toString());
        }
        int code = new ProcessBuilder(cmd).inheritIO().start().waitFor();
        if (code != 0) {
            throw new IOException("mkfifo exited with status " + code + " making the pingpong ring in " + folder);
        }
        return folder;
    }

    // The child's file is the worker's own JSON object, one flat line written by Worker.toJson(true): numbers,
    // booleans and one hex string. Both ends are this program, so one regex over "key": value pairs is all the
    // parsing needed; a JSON library (Java has none built in) would be far more code than the data deserves.
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\"\\s*:\\s*\"?([-+0-9a-zA-Z.]*)\"?");

    static Workload.Worker readWorker(Path file, int expectedIndex) throws IOException {
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
        return new Workload.Worker(index, Long.parseLong(f.get("pid")), Long.parseLong(f.get("iterations")),
                Long.parseLong(f.get("sum")), Double.parseDouble(f.get("elapsed_s")),
                f.containsKey("finished") ? Boolean.valueOf(f.get("finished")) : null, f.get("digest"),
                f.containsKey("token") ? Long.valueOf(f.get("token")) : null, null); // tids: pool and async only
    }
}
