// Section 10's pool mode: C++ has no standard thread pool, so, like C and Rust, a fixed pool of one
// std::thread per available core pulls tasks from a shared queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

class ThreadPool {
public:
    explicit ThreadPool(unsigned size);
    ~ThreadPool();   // runs every task submitted, then joins the threads
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    void submit(std::function<void()> task);
    void finish();   // as the destructor, callable once before it
    unsigned size() const { return unsigned(threads_.size()); }

private:
    void work();

    std::mutex lock_;
    std::condition_variable changed_;
    std::deque<std::function<void()>> queue_;
    bool closing_ = false;
    std::vector<std::thread> threads_;
};

// The pool's default size: the cores this process may use (at least one).
unsigned default_pool_size();
