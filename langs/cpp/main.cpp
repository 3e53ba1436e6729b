// polylab's workload contract in C++ (langs/README.md): N workers as std::threads or as fork()ed children.
#include "args.hpp"
#include "pool.hpp"
#include "result.hpp"
#include "sha256.hpp"
#include "work.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

std::vector<WorkerResult> run_threads(const RunContext& context)
{
    std::vector<WorkerResult> results(context.args.workers);
    std::vector<std::thread> threads;
    for (int index = 0; index < context.args.workers; ++index) {
        // An exception escaping a std::thread (crash) calls std::terminate: the whole process aborts.
        threads.emplace_back([&context, &results, index] { results[index] = run_worker(context, index); });
    }
    for (std::thread& thread : threads) thread.join();
    return results;
}

// N tasks on a pool of default_pool_size() threads; the tasks record the kernel thread they ran on.
std::vector<WorkerResult> run_pool(const RunContext& context, ThreadPool& pool)
{
    std::vector<WorkerResult> results(context.args.workers);
    for (int index = 0; index < context.args.workers; ++index) {
        pool.submit([&context, &results, index] {
            const pid_t start_tid = ::gettid();
            results[index] = run_worker(context, index);
            results[index].start_tid = start_tid;
            results[index].end_tid = ::gettid();
        });
    }
    pool.finish();
    return results;
}

// A forked child: run the worker, hand its entry to the parent on the pipe, exit without running
// the parent's atexit handlers. noexcept: an exception escaping the worker terminates the child (abort).
[[noreturn]] void run_child(const RunContext& context, int index, int entry_pipe) noexcept
{
    WorkerResult result = run_worker(context, index);
    bool sent = ::write(entry_pipe, &result, sizeof result) == sizeof result;
    ::_exit(sent ? 0 : 1);
}

std::optional<WorkerResult> read_entry(int entry_pipe)
{
    WorkerResult result;
    std::size_t got = 0;
    auto* bytes = reinterpret_cast<char*>(&result);
    while (got < sizeof result) {
        ssize_t part = ::read(entry_pipe, bytes + got, sizeof result - got);
        if (part < 0 && errno == EINTR) continue;
        if (part <= 0) return std::nullopt;
        got += std::size_t(part);
    }
    return result;
}

// Returns the entries, or nullopt (after a message) when a child failed where the workload allows no failure.
std::optional<std::vector<WorkerResult>> run_processes(const RunContext& context, PipeTokenRing* ring)
{
    const int workers = context.args.workers;
    std::vector<pid_t> pids;
    std::vector<int> entry_pipes;
    for (int index = 0; index < workers; ++index) {
        int ends[2];
        if (::pipe(ends) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
        pid_t pid = ::fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
        if (pid == 0) {
            ::close(ends[0]);
            for (int earlier : entry_pipes) ::close(earlier);
            if (ring) ring->keep_only(index, (index + 1) % workers);
            run_child(context, index, ends[1]);
        }
        ::close(ends[1]);
        pids.push_back(pid);
        entry_pipes.push_back(ends[0]);
    }
    if (ring) ring->close_write_ends();

    std::vector<WorkerResult> results(workers);
    bool all_ok = true;
    for (int index = 0; index < workers; ++index) {
        std::optional<WorkerResult> entry = read_entry(entry_pipes[index]);
        ::close(entry_pipes[index]);
        int status = 0;
        while (::waitpid(pids[index], &status, 0) < 0 && errno == EINTR) {}
        bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (entry && exited_ok) {
            results[index] = *entry;
            continue;
        }
        std::fprintf(stderr, "worker %d (pid %d) failed: %s %d\n", index, int(pids[index]),
                     WIFSIGNALED(status) ? "signal" : "exit status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        results[index].index = index;
        results[index].pid = pids[index];
        results[index].finished = false;
        bool expected = context.args.workload == Workload::crash && index == 0;
        all_ok = all_ok && expected;
    }
    if (!all_ok) return std::nullopt;
    return results;
}

}  // namespace

int main(int argc, char** argv)
{
    Args args;
    try {
        args = parse_args(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const UsageError& error) {
        std::fprintf(stderr, "%s: %s\n", argc > 0 ? argv[0] : "workload", error.what());
        return 2;
    }
    if (args.workload == Workload::native && !sha256_self_test()) {
        std::fprintf(stderr, "SHA-256 self-test failed: SHA-256(\"abc\") is wrong\n");
        return 1;
    }

    SharedCounter counter;
    std::optional<ThreadTokenRing> thread_ring;
    std::optional<PipeTokenRing> pipe_ring;
    RunContext context{args, &counter, nullptr};
    if (args.workload == Workload::pingpong) {
        if (args.mode == Mode::threads) context.ring = &thread_ring.emplace(args.workers);
        else context.ring = &pipe_ring.emplace(args.workers);
    }

    const auto start = Clock::now();   // a pool's start-up counts in elapsed_s (langs/README.md section 10)
    std::optional<ThreadPool> pool;
    if (args.mode == Mode::pool) pool.emplace(default_pool_size());

    std::optional<std::vector<WorkerResult>> results;
    switch (args.mode) {
    case Mode::threads: results = run_threads(context); break;
    case Mode::processes: results = run_processes(context, pipe_ring ? &*pipe_ring : nullptr); break;
    case Mode::pool: results = run_pool(context, *pool); break;
    }
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (!results) return 1;

    RunSummary summary{args, *results, elapsed_s, counter.value, pool ? int(pool->size()) : 0};
    std::string error;
    if (!write_result(summary, &error)) {
        std::fprintf(stderr, "cannot write the result file: %s\n", error.c_str());
        return 1;
    }
    return 0;
}
