// pool mode (langs/README.md section 10) for Program.cs, the same partial class: --workers N is N tasks handed
// to .NET's standard pool with Task.Run, the ThreadPool at the size it starts with, which decides how many
// threads run them (it may add threads when its own heuristics see the tasks block). C# 7 and APIs both Mono
// and .NET have, as in Program.cs.
using System;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

static partial class Program
{
    // The ThreadPool's worker count as it starts: GetMinThreads (the processor count unless configured).
    // Also reads the tid once, so that binding readlink is not paid inside the timed region.
    static int PreparePool()
    {
        int workerThreads, completionPortThreads;
        ThreadPool.GetMinThreads(out workerThreads, out completionPortThreads);
        CurrentTid();
        return workerThreads;
    }

    // Runs the N tasks on the ThreadPool; null when any failed (each is reported on stderr).
    static WorkerResult[] RunPool(Options o)
    {
        var tasks = new Task<WorkerResult>[o.Workers];
        for (int k = 0; k < o.Workers; k++)
        {
            int index = k;  // a fresh variable per task for the closure
            tasks[k] = Task.Run(() => RunTask(index, o));
        }
        try
        {
            Task.WaitAll(tasks);
        }
        catch (AggregateException e)
        {
            foreach (var inner in e.InnerExceptions) Console.Error.WriteLine("workload: a task failed: " + inner.Message);
            return null;
        }
        var results = new WorkerResult[o.Workers];
        for (int k = 0; k < o.Workers; k++) results[k] = tasks[k].Result;
        return results;
    }

    // One task: the workload's loop, and the kernel threads it began and ended on.
    static WorkerResult RunTask(int index, Options o)
    {
        long first = CurrentTid();
        WorkerResult r = RunWorker(index, o, null, null);
        long last = CurrentTid();
        r.Tids = last == first ? new[] { first } : new[] { first, last };
        return r;
    }

    // "libc" is libc.so.6 on both runtimes: Mono maps it in its dllmap, .NET's loader by a special case.
    [DllImport("libc", SetLastError = true)]
    static extern IntPtr readlink(string path, byte[] buffer, IntPtr size);

    // The kernel's id of the calling thread: the link /proc/thread-self -> "PID/task/TID". Neither runtime has a
    // managed gettid, and readlink is the one call that reads it the same way on every architecture.
    static long CurrentTid()
    {
        var buffer = new byte[64];
        long length = (long)readlink("/proc/thread-self", buffer, (IntPtr)buffer.Length);
        if (length <= 0 || length >= buffer.Length)
            throw new InvalidOperationException("readlink /proc/thread-self failed: errno " + Marshal.GetLastWin32Error());
        string link = Encoding.ASCII.GetString(buffer, 0, (int)length);
        return long.Parse(link.Substring(link.LastIndexOf('/') + 1), Inv);
    }
}
