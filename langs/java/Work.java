// The workers' loops, one per workload (langs/README.md), for Workload.java. Each worker keeps the universal
// checksum s += i over its own iterations i = 0, 1, 2, ... in a long, which wraps as the contract asks.

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.locks.ReentrantLock;

final class Work {
    private Work() {}

    static final int CLOCK_EVERY = 4096;           // sum, contended, crash: the clock is read once per this many
    static final int PINGPONG_CLOCK_EVERY = 1024;  // worker 0 reads it once per this many of its hand-offs
    static final int NATIVE_BUFFER_BYTES = 64 * 1024;
    static final long STOP = -1;                   // the pingpong token that stops the ring (real ones are >= 0)

    /** What workers of one run share: pingpong's ring end (one per worker) and contended's counter. */
    record Shared(Ring ring, Counter counter) {}

    /** contended: one counter, one standard lock. ReentrantLock rather than synchronized, which the JIT may
     *  coarsen across loop iterations when it sees one thread only. */
    static final class Counter {
        final ReentrantLock lock = new ReentrantLock();
        long value;
    }

    /** One worker's end of the pingpong ring: its own mailbox and the next worker's. */
    interface Ring {
        void pass(long token) throws IOException, InterruptedException;
        long receive() throws IOException, InterruptedException;
    }

    /** Between threads: a SynchronousQueue per worker, Java's own hand-off (put waits for the taker). */
    record QueueRing(SynchronousQueue<Long> mine, SynchronousQueue<Long> next) implements Ring {
        static QueueRing[] of(int workers) {
            List<SynchronousQueue<Long>> queues = new ArrayList<>();
            for (int k = 0; k < workers; k++) {
                queues.add(new SynchronousQueue<>());
            }
            QueueRing[] ends = new QueueRing[workers];
            for (int k = 0; k < workers; k++) {
                ends[k] = new QueueRing(queues.get(k), queues.get((k + 1) % workers));
            }
            return ends;
        }
        public void pass(long token) throws InterruptedException { next.put(token); }
        public long receive() throws InterruptedException { return mine.take(); }
    }

    /** Between child JVMs: named pipes ring-K in a folder the parent made (see Children); worker k reads ring-k
     *  and writes ring-(k+1). Opening a FIFO blocks until its other end is opened too, so worker 0 opens its
     *  writing end first and every other worker its reading end first: the opens then succeed one after the
     *  other round the ring instead of all waiting on each other. */
    static final class FifoRing implements Ring {
        private final FileInputStream in;
        private final FileOutputStream out;
        private final byte[] bytes = new byte[Long.BYTES];
        private final ByteBuffer token = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);

        FifoRing(Path folder, int index, int workers) throws IOException {
            Path mine = folder.resolve("ring-" + index), next = folder.resolve("ring-" + (index + 1) % workers);
            if (index == 0) {
                out = new FileOutputStream(next.toFile());
                in = new FileInputStream(mine.toFile());
            } else {
                in = new FileInputStream(mine.toFile());
                out = new FileOutputStream(next.toFile());
            }
        }

        public void pass(long value) throws IOException {
            token.putLong(0, value);
            out.write(bytes); // one write(2) of all 8 bytes: FileOutputStream has no buffer
        }

        public long receive() throws IOException {
            if (in.readNBytes(bytes, 0, bytes.length) < bytes.length) {
                throw new IOException("the ring broke: the previous worker is gone");
            }
            return token.getLong(0);
        }
    }

    /** Runs worker `index` in the calling thread. */
    static Workload.Worker run(int index, Workload.Args args, Shared shared)
            throws IOException, InterruptedException {
        return switch (args.workload()) {
            case "sum", "sum-print" -> sum(index, args);
            case "pingpong" -> pingpong(index, args, shared.ring());
            default -> step(index, args, shared.counter());
        };
    }

    /** sum and sum-print: the tight loop the lab times, with nothing else in it. */
    static Workload.Worker sum(int index, Workload.Args args) {
        final boolean print = args.workload().equals("sum-print");
        long s = 0;
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
                if ((i & (CLOCK_EVERY - 1)) == 0 && System.nanoTime() - start >= limit) {
                    break;
                }
                s += i;
                if (print) {
                    System.out.println(s);
                }
            }
        }
        // Using s (and i) in the result keeps the JIT from dropping the loop.
        return Workload.Worker.of(index, args, i, s, secondsSince(start));
    }

    /** io, native, contended and crash: one step per iteration (a 1 ms sleep, a 64 KiB hash, a locked increment
     *  or nothing), then s += i. The clock is read every iteration when a step takes a millisecond or a hash's
     *  tens of microseconds, every CLOCK_EVERY otherwise. */
    static Workload.Worker step(int index, Workload.Args args, Counter counter) throws InterruptedException {
        final String workload = args.workload();
        final boolean io = workload.equals("io"), contended = workload.equals("contended");
        final MessageDigest sha256 = workload.equals("native") ? sha256() : null;
        final byte[] buffer = sha256 != null ? new byte[NATIVE_BUFFER_BYTES] : null;
        final boolean fails = workload.equals("crash") && index == 0;
        final long clockEvery = io || sha256 != null ? 1 : CLOCK_EVERY;
        final Long n = args.n();
        final long limit = n != null ? 0 : (long) (args.seconds() * 1e9);
        long s = 0;
        long i = 0;
        final long start = System.nanoTime();
        for (; ; i++) {
            final long elapsed = n == null && (i & (clockEvery - 1)) == 0 ? System.nanoTime() - start : -1;
            if (n != null ? i == n : elapsed >= limit) {
                break;
            }
            if (fails && (n != null ? i == n / 2 : elapsed >= limit / 2)) {
                // Unhandled, as Java has it: the exception ends this thread (or this child JVM), nothing more.
                throw new RuntimeException("worker " + index + " fails midway, as the crash workload asks");
            }
            if (io) {
                Thread.sleep(1);
            } else if (sha256 != null) {
                sha256.update(buffer);
                digestInto(sha256, buffer); // the digest lands on the buffer's first 32 bytes
            } else if (contended) {
                counter.lock.lock();
                try {
                    counter.value++;
                } finally {
                    counter.lock.unlock();
                }
            }
            s += i;
        }
        Workload.Worker w = Workload.Worker.of(index, args, i, s, secondsSince(start));
        if (sha256 != null) {
            w = w.withDigest(i == 0 ? "" : HexFormat.of().formatHex(buffer, 0, 32));
        }
        return w;
    }

    static double secondsSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static void digestInto(MessageDigest sha256, byte[] buffer) {
        try {
            sha256.digest(buffer, 0, 32);
        } catch (DigestException e) {
            throw new IllegalStateException("32 bytes hold a SHA-256", e);
        }
    }

    /** The holder of token t passes t + 1, so worker k receives exactly the tokens k, k + N, k + 2N, ... In count
     *  mode the tokens stop at n: worker k's last is the largest of them <= n, and the one that receives n itself
     *  holds the final value. In duration mode worker 0 stops the ring with STOP, which goes round once and back. */
    static Workload.Worker pingpong(int index, Workload.Args args, Ring ring) throws IOException, InterruptedException {
        final Long n = args.n();
        final long limit = n != null ? 0 : (long) (args.seconds() * 1e9);
        long s = 0;
        long handoffs = 0;
        Long finalToken = null;
        final long start = System.nanoTime();
        if (n == null || index <= n) {
            long token = index == 0 ? 0 : ring.receive(); // worker 0 holds 0 at the start
            while (true) {
                if (token == STOP) {
                    ring.pass(STOP); // worker 0 never gets here: it takes STOP back below
                    break;
                }
                if (n != null ? token == n
                        : index == 0 && handoffs % PINGPONG_CLOCK_EVERY == 0 && System.nanoTime() - start >= limit) {
                    finalToken = token;
                    if (n == null) {
                        ring.pass(STOP);
                        ring.receive();
                    }
                    break;
                }
                ring.pass(token + 1);
                s += handoffs++;
                if (n != null && token + args.workers() > n) {
                    break; // this worker's share is done: the token will not come back
                }
                token = ring.receive();
            }
        }
        return Workload.Worker.of(index, args, handoffs, s, secondsSince(start)).withToken(finalToken);
    }
}
