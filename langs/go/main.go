// Command workload is polylab's Go program: N workers each run the same
// workload, as goroutines ("threads" mode) or as child processes that
// re-execute this binary ("processes" mode). "pool" mode runs N tasks as the
// same goroutines: Go's threads mode already is its pool (the runtime's
// scheduler multiplexes goroutines over GOMAXPROCS threads), so the mode only
// adds each task's kernel thread ids and the pool's size. See langs/README.md
// for the contract.
// This file is the parent: arguments, workers, the result file; workloads.go
// holds each workload's loop and what its workers share.
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
	"syscall"
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
	Digest     *string `json:"digest,omitempty"`   // native
	Finished   *bool   `json:"finished,omitempty"` // crash
	// pingpong: the last token this worker held, for the parent's top-level token; cleared before
	// the result is written.
	HeldToken int64 `json:"held_token,omitempty"`
	TIDs      []int `json:"tids,omitempty"` // pool: the kernel threads the task started and ended on
}

type Crash struct {
	Worker   int  `json:"worker"`
	Survived bool `json:"survived"`
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
	Token    *int64   `json:"token,omitempty"`     // pingpong
	Counter  *int64   `json:"counter,omitempty"`   // contended
	Crash    *Crash   `json:"crash,omitempty"`     // crash, when the process survived
	PoolSize *int     `json:"pool_size,omitempty"` // pool: GOMAXPROCS
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
		w := work(workerIndex, args, childShared(args))
		if err := writeJSON(resultPath, w); err != nil {
			fail(err)
		}
		return
	}

	start := time.Now() // Go's time.Now carries a monotonic reading; time.Since uses it
	var workers []Worker
	var counter *int64
	if args.Mode == "threads" || args.Mode == "pool" { // the pool is the goroutines (see the top)
		workers, counter = runThreads(args)
	} else {
		workers, err = runProcesses(args, resultPath)
		if err != nil {
			fail(err)
		}
	}
	res := Result{
		Contract: 2,
		Lang:     "go",
		Runtime:  Runtime{Name: "go", Version: runtime.Version()},
		Args:     args,
		Workers:  workers,
		ElapsedS: time.Since(start).Seconds(),
	}
	if args.Mode == "pool" {
		// GOMAXPROCS rather than null: goroutines have no pool object to ask, but GOMAXPROCS is the
		// number of threads that run Go code at once, which is what a pool's size says elsewhere.
		size := runtime.GOMAXPROCS(0)
		res.PoolSize = &size
	}
	switch args.Workload {
	case "pingpong":
		var token int64
		for k := range workers {
			if workers[k].HeldToken > token {
				token = workers[k].HeldToken
			}
			workers[k].HeldToken = 0
		}
		res.Token = &token
	case "contended":
		res.Counter = counter
	case "crash": // a crash that took the process down never gets here
		res.Crash = &Crash{Worker: 0, Survived: true}
	}
	if err := writeJSON(resultPath, res); err != nil {
		fail(err)
	}
}

func parseArgs(argv []string) (args Args, resultPath string, workerIndex int, err error) {
	fs := flag.NewFlagSet("workload", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // we print one line ourselves, not the usage text
	fs.StringVar(&args.Workload, "workload", "", "sum, sum-print, pingpong, contended, io, native or crash")
	fs.StringVar(&args.Mode, "mode", "", "threads, processes or pool")
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
	case workloads[args.Workload] == nil:
		err = fmt.Errorf("--workload must be sum, sum-print, pingpong, contended, io, native or crash, got %q",
			args.Workload)
	case args.Mode != "threads" && args.Mode != "processes" && args.Mode != "pool":
		err = fmt.Errorf("--mode must be threads, processes or pool, got %q", args.Mode)
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
	if problem := unsupported(args); err == nil && problem != "" {
		err = errors.New(problem)
	}
	return
}

// work runs one worker's loop and returns its entry for the result file. In pool mode it also reads
// the kernel thread (M) the goroutine runs on at its start and end: the scheduler may move a goroutine
// to another M when it blocks, sleeps or is preempted, and a different end tid is that move.
func work(index int, args Args, sh *shared) Worker {
	var firstTID int
	if args.Mode == "pool" {
		firstTID = syscall.Gettid()
	}
	start := time.Now()
	w := Worker{Index: index, PID: os.Getpid()}
	workloads[args.Workload](index, args, sh, &w)
	w.ElapsedS = time.Since(start).Seconds()
	if args.Mode == "pool" {
		w.TIDs = []int{firstTID}
		if lastTID := syscall.Gettid(); lastTID != firstTID {
			w.TIDs = append(w.TIDs, lastTID)
		}
	}
	return w
}

// runThreads runs the workers as goroutines; the Go runtime spreads them over
// OS threads (up to GOMAXPROCS, by default the number of CPUs). It returns the
// entries and the contended counter.
func runThreads(args Args) ([]Worker, *int64) {
	workers := make([]Worker, args.Workers)
	all := threadsShared(args)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func(k int) { // k passed in: go.mod says go 1.19, before per-iteration loop variables
			workers[k] = work(k, args, all[k])
			// Not deferred: a deferred Done would run while a panic (crash) unwinds, and main could
			// start writing the result before the panic ends the process.
			wg.Done()
		}(k)
	}
	wg.Wait()
	return workers, all[0].counter
}

// Child file descriptors of the pingpong ring: my mailbox's read end, the next worker's write end.
const inboxFD, outboxFD = 3, 4

// childShared is what a processes-mode child shares: for pingpong, the two pipe ends the parent
// passed it (os/exec's ExtraFiles start at descriptor 3).
func childShared(args Args) *shared {
	if args.Workload != "pingpong" {
		return &shared{}
	}
	return &shared{
		inbox:  pipeMailbox{os.NewFile(inboxFD, "inbox")},
		outbox: pipeMailbox{os.NewFile(outboxFD, "outbox")},
	}
}

// pipeRing makes a pipe per worker for pingpong and puts the token, 0, in worker 0's. It returns each
// child's ExtraFiles (its read end, the next one's write end) and every end, which the parent keeps
// open until the children are reaped, so the last hand-off never meets a closed pipe.
func pipeRing(workers int) (extra [][]*os.File, ends []*os.File, err error) {
	readers, writers := make([]*os.File, workers), make([]*os.File, workers)
	for k := range readers {
		if readers[k], writers[k], err = os.Pipe(); err != nil {
			return nil, ends, err
		}
		ends = append(ends, readers[k], writers[k])
	}
	pipeMailbox{writers[0]}.put(0)
	for k := range readers {
		extra = append(extra, []*os.File{readers[k], writers[(k+1)%workers]})
	}
	return extra, ends, nil
}

// runProcesses re-executes this binary once per worker with --worker-index K.
// Children share our stdout and stderr and each write their entry to
// resultPath.worker-K.json, which we read back and delete. For crash, worker 0's
// child dying is expected: its entry says it did not finish.
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
	var extra [][]*os.File
	if args.Workload == "pingpong" {
		var ends []*os.File
		extra, ends, err = pipeRing(args.Workers)
		defer func() {
			for _, f := range ends {
				f.Close()
			}
		}()
		if err != nil {
			return nil, err
		}
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
		if extra != nil {
			cmd.ExtraFiles = extra[k]
		}
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
		var exit *exec.ExitError
		if args.Workload == "crash" && k == 0 && errors.As(err, &exit) {
			finished := false
			workers[k], err = Worker{Index: k, PID: cmd.Process.Pid, Finished: &finished}, nil
		} else if err == nil {
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
