// pool and async modes (langs/README.md section 10) for Workload.java: --workers N is N tasks handed to one of
// Java's standard executors at its default size, which decides how many threads run them.
//
// pool:  Executors.newWorkStealingPool(): a ForkJoinPool as wide as the processors the JVM may use.
// async: Executors.newVirtualThreadPerTaskExecutor(): one virtual thread per task, mounted on the carrier threads
//        of the JDK's scheduler (JDK 21+). It is looked up by reflection, so that this file still compiles on
//        JDK 17, where --mode async is a bad argument.

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

final class Pools {
    private Pools() {}

    static final Path THREAD_SELF = Path.of("/proc/thread-self");

    /** Virtual threads are final from JDK 21 (a preview, off by default, in 19 and 20). */
    static boolean hasVirtualThreads() {
        return Runtime.version().feature() >= 21;
    }

    static Workload.Ran run(Workload.Args args, Workload.Worker[] results)
            throws IOException, InterruptedException, Workload.WorkersFailed {
        final boolean async = args.mode().equals("async");
        final ExecutorService executor = async ? virtualThreadPerTaskExecutor() : Executors.newWorkStealingPool();
        // Virtual threads have no pool of their own to ask (their carriers' scheduler is the JDK's business).
        final Integer poolSize = async ? null : ((ForkJoinPool) executor).getParallelism();
        // Made before the clock starts, as runThreads does, and the tid read once: the first lambda and the
        // first readlink link call sites and load classes, one-off JVM start-up that is no task's time.
        currentTid();
        final List<Callable<Workload.Worker>> tasks = new ArrayList<>();
        for (int k = 0; k < args.workers(); k++) {
            final int index = k;
            tasks.add(() -> task(index, args));
        }
        final long start = System.nanoTime();
        final List<Future<Workload.Worker>> done;
        try {
            done = executor.invokeAll(tasks); // hands over every task and waits until each has finished
        } finally {
            executor.shutdown();
        }
        final double elapsed = (System.nanoTime() - start) / 1e9;
        int failed = 0;
        for (int k = 0; k < results.length; k++) {
            try {
                results[k] = done.get(k).get();
            } catch (ExecutionException e) {
                System.err.println("workload: task " + k + " failed: " + e.getCause());
                failed++;
            }
        }
        if (failed > 0) {
            throw new Workload.WorkersFailed(failed);
        }
        return new Workload.Ran(elapsed, poolSize);
    }

    /** One task: section 2's loop of its workload, and the kernel threads it began and ended on. */
    static Workload.Worker task(int index, Workload.Args args) throws IOException, InterruptedException {
        final long first = currentTid();
        final Workload.Worker worker = Work.run(index, args, new Work.Shared(null, null));
        final long last = currentTid();
        return worker.withTids(last == first ? new long[] {first} : new long[] {first, last});
    }

    /** The kernel's id of the OS thread running the caller (a virtual thread's: its carrier's), from the link
     *  /proc/thread-self -> "PID/task/TID": Java has no gettid. */
    static long currentTid() throws IOException {
        final Path link = Files.readSymbolicLink(THREAD_SELF);
        try {
            return Long.parseLong(link.getFileName().toString());
        } catch (NumberFormatException e) {
            throw new IOException(THREAD_SELF + " links to " + link + ", not PID/task/TID", e);
        }
    }

    /** Executors.newVirtualThreadPerTaskExecutor(), which JDK 17 has not got; parse() lets async through only
     *  when hasVirtualThreads(). */
    private static ExecutorService virtualThreadPerTaskExecutor() {
        try {
            return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("JDK " + Runtime.version() + " has no virtual threads", e);
        }
    }
}
