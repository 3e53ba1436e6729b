// The contract's command line (langs/README.md sections 1 and 9).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

enum class Workload { sum, sum_print, pingpong, contended, io, native, crash };
enum class Mode { threads, processes, pool };

struct Args {
    Workload workload = Workload::sum;
    Mode mode = Mode::threads;
    int workers = 1;
    std::optional<std::int64_t> count;   // --n
    std::optional<double> seconds;       // --seconds
    std::string result_path;
};

// A bad command line: the program exits 2 with what() as its one stderr line.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Args parse_args(const std::vector<std::string>& argv);

const char* workload_name(Workload workload);
const char* mode_name(Mode mode);
