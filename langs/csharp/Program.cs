// polylab workload, C# version: see langs/README.md for the contract (version 2).
// One source for both Mono (mcs, C# 7) and .NET 8+ (dotnet build), so it sticks to APIs both have.
// This file is the parent: arguments, threads, child processes, the result file. The workers' loops are in
// Work.cs, pool mode (N tasks on the ThreadPool, sum and io only) in Pool.cs: the other parts of this partial
// class.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Text;
using System.Threading;

static partial class Program
{
    sealed class Options
    {
        public string Workload, Mode, Result;
        public int Workers;
        public long? N;           // count mode
        public double? Seconds;   // duration mode
        public int WorkerIndex = -1;  // >= 0 only in a child started by processes mode
        public string Ring;           // pingpong in a child: the folder of the ring's named pipes
    }

    static readonly string[] Workloads = { "sum", "sum-print", "pingpong", "contended", "io", "native", "crash" };
    // No async: the ThreadPool is what Task.Run and await both run on, and pool mode measures it.
    static readonly string[] Modes = { "threads", "processes", "pool" };

    sealed class WorkerResult
    {
        public int Index, Pid;
        public long Iterations, Sum;
        public double ElapsedS;
        public bool? Finished;  // crash only: false for the worker that failed
        public string Digest;   // native only: the last SHA-256 in lowercase hex, "" after no iteration
        public long? Token;     // pingpong: the token's final value, seen by exactly one worker
        public long[] Tids;     // pool only: the kernel thread ids the task began and ended on (distinct)
    }

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static readonly bool IsMono = Type.GetType("Mono.Runtime") != null;

    static int Main(string[] args)
    {
        Options o;
        string error = Parse(args, out o);
        if (error != null)
        {
            Console.Error.WriteLine("workload: " + error);
            return 2;
        }
        try
        {
            if (o.WorkerIndex >= 0)
            {
                // Child of processes mode: one worker, reported to the parent through o.Result.
                IRing ring = o.Ring != null ? new FifoRing(o.Ring, o.WorkerIndex, o.Workers) : null;
                WriteChildFile(o.Result, RunWorker(o.WorkerIndex, o, ring, null));
                return 0;
            }
            var counter = new Counter();
            int? poolSize = o.Mode == "pool" ? PreparePool() : (int?)null;
            var clock = Stopwatch.StartNew();
            WorkerResult[] results = o.Mode == "threads" ? RunThreads(o, counter)
                : o.Mode == "processes" ? RunProcesses(o) : RunPool(o);
            double elapsed = clock.Elapsed.TotalSeconds;
            if (results == null) return 1;
            WriteAtomically(o.Result, ResultJson(o, results, counter.Value, poolSize, elapsed));
            return 0;
        }
        catch (Exception e) when (!(e is CrashException))
        {
            Console.Error.WriteLine("workload: " + e.Message);
            return 1;
        }
        finally
        {
            Console.Out.Flush();
        }
    }

    static int CurrentPid
    {
        get { using (var p = Process.GetCurrentProcess()) return p.Id; }
    }

    static WorkerResult[] RunThreads(Options o, Counter counter)
    {
        var results = new WorkerResult[o.Workers];
        var threads = new Thread[o.Workers];
        IRing[] ring = o.Workload == "pingpong" ? SemaphoreRing.Of(o.Workers) : new IRing[o.Workers];
        for (int k = 0; k < o.Workers; k++)
        {
            int index = k;  // a fresh variable per thread for the closure
            // Nothing catches here: crash's exception, unhandled in its thread, ends the whole process on .NET
            // and on Mono, before any result is written.
            threads[k] = new Thread(() => results[index] = RunWorker(index, o, ring[index], counter));
            threads[k].Name = "worker-" + k;
            threads[k].Start();
        }
        foreach (var t in threads) t.Join();
        return results;
    }

    // Processes mode: re-execute this program once per worker with the internal --worker-index flag.
    // Children inherit stdin/stdout/stderr (no redirection), so sum-print lines go straight out.
    static WorkerResult[] RunProcesses(Options o)
    {
        var children = new Process[o.Workers];
        var paths = new string[o.Workers];
        string ring = o.Workload == "pingpong" ? MakeRing(o) : null;
        for (int k = 0; k < o.Workers; k++)
        {
            paths[k] = o.Result + ".worker-" + k + ".json";
            var childArgs = new List<string> {
                "--workload", o.Workload, "--mode", o.Mode, "--workers", o.Workers.ToString(Inv),
                "--result", paths[k], "--worker-index", k.ToString(Inv) };
            if (o.N.HasValue) { childArgs.Add("--n"); childArgs.Add(o.N.Value.ToString(Inv)); }
            else { childArgs.Add("--seconds"); childArgs.Add(o.Seconds.Value.ToString("R", Inv)); }
            if (ring != null) { childArgs.Add("--ring"); childArgs.Add(ring); }
            children[k] = Process.Start(SelfStartInfo(childArgs));
        }

        bool ok = true;
        var results = new WorkerResult[o.Workers];
        for (int k = 0; k < o.Workers; k++)
        {
            children[k].WaitForExit();
            int pid = children[k].Id, code = children[k].ExitCode;
            children[k].Dispose();
            if (code == 0) continue;
            if (o.Workload == "crash" && k == 0)  // the failure the crash workload asks for: a finding
            {
                Console.Error.WriteLine("workload: worker 0 (pid " + pid + ") died, as the crash workload asks: exit status " + code);
                results[k] = new WorkerResult { Index = k, Pid = pid, Finished = false };
                continue;
            }
            Console.Error.WriteLine("workload: worker " + k + " (pid " + pid + ") exited with " + code);
            ok = false;
        }

        try
        {
            if (ok) for (int k = 0; k < o.Workers; k++) if (results[k] == null) results[k] = ReadChildFile(paths[k]);
        }
        finally
        {
            foreach (string p in paths) File.Delete(p);  // no error if a file is missing
            if (ring != null) Directory.Delete(ring, true);
        }
        return ok ? results : null;
    }

    // pingpong's ring between processes: N named pipes (FIFOs) in a temporary folder beside the result file.
    // Neither runtime can hand a child an anonymous pipe portably (Mono's Process gives a child only pipes
    // to the parent), and neither has a mkfifo API, so mkfifo(1) makes them.
    static string MakeRing(Options o)
    {
        string folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(o.Result)), ".ring-" + CurrentPid);
        Directory.CreateDirectory(folder);
        var names = new List<string>();
        for (int k = 0; k < o.Workers; k++) names.Add(Path.Combine(folder, "ring-" + k));
        using (var p = Process.Start(StartInfo("mkfifo", names)))
        {
            p.WaitForExit();
            if (p.ExitCode != 0) throw new IOException("mkfifo exited with " + p.ExitCode + " making the pingpong ring in " + folder);
        }
        return folder;
    }

    // How to start this same program again depends on who is running it:
    // Mono: the process is mono itself, so pass the assembly (.exe) first.
    // .NET: the process is either the apphost (a native "Workload" executable, runs as is) or the
    //       dotnet muxer started as `dotnet Workload.dll`, which needs the dll path first.
    static ProcessStartInfo SelfStartInfo(List<string> args)
    {
        string exe;
        using (var self = Process.GetCurrentProcess()) exe = self.MainModule.FileName;
        string assembly = Assembly.GetEntryAssembly().Location;
        string exeName = Path.GetFileNameWithoutExtension(exe);
        if (IsMono || exeName == "dotnet") args.Insert(0, assembly);
        return StartInfo(exe, args);
    }

    // exe with args passed as they are: no shell, no splitting.
    static ProcessStartInfo StartInfo(string exe, List<string> args)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
#if NETCOREAPP
        foreach (string a in args) psi.ArgumentList.Add(a);
#else
        // Mono 6.8 has ArgumentList but Process.Start ignores it, and on Unix it splits Arguments
        // with POSIX-shell rules: inside double quotes only \ and " need a backslash.
        var line = new StringBuilder();
        foreach (string a in args)
            line.Append(line.Length == 0 ? "\"" : " \"").Append(a.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append('"');
        psi.Arguments = line.ToString();
#endif
        return psi;
    }

    // The child's result file is deliberately not JSON, just the fields on one line ("index pid iterations
    // sum elapsed_s finished digest token", "-" for none), so the parent can read it without a parser.
    static void WriteChildFile(string path, WorkerResult r)
    {
        File.WriteAllText(path, string.Format(Inv, "{0} {1} {2} {3} {4:R} {5} {6} {7}\n", r.Index, r.Pid, r.Iterations,
            r.Sum, r.ElapsedS, r.Finished.HasValue ? (r.Finished.Value ? "true" : "false") : "-",
            r.Digest == null ? "-" : "x" + r.Digest, r.Token.HasValue ? r.Token.Value.ToString(Inv) : "-"));
    }

    static WorkerResult ReadChildFile(string path)
    {
        string[] f = File.ReadAllText(path).Trim().Split(' ');
        return new WorkerResult {
            Index = int.Parse(f[0], Inv), Pid = int.Parse(f[1], Inv),
            Iterations = long.Parse(f[2], Inv), Sum = long.Parse(f[3], Inv),
            ElapsedS = double.Parse(f[4], Inv),
            Finished = f[5] == "-" ? (bool?)null : f[5] == "true",
            Digest = f[6] == "-" ? null : f[6].Substring(1),  // "x" first: an empty digest still has a field
            Token = f[7] == "-" ? (long?)null : long.Parse(f[7], Inv) };
    }

    static string ResultJson(Options o, WorkerResult[] results, long counter, int? poolSize, double elapsed)
    {
        var j = new StringBuilder();
        j.Append("{\n  \"contract\": 2,\n  \"lang\": \"csharp\",\n");
        j.AppendFormat(Inv, "  \"runtime\": {{\"name\": {0}, \"version\": {1}}},\n",
            JsonString(IsMono ? "mono" : ".NET"), JsonString(RuntimeVersion()));
        j.AppendFormat(Inv, "  \"args\": {{\"workload\": {0}, \"mode\": {1}, \"workers\": {2}, \"n\": {3}, \"seconds\": {4}}},\n",
            JsonString(o.Workload), JsonString(o.Mode), o.Workers,
            o.N.HasValue ? o.N.Value.ToString(Inv) : "null",
            o.Seconds.HasValue ? JsonDouble(o.Seconds.Value, "R") : "null");
        j.Append("  \"workers\": [\n");
        for (int k = 0; k < results.Length; k++)
        {
            var r = results[k];
            j.AppendFormat(Inv, "    {{\"index\": {0}, \"pid\": {1}, \"iterations\": {2}, \"sum\": {3}, \"elapsed_s\": {4}",
                r.Index, r.Pid, r.Iterations, r.Sum, JsonDouble(r.ElapsedS));
            if (r.Digest != null) j.Append(", \"digest\": ").Append(JsonString(r.Digest));
            if (r.Finished.HasValue) j.Append(", \"finished\": ").Append(r.Finished.Value ? "true" : "false");
            if (r.Tids != null) j.Append(", \"tids\": [").Append(string.Join(", ", r.Tids)).Append(']');
            j.Append(k + 1 < results.Length ? "},\n" : "}\n");
        }
        j.Append("  ],\n");
        if (poolSize.HasValue) j.Append("  \"pool_size\": ").Append(poolSize.Value.ToString(Inv)).Append(",\n");
        if (o.Workload == "pingpong")
        {
            long? token = null;
            foreach (var r in results) token = token ?? r.Token;
            if (!token.HasValue) throw new InvalidOperationException("no worker saw the token's final value");
            j.Append("  \"token\": ").Append(token.Value.ToString(Inv)).Append(",\n");
        }
        if (o.Workload == "contended") j.Append("  \"counter\": ").Append(counter.ToString(Inv)).Append(",\n");
        if (o.Workload == "crash") j.Append("  \"crash\": {\"worker\": 0, \"survived\": true},\n");  // we are writing it
        j.Append("  \"elapsed_s\": ").Append(JsonDouble(elapsed)).Append("\n}\n");
        return j.ToString();
    }

    // Mono's own description ("6.8.0.105 (Debian ...)") is internal: Mono.Runtime.GetDisplayName.
    static string RuntimeVersion()
    {
        if (IsMono)
        {
            var m = Type.GetType("Mono.Runtime").GetMethod("GetDisplayName", BindingFlags.NonPublic | BindingFlags.Static);
            if (m != null) return (string)m.Invoke(null, null);
        }
        return Environment.Version.ToString();
    }

    // A JSON number that always reads back as a float ("1.0", not "1"). Durations use fixed notation
    // to the nanosecond ("0.#########": no exponent, none of Mono's 17-digit "R" noise); the
    // --seconds argument uses "R" so it round-trips exactly.
    static string JsonDouble(double d, string format = "0.#########")
    {
        string s = d.ToString(format, Inv);
        return s.IndexOfAny(new[] { '.', 'E' }) < 0 ? s + ".0" : s;
    }

    static string JsonString(string s)
    {
        var b = new StringBuilder("\"");
        foreach (char c in s)
        {
            if (c == '"' || c == '\\') b.Append('\\').Append(c);
            else if (c < ' ') b.AppendFormat(Inv, "\\u{0:x4}", (int)c);
            else b.Append(c);
        }
        return b.Append('"').ToString();
    }

    // Temp file in the same directory, then rename(2) it onto the target, so readers never see half
    // a file. File.Move cannot overwrite on Mono; File.Replace (a plain rename on both runtimes) can,
    // but needs the target to exist.
    static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp-" + CurrentPid;
        File.WriteAllText(tmp, text);
        if (File.Exists(path)) File.Replace(tmp, path, null);
        else File.Move(tmp, path);
    }

    // Returns an error message, or null when args are valid.
    static string Parse(string[] args, out Options o)
    {
        o = new Options();
        var seen = new Dictionary<string, string>();
        for (int a = 0; a < args.Length; a += 2)
        {
            string key = args[a];
            switch (key)
            {
                case "--workload": case "--mode": case "--workers": case "--n":
                case "--seconds": case "--result": case "--worker-index": case "--ring":
                    break;
                default:
                    return "unknown argument '" + key + "'";
            }
            if (a + 1 >= args.Length) return key + " needs a value";
            if (seen.ContainsKey(key)) return key + " given twice";
            seen[key] = args[a + 1];
        }

        string v;
        if (!seen.TryGetValue("--workload", out v) || Array.IndexOf(Workloads, v) < 0)
            return "--workload must be one of " + string.Join(", ", Workloads);
        o.Workload = v;
        if (!seen.TryGetValue("--mode", out v) || Array.IndexOf(Modes, v) < 0)
            return "--mode must be one of " + string.Join(", ", Modes);
        o.Mode = v;
        if (o.Mode == "pool" && o.Workload != "sum" && o.Workload != "io")
            return "--mode pool runs the sum and io workloads only, not " + o.Workload;
        if (!seen.TryGetValue("--workers", out v) || !int.TryParse(v, NumberStyles.None, Inv, out o.Workers) || o.Workers < 1)
            return "--workers must be an integer >= 1";
        if (!seen.TryGetValue("--result", out v) || v.Length == 0)
            return "--result PATH is required";
        o.Result = v;

        bool hasN = seen.ContainsKey("--n"), hasSeconds = seen.ContainsKey("--seconds");
        if (hasN == hasSeconds) return "exactly one of --n and --seconds is required";
        if (hasN)
        {
            long n;
            if (!long.TryParse(seen["--n"], NumberStyles.None, Inv, out n)) return "--n must be an integer >= 0";
            o.N = n;
        }
        else
        {
            double sec;
            if (!double.TryParse(seen["--seconds"], NumberStyles.Float, Inv, out sec) || !(sec >= 0) || double.IsInfinity(sec))
                return "--seconds must be a number >= 0";
            o.Seconds = sec;
        }

        if (seen.TryGetValue("--worker-index", out v))
        {
            if (!int.TryParse(v, NumberStyles.None, Inv, out o.WorkerIndex) || o.WorkerIndex >= o.Workers)
                return "--worker-index must be in 0..workers-1";
        }
        seen.TryGetValue("--ring", out o.Ring);
        if (o.Workload == "pingpong" && o.Workers < 2)
            return "pingpong passes a token around a ring: it needs --workers 2 or more, not " + o.Workers;
        if (o.Workload == "contended" && o.Mode != "threads")
            return "contended runs in threads mode only: processes share no counter to contend for";
        if (o.Workload == "crash" && o.N.HasValue && o.N.Value < 2)
            return "crash fails worker 0 after n/2 iterations: it needs --n 2 or more, not " + o.N.Value;
        return null;
    }
}
