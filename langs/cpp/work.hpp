// What one worker does, for every workload (langs/README.md sections 2 and 9).
#pragma once

#include "args.hpp"
#include "sha256.hpp"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <sys/types.h>

// One worker's entry. Trivially copyable: a forked child sends it to the parent as raw bytes on a pipe.
struct WorkerResult {
    int index = 0;
    pid_t pid = 0;
    std::int64_t iterations = 0;
    std::int64_t sum = 0;
    double elapsed_s = 0;
    bool finished = true;
    std::int64_t last_token = 0;   // pingpong: the last value this worker passed on
    bool has_digest = false;       // native: digest holds the last SHA-256
    Digest digest{};
    pid_t start_tid = 0;           // pool: the kernel thread ids the task started and ended on
    pid_t end_tid = 0;
};

// State every thread of one process shares: the contended counter and its lock.
struct SharedCounter {
    std::mutex lock;
    std::int64_t value = 0;
};

// pingpong's token moving between worker slots: `take(k)` blocks until slot k holds it.
class TokenRing {
public:
    virtual ~TokenRing() = default;
    virtual std::int64_t take(int slot) = 0;
    virtual void put(int slot, std::int64_t token) = 0;
};

// Threads: a mutex and condition variable per slot.
class ThreadTokenRing final : public TokenRing {
public:
    explicit ThreadTokenRing(int slots);
    std::int64_t take(int slot) override;
    void put(int slot, std::int64_t token) override;

private:
    struct Slot {
        std::mutex lock;
        std::condition_variable changed;
        bool full = false;
        std::int64_t token = 0;
    };
    std::vector<std::unique_ptr<Slot>> slots_;
};

// Processes: a ring of pipes, one per worker; worker k reads pipe k.
class PipeTokenRing final : public TokenRing {
public:
    explicit PipeTokenRing(int slots);
    ~PipeTokenRing() override;
    void keep_only(int reader, int writer_to);   // a child closes every end it does not use
    void close_all();
    void close_write_ends();   // the parent keeps the read ends, so a last pass into a finished worker's pipe still lands
    std::int64_t take(int slot) override;
    void put(int slot, std::int64_t token) override;

private:
    std::vector<int> read_ends_;
    std::vector<int> write_ends_;
};

// What the workers of one run share; the ring and counter are used only by their workloads.
struct RunContext {
    const Args& args;
    SharedCounter* counter = nullptr;
    TokenRing* ring = nullptr;
};

// Runs worker `index` to the end. The crash workload's worker 0 throws, on purpose, and nothing catches it.
WorkerResult run_worker(const RunContext& context, int index);
