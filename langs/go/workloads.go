package main

// The worker side of every workload of the contract (langs/README.md): one loop per workload, each
// returning the worker's iterations and its checksum s (s += i for i = 0, 1, 2, …), plus what the
// workers share: a mailbox per worker for the pingpong ring and the contended counter with its mutex.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

const (
	pingpongClockEvery = 1024 // worker 0 reads the clock once per this many of its hand-offs
	stopToken          = -1   // the pingpong token that tells the ring to stop (real tokens are >= 0)
	nativeBufferBytes  = 64 * 1024
)

var workloads = map[string]func(index int, args Args, sh *shared, w *Worker){
	"sum":       sumLoop,
	"sum-print": sumLoop,
	"pingpong":  pingpongLoop,
	"contended": contendedLoop,
	"io":        ioLoop,
	"native":    nativeLoop,
	"crash":     crashLoop,
}

// unsupported says why the program will not run these settings (the lab never asks for them), or "".
func unsupported(args Args) string {
	switch {
	case args.Mode == "pool" && args.Workload != "sum" && args.Workload != "io":
		return "pool mode runs the sum and io workloads only, not " + args.Workload
	case args.Workload == "contended" && args.Mode != "threads":
		return "contended runs in threads mode only: processes share no counter"
	case args.Workload == "pingpong" && args.Workers < 2:
		return "pingpong passes a token round a ring: it needs --workers 2 or more"
	case args.Workload == "crash" && args.N != nil && *args.N < 2:
		return "crash fails worker 0 after n/2 iterations: it needs --n 2 or more"
	}
	return ""
}

// shared is what one worker shares with the others; only what its workload uses is set.
type shared struct {
	inbox, outbox mailbox // pingpong: my mailbox and the next worker's
	mu            *sync.Mutex
	counter       *int64 // contended: guarded by mu
}

// mailbox carries the pingpong token: a channel between goroutines, a pipe between processes.
type mailbox interface {
	put(token int64)
	get() int64
}

// chanMailbox holds one token at most: a single token goes round the ring. The buffer of one lets the
// last hand-off land in the mailbox of a worker that has already stopped.
type chanMailbox chan int64

func (c chanMailbox) put(token int64) { c <- token }
func (c chanMailbox) get() int64      { return <-c }

// pipeMailbox is one end of an os.Pipe: the token travels as 8 little-endian bytes.
type pipeMailbox struct{ f *os.File }

func (p pipeMailbox) put(token int64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(token))
	if _, err := p.f.Write(buf[:]); err != nil {
		fail(fmt.Errorf("pingpong: passing the token: %w", err))
	}
}

func (p pipeMailbox) get() int64 {
	var buf [8]byte
	if _, err := io.ReadFull(p.f, buf[:]); err != nil {
		fail(fmt.Errorf("pingpong: waiting for the token: %w", err))
	}
	return int64(binary.LittleEndian.Uint64(buf[:]))
}

// threadsShared builds what the goroutines share. The token starts in worker 0's mailbox, at 0.
func threadsShared(args Args) []*shared {
	all := make([]*shared, args.Workers)
	boxes := make([]chanMailbox, args.Workers)
	mu, counter := new(sync.Mutex), new(int64)
	for k := range boxes {
		boxes[k] = make(chanMailbox, 1)
	}
	for k := range all {
		all[k] = &shared{inbox: boxes[k], outbox: boxes[(k+1)%args.Workers], mu: mu, counter: counter}
	}
	if args.Workload == "pingpong" {
		boxes[0].put(0)
	}
	return all
}

// sumLoop is the contract's summing loop, printing every partial sum for sum-print.
func sumLoop(index int, args Args, sh *shared, w *Worker) {
	w.Iterations, w.Sum = summing(args.N, args.Seconds, args.Workload == "sum-print")
}

// summing runs the loop for n iterations or for the given seconds (the unused one is nil). It is
// kept plain so that the compiler cannot replace it with a closed formula; s feeds the result.
func summing(n *int64, seconds *float64, printSums bool) (i, s int64) {
	start := time.Now() // Go's time.Now carries a monotonic reading; time.Since uses it
	if n != nil {
		for ; i < *n; i++ {
			s += i // int64 addition wraps (two's complement), as the contract wants
			if printSums {
				// os.Stdout is unbuffered: Println formats the line and issues one
				// write(2), so concurrent lines never tear. That cost is what we measure.
				fmt.Println(s)
			}
		}
		return
	}
	limit := time.Duration(*seconds * float64(time.Second))
	for ; ; i++ {
		// Read the clock only every 4096 iterations.
		if i&4095 == 0 && time.Since(start) >= limit {
			return
		}
		s += i
		if printSums {
			fmt.Println(s)
		}
	}
}

// pingpongLoop is one place in the ring: take the token from my mailbox, add 1, put it in the next
// one's. Between goroutines a hand-off is a channel send to a parked receiver: the Go scheduler may run
// the receiver on the same OS thread without ever entering the kernel, so what this measures for
// threads mode is the runtime's hand-off, not the kernel's context switch. That is a finding.
func pingpongLoop(index int, args Args, sh *shared, w *Worker) {
	var s, held int64
	start := time.Now()
	if args.N != nil {
		workers := int64(args.Workers)
		share := (*args.N - int64(index) + workers - 1) / workers // my hand-offs of n in all
		if share < 0 {
			share = 0
		}
		for i := int64(0); i < share; i++ {
			held = sh.inbox.get() + 1
			sh.outbox.put(held)
			s += i
		}
		w.Iterations, w.Sum, w.HeldToken = share, s, held
		return
	}
	limit := secondsOf(args)
	var i int64
	for ; ; i++ {
		token := sh.inbox.get()
		if token == stopToken {
			if index+1 < args.Workers { // pass it on, but not back round to worker 0, who stopped
				sh.outbox.put(stopToken)
			}
			break
		}
		held = token
		if index == 0 && i%pingpongClockEvery == 0 && time.Since(start) >= limit {
			sh.outbox.put(stopToken)
			break
		}
		held = token + 1
		sh.outbox.put(held)
		s += i
	}
	w.Iterations, w.Sum, w.HeldToken = i, s, held
}

func contendedLoop(index int, args Args, sh *shared, w *Worker) {
	var i, s int64
	start := time.Now()
	for ; ; i++ {
		if args.N != nil {
			if i == *args.N {
				break
			}
		} else if i&4095 == 0 && time.Since(start) >= secondsOf(args) {
			break
		}
		sh.mu.Lock()
		*sh.counter++
		sh.mu.Unlock()
		s += i
	}
	w.Iterations, w.Sum = i, s
}

// repeat calls step, then s += i, once per iteration. The clock is read every iteration: beside a
// step of microseconds (a 1 ms sleep, a 64 KiB hash) it costs nothing.
func repeat(args Args, step func()) (i, s int64) {
	start := time.Now()
	for ; ; i++ {
		if args.N != nil && i == *args.N || args.Seconds != nil && time.Since(start) >= secondsOf(args) {
			return
		}
		step()
		s += i
	}
}

func secondsOf(args Args) time.Duration {
	return time.Duration(*args.Seconds * float64(time.Second))
}

// ioLoop sleeps 1 ms per iteration. A sleeping goroutine parks on the runtime's timer and frees its
// OS thread for other goroutines; the thread itself waits in the kernel (epoll_wait or futex).
func ioLoop(index int, args Args, sh *shared, w *Worker) {
	w.Iterations, w.Sum = repeat(args, func() { time.Sleep(time.Millisecond) })
}

// nativeLoop chains SHA-256 through a 64 KiB buffer: hash it, write the digest over its first 32 bytes.
func nativeLoop(index int, args Args, sh *shared, w *Worker) {
	buffer := make([]byte, nativeBufferBytes)
	var digest []byte
	w.Iterations, w.Sum = repeat(args, func() {
		sum := sha256.Sum256(buffer)
		digest = sum[:]
		copy(buffer, digest)
	})
	text := hex.EncodeToString(digest) // "" after no iterations
	w.Digest = &text
}

// crashLoop is the summing loop; worker 0 panics halfway through and nothing recovers it. A panic in
// any goroutine ends the whole process (exit status 2, the stacks on stderr), so in threads mode no
// worker finishes and no result is written; in processes mode only that child dies.
func crashLoop(index int, args Args, sh *shared, w *Worker) {
	if index != 0 {
		w.Iterations, w.Sum = summing(args.N, args.Seconds, false)
		finished := true
		w.Finished = &finished
		return
	}
	var half *int64
	var halfSeconds *float64
	if args.N != nil {
		n := *args.N / 2
		half = &n
	} else {
		seconds := *args.Seconds / 2
		halfSeconds = &seconds
	}
	i, _ := summing(half, halfSeconds, false)
	panic(fmt.Sprintf("worker 0 fails on purpose after %d iterations (the crash workload)", i))
}
