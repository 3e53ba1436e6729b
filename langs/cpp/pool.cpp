#include "pool.hpp"

#include <sched.h>

ThreadPool::ThreadPool(unsigned size)
{
    for (unsigned k = 0; k < size; ++k) threads_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() { finish(); }

void ThreadPool::submit(std::function<void()> task)
{
    {
        std::lock_guard guard(lock_);
        queue_.push_back(std::move(task));
    }
    changed_.notify_one();
}

void ThreadPool::finish()
{
    {
        std::lock_guard guard(lock_);
        closing_ = true;
    }
    changed_.notify_all();
    for (std::thread& thread : threads_) {
        if (thread.joinable()) thread.join();
    }
}

void ThreadPool::work()
{
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock guard(lock_);
            changed_.wait(guard, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;   // closing, and nothing left to run
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
    }
}

// The CPUs this process may run on (its affinity, which taskset or the lab's `cpus` narrow), not
// hardware_concurrency(), which counts every CPU of the machine.
unsigned default_pool_size()
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        int cores = CPU_COUNT(&allowed);
        if (cores > 0) return static_cast<unsigned>(cores);
    }
    unsigned cores = std::thread::hardware_concurrency();
    return cores > 0 ? cores : 1;
}
