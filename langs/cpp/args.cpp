#include "args.hpp"

#include <charconv>
#include <cmath>
#include <map>

namespace {

constexpr int max_workers = 4096;

const std::map<std::string, Workload> workloads = {
    {"sum", Workload::sum},           {"sum-print", Workload::sum_print},
    {"pingpong", Workload::pingpong}, {"contended", Workload::contended},
    {"io", Workload::io},             {"native", Workload::native},
    {"crash", Workload::crash},
};
const std::map<std::string, Mode> modes = {
    {"threads", Mode::threads}, {"processes", Mode::processes}, {"pool", Mode::pool}};

template <class Value>
Value parse_whole(const std::string& flag, const std::string& text)
{
    Value value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range) throw UsageError(flag + ": out of range: '" + text + "'");
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        throw UsageError(flag + ": not a number: '" + text + "'");
    }
    return value;
}

template <class Enum>
Enum parse_choice(const std::string& flag, const std::string& text, const std::map<std::string, Enum>& choices)
{
    auto found = choices.find(text);
    if (found == choices.end()) {
        std::string known;
        for (const auto& [name, value] : choices) known += (known.empty() ? "" : ", ") + name;
        throw UsageError(flag + ": unknown value '" + text + "' (expected one of " + known + ")");
    }
    return found->second;
}

}  // namespace

const char* workload_name(Workload workload)
{
    for (const auto& [name, value] : workloads) {
        if (value == workload) return name.c_str();
    }
    return "?";
}

const char* mode_name(Mode mode)
{
    for (const auto& [name, value] : modes) {
        if (value == mode) return name.c_str();
    }
    return "?";
}

Args parse_args(const std::vector<std::string>& argv)
{
    std::map<std::string, std::string> values;
    for (std::size_t k = 0; k < argv.size(); k += 2) {
        const std::string& flag = argv[k];
        static const char* known[] = {"--workload", "--mode", "--workers", "--n", "--seconds", "--result"};
        bool is_known = false;
        for (const char* name : known) is_known = is_known || flag == name;
        if (!is_known) throw UsageError("unknown argument '" + flag + "'");
        if (k + 1 >= argv.size() || argv[k + 1].rfind("--", 0) == 0) throw UsageError(flag + ": missing value");
        if (!values.emplace(flag, argv[k + 1]).second) throw UsageError(flag + ": given twice");
    }
    for (const char* required : {"--workload", "--mode", "--workers", "--result"}) {
        if (!values.count(required)) throw UsageError(std::string(required) + ": missing");
    }
    if (values.count("--n") == values.count("--seconds")) {
        throw UsageError("give exactly one of --n COUNT and --seconds S");
    }

    Args args;
    args.workload = parse_choice("--workload", values["--workload"], workloads);
    args.mode = parse_choice("--mode", values["--mode"], modes);
    args.workers = parse_whole<int>("--workers", values["--workers"]);
    if (args.workers < 1 || args.workers > max_workers) {
        throw UsageError("--workers: " + values["--workers"] + " is out of range 1.." + std::to_string(max_workers));
    }
    if (values.count("--n")) {
        args.count = parse_whole<std::int64_t>("--n", values["--n"]);
        if (*args.count < 0) throw UsageError("--n: must not be negative");
    } else {
        args.seconds = parse_whole<double>("--seconds", values["--seconds"]);
        if (!std::isfinite(*args.seconds) || *args.seconds < 0) throw UsageError("--seconds: must be a finite number >= 0");
    }
    args.result_path = values["--result"];
    if (args.result_path.empty()) throw UsageError("--result: empty path");

    if (args.workload == Workload::pingpong && args.workers < 2) throw UsageError("pingpong needs --workers >= 2");
    if (args.workload == Workload::contended && args.mode != Mode::threads) {
        throw UsageError("contended runs in threads mode only");
    }
    if (args.mode == Mode::pool && args.workload != Workload::sum && args.workload != Workload::io) {
        throw UsageError("pool mode runs the sum and io workloads only");
    }
    if (args.workload == Workload::crash && args.count && *args.count < 2) throw UsageError("crash needs --n >= 2");
    return args;
}
