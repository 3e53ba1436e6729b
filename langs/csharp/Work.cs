// The workers' loops, one per workload (langs/README.md), for Program.cs: the same partial class. Each worker
// keeps the universal checksum s += i over its own iterations i = 0, 1, 2, ... in a long, which wraps
// (C# is unchecked by default). C# 7 and APIs both Mono and .NET have, as in Program.cs.
using System;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Threading;

static partial class Program
{
    const long ClockEvery = 4096;          // sum, contended, crash: the clock is read once per this many
    const long PingpongClockEvery = 1024;  // worker 0 reads it once per this many of its hand-offs
    const int NativeBufferBytes = 64 * 1024;
    const long Stop = -1;                  // the pingpong token that stops the ring (real ones are >= 0)

    // The crash workload's failure. Main's catch lets it through (an exception filter does not even unwind),
    // so it stays unhandled, as the workload asks.
    sealed class CrashException : Exception
    {
        public CrashException(string message) : base(message) { }
    }

    // contended: one counter under C#'s standard lock (Monitor).
    sealed class Counter { public long Value; }

    // One worker's end of the pingpong ring: its own mailbox and the next worker's.
    interface IRing
    {
        void Pass(long token);
        long Receive();
    }

    // Between threads: a SemaphoreSlim per worker says "your turn"; the token waits in that worker's slot.
    // Release and Wait are full fences, so the receiver sees the slot written before the Release.
    sealed class SemaphoreRing : IRing
    {
        readonly SemaphoreSlim[] turns;
        readonly long[] slots;
        readonly int mine, next;

        SemaphoreRing(SemaphoreSlim[] turns, long[] slots, int index)
        {
            this.turns = turns; this.slots = slots; mine = index; next = (index + 1) % turns.Length;
        }

        public static IRing[] Of(int workers)
        {
            var turns = new SemaphoreSlim[workers];
            for (int k = 0; k < workers; k++) turns[k] = new SemaphoreSlim(0);
            var slots = new long[workers];
            var ends = new IRing[workers];
            for (int k = 0; k < workers; k++) ends[k] = new SemaphoreRing(turns, slots, k);
            return ends;
        }

        public void Pass(long token) { slots[next] = token; turns[next].Release(); }
        public long Receive() { turns[mine].Wait(); return slots[mine]; }
    }

    // Between child processes: named pipes ring-K in a folder the parent made (see RunProcesses); worker k
    // reads ring-k and writes ring-(k+1). Opening a FIFO blocks until its other end is opened too, so worker 0
    // opens its writing end first and every other worker its reading end first: the opens then succeed one
    // after the other round the ring instead of all waiting on each other.
    sealed class FifoRing : IRing
    {
        readonly FileStream from, to;
        readonly byte[] bytes = new byte[8];

        public FifoRing(string folder, int index, int workers)
        {
            string mine = Path.Combine(folder, "ring-" + index), next = Path.Combine(folder, "ring-" + (index + 1) % workers);
            if (index == 0) { to = Open(next, FileAccess.Write); from = Open(mine, FileAccess.Read); }
            else { from = Open(mine, FileAccess.Read); to = Open(next, FileAccess.Write); }
        }

        // bufferSize 1: no buffering, every Read and Write is one system call.
        static FileStream Open(string path, FileAccess access)
        {
            return new FileStream(path, FileMode.Open, access, FileShare.ReadWrite, 1);
        }

        public void Pass(long token)
        {
            for (int b = 0; b < 8; b++) bytes[b] = (byte)(token >> (8 * b));
            to.Write(bytes, 0, 8);
            to.Flush();
        }

        public long Receive()
        {
            for (int got = 0; got < 8;)
            {
                int n = from.Read(bytes, got, 8 - got);
                if (n == 0) throw new IOException("the ring broke: the previous worker is gone");
                got += n;
            }
            long token = 0;
            for (int b = 7; b >= 0; b--) token = (token << 8) | bytes[b];
            return token;
        }
    }

    // Runs worker `index` in the calling thread. pingpong needs its ring end, contended the shared counter.
    static WorkerResult RunWorker(int index, Options o, IRing ring, Counter counter)
    {
        if (o.Workload == "sum" || o.Workload == "sum-print") return Sum(index, o);
        if (o.Workload == "pingpong") return Pingpong(index, o, ring);
        return Step(index, o, counter);
    }

    static WorkerResult Result(int index, Options o, long iterations, long s, Stopwatch clock)
    {
        double elapsed = clock.Elapsed.TotalSeconds;  // first: looking up the pid is slow on Mono
        return new WorkerResult {
            Index = index, Pid = CurrentPid, Iterations = iterations, Sum = s, ElapsedS = elapsed,
            Finished = o.Workload == "crash" ? true : (bool?)null };
    }

    // sum and sum-print: the tight loop the lab times. After c iterations s == c*(c-1)/2 mod 2^64, which the
    // result reports so the loop cannot be optimised away.
    static WorkerResult Sum(int index, Options o)
    {
        bool print = o.Workload == "sum-print";
        long s = 0, i = 0;
        var clock = Stopwatch.StartNew();
        if (o.N.HasValue)
        {
            long n = o.N.Value;
            for (; i < n; i++)
            {
                s = unchecked(s + i);
                // The naive print. Console.Out is synchronized and auto-flushing: one write(2) per
                // line, slow on Mono, which is what the lab measures. Format first: Mono's
                // WriteLine(long) writes the digits and the newline in two write(2) calls, which
                // lines from concurrent child processes can tear apart; WriteLine(string) is one.
                if (print) Console.WriteLine(s.ToString(Inv));
            }
        }
        else
        {
            long limit = (long)(o.Seconds.Value * Stopwatch.Frequency);
            // Reading the clock every iteration would dominate the loop: check every 4096.
            for (; (i & (ClockEvery - 1)) != 0 || clock.ElapsedTicks < limit; i++)
            {
                s = unchecked(s + i);
                if (print) Console.WriteLine(s.ToString(Inv));
            }
        }
        return Result(index, o, i, s, clock);
    }

    // io, native, contended and crash: one step per iteration (a 1 ms sleep, a 64 KiB hash, a locked increment
    // or nothing), then s += i. The clock is read every iteration when a step takes a millisecond or a hash's
    // tens of microseconds, every ClockEvery otherwise.
    static WorkerResult Step(int index, Options o, Counter counter)
    {
        bool io = o.Workload == "io", contended = o.Workload == "contended";
        bool fails = o.Workload == "crash" && index == 0;
        SHA256 sha256 = o.Workload == "native" ? SHA256.Create() : null;
        byte[] buffer = sha256 != null ? new byte[NativeBufferBytes] : null;
        long clockEvery = io || sha256 != null ? 1 : ClockEvery;
        long limit = o.N.HasValue ? 0 : (long)(o.Seconds.Value * Stopwatch.Frequency);
        long s = 0, i = 0;
        var clock = Stopwatch.StartNew();
        for (;; i++)
        {
            long elapsed = !o.N.HasValue && (i & (clockEvery - 1)) == 0 ? clock.ElapsedTicks : -1;
            if (o.N.HasValue ? i == o.N.Value : elapsed >= limit) break;
            if (fails && (o.N.HasValue ? i == o.N.Value / 2 : elapsed >= limit / 2))
                throw new CrashException("worker " + index + " fails midway, as the crash workload asks");
            if (io) Thread.Sleep(1);
            else if (sha256 != null) Buffer.BlockCopy(sha256.ComputeHash(buffer), 0, buffer, 0, 32);
            else if (contended) lock (counter) counter.Value++;
            s = unchecked(s + i);
        }
        var result = Result(index, o, i, s, clock);
        if (sha256 != null)
        {
            result.Digest = i == 0 ? "" : BitConverter.ToString(buffer, 0, 32).Replace("-", "").ToLowerInvariant();
            sha256.Dispose();
        }
        return result;
    }

    // The holder of token t passes t + 1, so worker k receives exactly the tokens k, k + N, k + 2N, ... In count
    // mode the tokens stop at n: worker k's last is the largest of them <= n, and the one that receives n itself
    // holds the final value. In duration mode worker 0 stops the ring with Stop, which goes round once and back.
    static WorkerResult Pingpong(int index, Options o, IRing ring)
    {
        long? n = o.N, finalToken = null;
        long limit = n.HasValue ? 0 : (long)(o.Seconds.Value * Stopwatch.Frequency);
        long s = 0, handoffs = 0;
        var clock = Stopwatch.StartNew();
        if (!n.HasValue || index <= n.Value)
        {
            long token = index == 0 ? 0 : ring.Receive();  // worker 0 holds 0 at the start
            while (true)
            {
                if (token == Stop)
                {
                    ring.Pass(Stop);  // worker 0 never gets here: it takes Stop back below
                    break;
                }
                if (n.HasValue ? token == n.Value
                    : index == 0 && handoffs % PingpongClockEvery == 0 && clock.ElapsedTicks >= limit)
                {
                    finalToken = token;
                    if (!n.HasValue) { ring.Pass(Stop); ring.Receive(); }
                    break;
                }
                ring.Pass(token + 1);
                s = unchecked(s + handoffs++);
                if (n.HasValue && token + o.Workers > n.Value) break;  // this worker's share is done
                token = ring.Receive();
            }
        }
        var result = Result(index, o, handoffs, s, clock);
        result.Token = finalToken;
        return result;
    }
}
