// The result file (langs/README.md section 4, with section 9's additions).
#pragma once

#include "args.hpp"
#include "work.hpp"

#include <string>
#include <vector>

struct RunSummary {
    const Args& args;
    const std::vector<WorkerResult>& workers;
    double elapsed_s;
    std::int64_t counter;   // contended: the shared counter's final value
    int pool_size;          // pool mode: the pool's thread count
};

std::string result_json(const RunSummary& summary);

// Writes the JSON to a temporary file beside the result path and renames it; false with *error on failure.
bool write_result(const RunSummary& summary, std::string* error);
