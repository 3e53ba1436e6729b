// polylab workload, C# version: see langs/README.md for the contract.
// One source for both Mono (mcs, C# 7) and .NET 8+ (dotnet build), so it sticks to APIs both have.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Text;
using System.Threading;

static class Program
{
    sealed class Options
    {
        public string Workload, Mode, Result;
        public int Workers;
        public long? N;           // count mode
        public double? Seconds;   // duration mode
        public int WorkerIndex = -1;  // >= 0 only in a child started by processes mode
    }

    sealed class WorkerResult
    {
        public int Index, Pid;
        public long Iterations, Sum;
        public double ElapsedS;
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
                WriteChildFile(o.Result, RunWorker(o.WorkerIndex, o));
                return 0;
            }
            var clock = Stopwatch.StartNew();
            WorkerResult[] results = o.Mode == "threads" ? RunThreads(o) : RunProcesses(o);
            double elapsed = clock.Elapsed.TotalSeconds;
            if (results == null) return 1;
            WriteAtomically(o.Result, ResultJson(o, results, elapsed));
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("workload: " + e.Message);
            return 1;
        }
        finally
        {
            Console.Out.Flush();
        }
    }

    // The loop every worker runs. s wraps on overflow (two's complement); after c iterations
    // s == c*(c-1)/2 mod 2^64, which the result reports so the loop cannot be optimised away.
    static WorkerResult RunWorker(int index, Options o)
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
            for (; (i & 4095) != 0 || clock.ElapsedTicks < limit; i++)
            {
                s = unchecked(s + i);
                if (print) Console.WriteLine(s.ToString(Inv));
            }
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        return new WorkerResult { Index = index, Pid = CurrentPid, Iterations = i, Sum = s, ElapsedS = elapsed };
    }

    static int CurrentPid
    {
        get { using (var p = Process.GetCurrentProcess()) return p.Id; }
    }

    static WorkerResult[] RunThreads(Options o)
    {
        var results = new WorkerResult[o.Workers];
        var threads = new Thread[o.Workers];
        for (int k = 0; k < o.Workers; k++)
        {
            int index = k;  // a fresh variable per thread for the closure
            threads[k] = new Thread(() => results[index] = RunWorker(index, o));
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
        for (int k = 0; k < o.Workers; k++)
        {
            paths[k] = o.Result + ".worker-" + k + ".json";
            var childArgs = new List<string> {
                "--workload", o.Workload, "--mode", o.Mode, "--workers", o.Workers.ToString(Inv),
                "--result", paths[k], "--worker-index", k.ToString(Inv) };
            if (o.N.HasValue) { childArgs.Add("--n"); childArgs.Add(o.N.Value.ToString(Inv)); }
            else { childArgs.Add("--seconds"); childArgs.Add(o.Seconds.Value.ToString("R", Inv)); }
            children[k] = Process.Start(SelfStartInfo(childArgs));
        }

        bool ok = true;
        for (int k = 0; k < o.Workers; k++)
        {
            children[k].WaitForExit();
            if (children[k].ExitCode != 0)
            {
                Console.Error.WriteLine("workload: worker " + k + " (pid " + children[k].Id + ") exited with " + children[k].ExitCode);
                ok = false;
            }
            children[k].Dispose();
        }

        var results = new WorkerResult[o.Workers];
        try
        {
            if (ok) for (int k = 0; k < o.Workers; k++) results[k] = ReadChildFile(paths[k]);
        }
        finally
        {
            foreach (string p in paths) File.Delete(p);  // no error if a file is missing
        }
        return ok ? results : null;
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

    // The child's result file is deliberately not JSON, just the five fields on one line
    // ("index pid iterations sum elapsed_s"), so the parent can read it without a parser.
    static void WriteChildFile(string path, WorkerResult r)
    {
        File.WriteAllText(path, string.Format(Inv, "{0} {1} {2} {3} {4:R}\n", r.Index, r.Pid, r.Iterations, r.Sum, r.ElapsedS));
    }

    static WorkerResult ReadChildFile(string path)
    {
        string[] f = File.ReadAllText(path).Trim().Split(' ');
        return new WorkerResult {
            Index = int.Parse(f[0], Inv), Pid = int.Parse(f[1], Inv),
            Iterations = long.Parse(f[2], Inv), Sum = long.Parse(f[3], Inv),
            ElapsedS = double.Parse(f[4], Inv) };
    }

    static string ResultJson(Options o, WorkerResult[] results, double elapsed)
    {
        var j = new StringBuilder();
        j.Append("{\n  \"contract\": 1,\n  \"lang\": \"csharp\",\n");
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
            j.AppendFormat(Inv, "    {{\"index\": {0}, \"pid\": {1}, \"iterations\": {2}, \"sum\": {3}, \"elapsed_s\": {4}}}{5}\n",
                r.Index, r.Pid, r.Iterations, r.Sum, JsonDouble(r.ElapsedS), k + 1 < results.Length ? "," : "");
        }
        j.Append("  ],\n  \"elapsed_s\": ").Append(JsonDouble(elapsed)).Append("\n}\n");
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
                case "--seconds": case "--result": case "--worker-index":
                    break;
                default:
                    return "unknown argument '" + key + "'";
            }
            if (a + 1 >= args.Length) return key + " needs a value";
            if (seen.ContainsKey(key)) return key + " given twice";
            seen[key] = args[a + 1];
        }

        string v;
        if (!seen.TryGetValue("--workload", out v) || (v != "sum" && v != "sum-print"))
            return "--workload must be sum or sum-print";
        o.Workload = v;
        if (!seen.TryGetValue("--mode", out v) || (v != "threads" && v != "processes"))
            return "--mode must be threads or processes";
        o.Mode = v;
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
        return null;
    }
}
