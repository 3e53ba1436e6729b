#include "result.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace {

std::string number(double value)
{
    char text[32];
    return std::string(text, std::to_chars(text, text + sizeof text, value).ptr);
}

const char* compiler_name()
{
#if defined(__clang__)
    return "clang++";
#elif defined(__GNUC__)
    return "g++";
#else
    return "unknown";
#endif
}

void write_worker(std::ostream& out, const WorkerResult& worker, Workload workload, Mode mode)
{
    out << "{\"index\": " << worker.index << ", \"pid\": " << worker.pid << ", \"iterations\": " << worker.iterations
        << ", \"sum\": " << worker.sum << ", \"elapsed_s\": " << number(worker.elapsed_s);
    if (workload == Workload::native) out << ", \"digest\": \"" << (worker.has_digest ? to_hex(worker.digest) : "") << '"';
    if (mode == Mode::pool) {
        out << ", \"tids\": [" << worker.start_tid;
        if (worker.end_tid != worker.start_tid) out << ", " << worker.end_tid;
        out << ']';
    }
    if (workload == Workload::crash) out << ", \"finished\": " << (worker.finished ? "true" : "false");
    out << '}';
}

}  // namespace

std::string result_json(const RunSummary& summary)
{
    const Args& args = summary.args;
    std::ostringstream out;
    out << "{\"contract\": 2, \"lang\": \"cpp\", \"runtime\": {\"name\": \"" << compiler_name()
        << "\", \"version\": \"" << __VERSION__ << "\"},\n"
        << " \"args\": {\"workload\": \"" << workload_name(args.workload) << "\", \"mode\": \""
        << mode_name(args.mode) << "\", \"workers\": " << args.workers
        << ", \"n\": " << (args.count ? std::to_string(*args.count) : "null")
        << ", \"seconds\": " << (args.seconds ? number(*args.seconds) : "null") << "},\n"
        << " \"workers\": [";
    for (std::size_t k = 0; k < summary.workers.size(); ++k) {
        out << (k ? ",\n             " : "");
        write_worker(out, summary.workers[k], args.workload, args.mode);
    }
    out << "],\n";
    if (args.workload == Workload::pingpong) {
        std::int64_t token = 0;
        for (const WorkerResult& worker : summary.workers) token = std::max(token, worker.last_token);
        out << " \"token\": " << token << ",\n";
    }
    if (args.workload == Workload::contended) out << " \"counter\": " << summary.counter << ",\n";
    if (args.mode == Mode::pool) out << " \"pool_size\": " << summary.pool_size << ",\n";
    if (args.workload == Workload::crash) out << " \"crash\": {\"worker\": 0, \"survived\": true},\n";
    out << " \"elapsed_s\": " << number(summary.elapsed_s) << "}\n";
    return out.str();
}

bool write_result(const RunSummary& summary, std::string* error)
{
    const std::string& path = summary.args.result_path;
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream file(temporary, std::ios::trunc);
        file << result_json(summary);
        file.close();
        if (!file) {
            *error = temporary + ": " + std::strerror(errno);
            std::remove(temporary.c_str());
            return false;
        }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        *error = path + ": " + std::strerror(errno);
        std::remove(temporary.c_str());
        return false;
    }
    return true;
}
