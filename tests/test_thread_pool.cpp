// qdq's thread pool (runtime/qdq_thread_pool.cpp) on its own: loops of counting tasks instead of
// kernels, so that a task run twice, a task never run, a lost error or a hang shows directly.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "qdq_runtime_hooks.h"
#include "qdq_thread_pool.h"
#include "test_util.h"

namespace {

struct CountingLoop {
    std::vector<std::atomic<int>> *runs;  // per task: how many times it ran
    int fail_at;                          // this task returns 42 (-1: none)
    bool nested;                          // each task runs a loop of its own (the pool is then busy)
};

int count_task(void *user_context, int idx, uint8_t *closure) {
    auto *loop = reinterpret_cast<CountingLoop *>(closure);
    (*loop->runs)[static_cast<size_t>(idx)].fetch_add(1);
    if (loop->nested) {
        std::vector<std::atomic<int>> inner(7);
        CountingLoop inner_loop{&inner, -1, false};
        if (qdq::runtime::pool_do_par_for(user_context, count_task, 0, 7, reinterpret_cast<uint8_t *>(&inner_loop)))
            return 99;
        for (const auto &r : inner) {
            if (r.load() != 1) return 98;
        }
    }
    return idx == loop->fail_at ? 42 : 0;
}

// Runs `iterations` loops of 1-40 tasks from the calling thread; returns a description of the
// first wrong one, or "".
std::string run_loops(int seed, int iterations) {
    for (int it = 0; it < iterations; ++it) {
        const int size = 1 + (it * 7 + seed) % 40;
        std::vector<std::atomic<int>> runs(static_cast<size_t>(size));
        const int fail_at = it % 17 == 0 ? size / 2 : -1;
        CountingLoop loop{&runs, fail_at, it % 23 == 0};
        qdq::runtime::CallContext call;
        // Both placements: fixed blocks (tensors that fit in the caches) and dealt tasks.
        call.working_set_bytes = it % 2 ? 0 : int64_t{1} << 40;
        const int rc = qdq::runtime::pool_do_par_for(&call, count_task, 0, size, reinterpret_cast<uint8_t *>(&loop));
        const std::string where = "seed " + std::to_string(seed) + " loop " + std::to_string(it) + ": ";
        if (fail_at >= 0) {
            if (rc != 42) return where + "the failing task's 42 came back as " + std::to_string(rc);
            continue;  // tasks after a failure may be skipped
        }
        if (rc != 0) return where + "returned " + std::to_string(rc);
        for (int i = 0; i < size; ++i) {
            const int n = runs[static_cast<size_t>(i)].load();
            if (n != 1) return where + "task " + std::to_string(i) + " ran " + std::to_string(n) + " times";
        }
        if (it % 250 == 249) std::this_thread::sleep_for(std::chrono::microseconds(300));  // workers fall asleep
    }
    return "";
}

}  // namespace

TEST_CASE("thread pool: each task runs once, errors come back, loops inside tasks and from several threads") {
    qdq_test::GlobalControlsGuard guard;
    for (int cap : {0, 1, 2}) {
        CAPTURE(cap);
        qdq::set_num_threads(cap);
        CHECK(run_loops(1, 1500) == "");
        std::string results[3];
        std::vector<std::thread> threads;
        for (int t = 0; t < 3; ++t) threads.emplace_back([&results, t] { results[t] = run_loops(10 + t, 600); });
        for (std::thread &t : threads) t.join();
        for (const std::string &r : results) CHECK(r == "");
    }
}
