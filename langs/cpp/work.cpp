#include "work.hpp"

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <system_error>
#include <thread>
#include <utility>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

// Where a worker's loop stops: after `count` iterations, or once `seconds` have passed, read every `clock_every`.
struct Limit {
    std::optional<std::int64_t> count;
    std::optional<double> seconds;
    std::int64_t clock_every = 4096;
};

Limit limit_of(const Args& args, std::int64_t clock_every)
{
    return Limit{args.count, args.seconds, clock_every};
}

double seconds_since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void print_line(std::int64_t value)
{
    char line[24];
    auto end = std::to_chars(line, line + sizeof line - 1, value).ptr;
    *end++ = '\n';
    // One write(2) per line, so that concurrent workers never tear or glue lines.
    if (::write(STDOUT_FILENO, line, end - line) != end - line) {
        throw std::system_error(errno, std::generic_category(), "write to stdout");
    }
}

// Section 2's loop; `step(i)` is the workload's own work for iteration i.
template <class Step>
void run_loop(WorkerResult& result, const Limit& limit, Step step)
{
    const auto start = Clock::now();
    std::uint64_t s = 0;   // unsigned: wraps on overflow, where a signed add would be undefined
    std::int64_t i = 0;
    for (;; ++i) {
        if (limit.count) {
            if (i == *limit.count) break;
        } else if (i % limit.clock_every == 0 && seconds_since(start) >= *limit.seconds) {
            break;
        }
        s += std::uint64_t(i);
        __asm__ volatile("" : "+r"(s));   // keeps GCC from folding or vectorising the loop
        step(i, std::int64_t(s));
    }
    result.iterations = i;
    result.sum = std::int64_t(s);
    result.elapsed_s = seconds_since(start);
}

void run_pingpong(const RunContext& context, int index, WorkerResult& result)
{
    const Args& args = context.args;
    TokenRing& ring = *context.ring;
    const int next = (index + 1) % args.workers;
    constexpr std::int64_t stop_sentinel = -1;
    // Count mode: COUNT hand-offs in all, worker i makes ceil((COUNT - i) / N) of them.
    std::optional<std::int64_t> quota;
    if (args.count) quota = *args.count > index ? (*args.count - index + args.workers - 1) / args.workers : 0;

    const auto start = Clock::now();
    std::uint64_t s = 0;
    std::int64_t i = 0;
    for (;; ++i) {
        if (quota && i == *quota) break;
        std::int64_t token = (index == 0 && i == 0) ? 0 : ring.take(index);
        if (token == stop_sentinel) {
            if (next != 0) ring.put(next, stop_sentinel);
            break;
        }
        if (index == 0 && args.seconds && i % 1024 == 0 && seconds_since(start) >= *args.seconds) {
            ring.put(next, stop_sentinel);
            break;
        }
        s += std::uint64_t(i);
        ring.put(next, token + 1);
        result.last_token = token + 1;
    }
    result.iterations = i;
    result.sum = std::int64_t(s);
    result.elapsed_s = seconds_since(start);
}

}  // namespace

ThreadTokenRing::ThreadTokenRing(int slots)
{
    for (int k = 0; k < slots; ++k) slots_.push_back(std::make_unique<Slot>());
}

std::int64_t ThreadTokenRing::take(int slot)
{
    Slot& here = *slots_[slot];
    std::unique_lock guard(here.lock);
    here.changed.wait(guard, [&] { return here.full; });
    here.full = false;
    return here.token;
}

void ThreadTokenRing::put(int slot, std::int64_t token)
{
    Slot& there = *slots_[slot];
    {
        std::lock_guard guard(there.lock);
        there.token = token;
        there.full = true;
    }
    there.changed.notify_one();
}

PipeTokenRing::PipeTokenRing(int slots)
{
    for (int k = 0; k < slots; ++k) {
        int ends[2];
        if (::pipe(ends) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
        read_ends_.push_back(ends[0]);
        write_ends_.push_back(ends[1]);
    }
}

PipeTokenRing::~PipeTokenRing() { close_all(); }

void PipeTokenRing::keep_only(int reader, int writer_to)
{
    for (int k = 0; k < int(read_ends_.size()); ++k) {
        if (k != reader && read_ends_[k] >= 0) ::close(std::exchange(read_ends_[k], -1));
        if (k != writer_to && write_ends_[k] >= 0) ::close(std::exchange(write_ends_[k], -1));
    }
}

void PipeTokenRing::close_all()
{
    for (int& fd : read_ends_) if (fd >= 0) ::close(std::exchange(fd, -1));
    close_write_ends();
}

void PipeTokenRing::close_write_ends()
{
    for (int& fd : write_ends_) if (fd >= 0) ::close(std::exchange(fd, -1));
}

std::int64_t PipeTokenRing::take(int slot)
{
    std::int64_t token;
    ssize_t got;
    do got = ::read(read_ends_[slot], &token, sizeof token); while (got < 0 && errno == EINTR);
    if (got != sizeof token) throw std::runtime_error("pingpong: the ring of pipes broke");
    return token;
}

void PipeTokenRing::put(int slot, std::int64_t token)
{
    ssize_t sent;
    do sent = ::write(write_ends_[slot], &token, sizeof token); while (sent < 0 && errno == EINTR);
    if (sent != sizeof token) throw std::system_error(errno, std::generic_category(), "pingpong: write to the ring");
}

WorkerResult run_worker(const RunContext& context, int index)
{
    const Args& args = context.args;
    WorkerResult result;
    result.index = index;
    result.pid = ::getpid();
    switch (args.workload) {
    case Workload::sum:
        run_loop(result, limit_of(args, 4096), [](std::int64_t, std::int64_t) {});
        break;
    case Workload::sum_print:
        run_loop(result, limit_of(args, 4096), [](std::int64_t, std::int64_t s) { print_line(s); });
        break;
    case Workload::pingpong:
        run_pingpong(context, index, result);
        break;
    case Workload::contended: {
        SharedCounter& counter = *context.counter;
        run_loop(result, limit_of(args, 4096), [&counter](std::int64_t, std::int64_t) {
            std::lock_guard guard(counter.lock);
            ++counter.value;
        });
        break;
    }
    case Workload::io:
        // A 1 ms iteration: reading the clock every 4096 would overshoot a short run by seconds.
        run_loop(result, limit_of(args, 1), [](std::int64_t, std::int64_t) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));   // nanosleep(2)
        });
        break;
    case Workload::native: {
        std::vector<std::uint8_t> buffer(64 * 1024);
        run_loop(result, limit_of(args, 1), [&](std::int64_t, std::int64_t) {
            result.digest = sha256(buffer.data(), buffer.size());
            std::copy(result.digest.begin(), result.digest.end(), buffer.begin());
        });
        result.has_digest = result.iterations > 0;
        break;
    }
    case Workload::crash: {
        if (index != 0) {
            run_loop(result, limit_of(args, 4096), [](std::int64_t, std::int64_t) {});
            break;
        }
        Limit half = limit_of(args, 4096);
        if (half.count) *half.count /= 2;
        if (half.seconds) *half.seconds /= 2;
        run_loop(result, half, [](std::int64_t, std::int64_t) {});
        throw std::runtime_error("crash workload: worker 0 fails on purpose");
    }
    }
    return result;
}
