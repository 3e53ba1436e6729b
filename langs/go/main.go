// Command workload is polylab's Go program: N workers each run the same
// summing loop, as goroutines ("threads" mode) or as child processes that
// re-execute this binary ("processes" mode). See langs/README.md for the contract.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Args is the parsed command line, echoed in the result file. The unused one of
// N and Seconds stays nil and is written as null.
type Args struct {
	Workload string   `json:"workload"`
	Mode     string   `json:"mode"`
	Workers  int      `json:"workers"`
	N        *int64   `json:"n"`
	Seconds  *float64 `json:"seconds"`
}

// Worker is one worker's outcome; a child process writes exactly this.
type Worker struct {
	Index      int     `json:"index"`
	PID        int     `json:"pid"`
	Iterations int64   `json:"iterations"`
	Sum        int64   `json:"sum"`
	ElapsedS   float64 `json:"elapsed_s"`
}

type Runtime struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type Result struct {
	Contract int      `json:"contract"`
	Lang     string   `json:"lang"`
	Runtime  Runtime  `json:"runtime"`
	Args     Args     `json:"args"`
	Workers  []Worker `json:"workers"`
	ElapsedS float64  `json:"elapsed_s"`
}

func main() {
	args, resultPath, workerIndex, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "workload: %v\n", err)
		os.Exit(2)
	}

	// Internal entry point: a child started by runProcesses runs one worker and
	// writes that worker's entry to its own result path.
	if workerIndex >= 0 {
		w := work(workerIndex, args)
		if err := writeJSON(resultPath, w); err != nil {
			fail(err)
		}
		return
	}

	start := time.Now() // Go's time.Now carries a monotonic reading; time.Since uses it
	var workers []Worker
	if args.Mode == "threads" {
		workers = runThreads(args)
	} else {
		workers, err = runProcesses(args, resultPath)
		if err != nil {
			fail(err)
		}
	}
	res := Result{
		Contract: 1,
		Lang:     "go",
		Runtime:  Runtime{Name: "go", Version: runtime.Version()},
		Args:     args,
		Workers:  workers,
		ElapsedS: time.Since(start).Seconds(),
	}
	if err := writeJSON(resultPath, res); err != nil {
		fail(err)
	}
}

func parseArgs(argv []string) (args Args, resultPath string, workerIndex int, err error) {
	fs := flag.NewFlagSet("workload", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // we print one line ourselves, not the usage text
	fs.StringVar(&args.Workload, "workload", "", "sum or sum-print")
	fs.StringVar(&args.Mode, "mode", "", "threads or processes")
	fs.IntVar(&args.Workers, "workers", 0, "number of workers")
	n := fs.Int64("n", 0, "iterations per worker")
	seconds := fs.Float64("seconds", 0, "seconds per worker")
	fs.StringVar(&resultPath, "result", "", "result JSON path")
	fs.IntVar(&workerIndex, "worker-index", -1, "internal: run as child worker K")
	if err = fs.Parse(argv); err != nil {
		return
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case args.Workload != "sum" && args.Workload != "sum-print":
		err = fmt.Errorf("--workload must be sum or sum-print, got %q", args.Workload)
	case args.Mode != "threads" && args.Mode != "processes":
		err = fmt.Errorf("--mode must be threads or processes, got %q", args.Mode)
	case args.Workers < 1:
		err = errors.New("--workers must be at least 1")
	case set["n"] == set["seconds"]:
		err = errors.New("exactly one of --n and --seconds is required")
	case set["n"] && *n < 0:
		err = errors.New("--n must not be negative")
	case set["seconds"] && !(*seconds >= 0 && !math.IsInf(*seconds, 1)):
		err = errors.New("--seconds must be a finite number >= 0")
	case resultPath == "":
		err = errors.New("--result is required")
	case set["worker-index"] && (workerIndex < 0 || workerIndex >= args.Workers):
		err = errors.New("--worker-index out of range")
	}
	if set["n"] {
		args.N = n
	} else {
		args.Seconds = seconds
	}
	return
}

// work runs the loop for one worker. The loop is kept plain so that the
// compiler cannot replace it with a closed formula; s feeds the result.
func work(index int, args Args) Worker {
	printSums := args.Workload == "sum-print"
	start := time.Now()
	var s, i int64
	if args.N != nil {
		for n := *args.N; i < n; i++ {
			s += i // int64 addition wraps (two's complement), as the contract wants
			if printSums {
				// os.Stdout is unbuffered: Println formats the line and issues one
				// write(2), so concurrent lines never tear. That cost is what we measure.
				fmt.Println(s)
			}
		}
	} else {
		limit := time.Duration(*args.Seconds * float64(time.Second))
		for ; ; i++ {
			// Read the clock only every 4096 iterations.
			if i&4095 == 0 && time.Since(start) >= limit {
				break
			}
			s += i
			if printSums {
				fmt.Println(s)
			}
		}
	}
	return Worker{
		Index:      index,
		PID:        os.Getpid(),
		Iterations: i,
		Sum:        s,
		ElapsedS:   time.Since(start).Seconds(),
	}
}

// runThreads runs the workers as goroutines; the Go runtime spreads them over
// OS threads (up to GOMAXPROCS, by default the number of CPUs).
func runThreads(args Args) []Worker {
	workers := make([]Worker, args.Workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func(k int) { // k passed in: go.mod says go 1.19, before per-iteration loop variables
			defer wg.Done()
			workers[k] = work(k, args)
		}(k)
	}
	wg.Wait()
	return workers
}

// runProcesses re-executes this binary once per worker with --worker-index K.
// Children share our stdout and stderr and each write their entry to
// resultPath.worker-K.json, which we read back and delete.
func runProcesses(args Args, resultPath string) ([]Worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var limit []string
	if args.N != nil {
		limit = []string{"--n", strconv.FormatInt(*args.N, 10)}
	} else {
		limit = []string{"--seconds", strconv.FormatFloat(*args.Seconds, 'g', -1, 64)}
	}

	cmds := make([]*exec.Cmd, args.Workers)
	paths := make([]string, args.Workers)
	for k := range cmds {
		paths[k] = fmt.Sprintf("%s.worker-%d.json", resultPath, k)
		cmd := exec.Command(exe,
			"--workload", args.Workload, "--mode", args.Mode,
			"--workers", strconv.Itoa(args.Workers), limit[0], limit[1],
			"--result", paths[k], "--worker-index", strconv.Itoa(k))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			for _, c := range cmds[:k] { // do not leave started children behind
				c.Process.Kill()
				c.Wait()
			}
			return nil, fmt.Errorf("starting worker %d: %w", k, err)
		}
		cmds[k] = cmd
	}

	// Wait for every child before judging, so none outlives us.
	workers := make([]Worker, args.Workers)
	var errs []error
	for k, cmd := range cmds {
		err := cmd.Wait()
		if err == nil {
			workers[k], err = readWorker(paths[k], k)
		}
		os.Remove(paths[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("worker %d: %w", k, err))
		}
	}
	if len(errs) > 1 {
		return nil, fmt.Errorf("%w (and %d more workers failed)", errs[0], len(errs)-1)
	} else if len(errs) == 1 {
		return nil, errs[0]
	}
	return workers, nil
}

// readWorker reads the entry a child wrote for worker k.
func readWorker(path string, k int) (w Worker, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &w)
	}
	if err == nil && w.Index != k {
		err = fmt.Errorf("result has index %d", w.Index)
	}
	return w, err
}

// writeJSON writes v to path atomically: a temporary file in the same
// directory, renamed over path, so readers never see a partial file.
func writeJSON(path string, v interface{}) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "workload: %v\n", err)
	os.Exit(1)
}
