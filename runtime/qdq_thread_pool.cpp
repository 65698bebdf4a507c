// qdq's thread pool for the kernels' parallel loops.
//
// Why not Halide's pool: its workers sleep on a condition variable between loops, and waking one
// on these virtual machines takes tens of microseconds (a 2^18-element gradient split into two
// fixed halves took 48 us against 25 us with Halide's 8 dynamic tasks, the calling thread doing
// most of the work while the worker woke). Here, as in OpenMP runtimes and Eigen's pool, a worker
// spins for kSpinTime after a loop before it sleeps, so a call that follows within that time
// starts its helpers at once; that is what lets calls from 2^16 elements use a second core.
//
// One loop runs on the pool at a time. A loop started while the pool is busy (another thread's
// call, or a loop inside a task) runs on its calling thread: no call ever waits for another.
//
// Where the tasks run: a call whose tensors fit in the cores' L2 caches (up to one L2 a thread,
// CallContext::working_set_bytes) gives each participant a contiguous block of the tasks, the same
// block for the same loop on every call, so its data stays in one core's L2 from call to call; a
// participant out of tasks takes those left in the others' blocks. Larger calls deal tasks one at
// a time to whoever asks first. Measured on 2 cores with 2 MiB of L2 each (Intel Xeon), float32,
// A/B: fixed blocks made 2^18-2^19 elements 20-50% faster than dealing (in place at 2^20, 2 MiB a
// thread: 1.5-1.7x), but 2^20 out of place (4 MiB a thread) 7-16% slower, and 2^19 gradients
// (3 MiB a thread) 20% slower.
#include "qdq_thread_pool.h"

#include "qdq_runtime_hooks.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#include <unistd.h>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace qdq::runtime {
namespace {

constexpr int kMaxWorkers = 255;
// How long an idle worker spins for the next loop before it sleeps (and how long the calling
// thread spins for its helpers' last tasks before it yields between checks).
constexpr std::chrono::microseconds kSpinTime{50};
// Where the L2 size cannot be read: 1 MiB, as on AMD Zen 4 and Intel server cores before 2023.
constexpr int64_t kDefaultL2Bytes = int64_t{1} << 20;

std::atomic<int> thread_cap{0};  // qdq::set_num_threads; 0: one per core

// The threads running a loop's tasks at this moment, and the most seen at once since the last
// reset (task_concurrency_peak, for tests). Counted once per thread and loop, not per task: these
// counters are shared by the cores, and a write to one costs a cache-line transfer.
std::atomic<int> threads_running{0}, threads_running_peak{0};

struct CountedAsRunning {
    CountedAsRunning() {
        const int now = threads_running.fetch_add(1) + 1;
        int peak = threads_running_peak.load();
        while (now > peak && !threads_running_peak.compare_exchange_weak(peak, now)) {
        }
    }
    ~CountedAsRunning() { threads_running.fetch_sub(1); }
    CountedAsRunning(const CountedAsRunning &) = delete;
    CountedAsRunning &operator=(const CountedAsRunning &) = delete;
};

int run_serially(void *user_context, TaskFunction f, int min, int size, uint8_t *closure) {
    CountedAsRunning running;
    for (int i = 0; i < size; ++i) {
        if (int rc = f(user_context, min + i, closure); rc != 0) return rc;
    }
    return 0;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    asm volatile("yield");
#endif
}

// Spins until done() holds or kSpinTime has passed; returns done().
template <typename Done>
bool spin_until(const Done &done) {
    using Clock = std::chrono::steady_clock;
    Clock::time_point deadline{};
    for (unsigned i = 1;; ++i) {
        if (done()) return true;
        cpu_relax();
        if (i % 64 == 0) {  // the clock every 64 spins: a few percent of the spin time
            const Clock::time_point now = Clock::now();
            if (deadline == Clock::time_point{}) {
                deadline = now + kSpinTime;
            } else if (now >= deadline) {
                return done();
            }
        }
    }
}

// Spins, then yields between checks, until done() holds.
template <typename Done>
void wait_until(const Done &done) {
    if (spin_until(done)) return;
    while (!done()) std::this_thread::yield();
}

// A core's L2 cache: calls moving up to this many bytes a thread run their tasks in fixed blocks.
int64_t l2_bytes() {
#if defined(_SC_LEVEL2_CACHE_SIZE)
    const long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (bytes > 0) return bytes;
#endif
    return kDefaultL2Bytes;
}

int cores() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

class Pool {
public:
    // Runs the loop with at most `threads` participants, the calling thread included, its tasks
    // in fixed blocks or dealt one at a time.
    int run(void *user_context, TaskFunction f, int min, int size, uint8_t *closure, int threads, bool fixed_blocks) {
        // Busy (another thread's loop, or this thread's own: a loop inside a task): run it here.
        if (busy_.exchange(true, std::memory_order_acquire)) return run_serially(user_context, f, min, size, closure);
        const int helpers = spawn_workers(std::min({threads, size, kMaxWorkers + 1}) - 1);
        if (helpers == 0) {
            busy_.store(false, std::memory_order_release);
            return run_serially(user_context, f, min, size, closure);
        }
        // The job's fields are written while the job is closed and no worker has joined it.
        user_context_ = user_context;
        f_ = f;
        min_ = min;
        size_ = size;
        helpers_ = helpers;
        participants_ = helpers + 1;
        const int64_t blocks = fixed_blocks ? participants_ : 1;  // dealt one at a time: all in block 0
        for (int p = 0; p < participants_; ++p) {
            const int64_t begin = std::min<int64_t>(int64_t{size} * p / blocks, size);
            blocks_[p].next.store(static_cast<int>(begin), std::memory_order_relaxed);
            blocks_[p].end = static_cast<int>(std::min<int64_t>(int64_t{size} * (p + 1) / blocks, size));
        }
        done_.store(0, std::memory_order_relaxed);
        error_.store(0, std::memory_order_relaxed);
        closure_ = closure;
        const uint64_t open = phase_.load(std::memory_order_relaxed) + 1;  // odd: open
        phase_.store(open);
        if (sleepers_.load() > 0) {
            { std::lock_guard<std::mutex> lock(sleep_mutex_); }  // a worker between its check and its wait
            wake_.notify_all();
        }
        run_tasks(0);
        wait_until([&] { return done_.load(std::memory_order_acquire) == size; });
        // Close the job, then wait for the workers that joined it to leave: after that no worker
        // reads the fields (or the caller's closure) again.
        phase_.store(open + 1);
        wait_until([&] { return joined_.load() == 0; });
        const int rc = error_.load(std::memory_order_relaxed);
        busy_.store(false, std::memory_order_release);
        return rc;
    }

private:
    // Makes sure `wanted` workers exist (fewer if the system refuses a thread); returns how many do.
    int spawn_workers(int wanted) {
        while (spawned_ < wanted) {
            try {
                std::thread(&Pool::work, this, spawned_).detach();
            } catch (const std::system_error &) {
                break;
            }
            ++spawned_;
        }
        return std::min(wanted, spawned_);
    }

    // Runs participant p's block of the open job's tasks, then whatever is left of the others'.
    // The shared counters hear of them once, at the end: counted per task, a loop of 32 empty
    // tasks took 5.9-6.9 us on 2 cores, now 2.7-3.1 us.
    void run_tasks(int p) {
        CountedAsRunning running;
        int ran = 0;
        for (int k = 0; k < participants_; ++k) {
            Block &block = blocks_[(p + k) % participants_];
            for (int i; (i = block.next.fetch_add(1, std::memory_order_relaxed)) < block.end; ++ran) {
                if (error_.load(std::memory_order_relaxed) != 0) continue;  // a task failed: skip the rest
                if (int rc = f_(user_context_, min_ + i, closure_); rc != 0) {
                    int none = 0;
                    error_.compare_exchange_strong(none, rc, std::memory_order_relaxed);
                }
            }
        }
        if (ran > 0) done_.fetch_add(ran, std::memory_order_release);
    }

    void work(int index) {
        uint64_t seen = 0;
        for (;;) {
            uint64_t phase = 0;
            auto opened = [&] {
                phase = phase_.load();
                return (phase & 1) != 0 && phase != seen;
            };
            if (!spin_until(opened)) {
                std::unique_lock<std::mutex> lock(sleep_mutex_);
                sleepers_.fetch_add(1);  // the owner's store of phase_ or this is seen first
                wake_.wait(lock, opened);
                sleepers_.fetch_sub(1);
            }
            seen = phase;
            // Join, then check the job is still open: the owner closes it and then waits for
            // joined_ to drop to 0, so either it waits for this worker or this worker sees it closed.
            joined_.fetch_add(1);
            if (phase_.load() == phase && index < helpers_) run_tasks(index + 1);
            joined_.fetch_sub(1);
        }
    }

    std::atomic<bool> busy_{false};  // set by the thread whose loop runs on the pool (its owner)
    int spawned_ = 0;                // workers started (by owners)

    // The job: an odd phase_ is open. Fields written by the owner before it opens the job.
    std::atomic<uint64_t> phase_{0};
    void *user_context_ = nullptr;
    TaskFunction f_ = nullptr;
    uint8_t *closure_ = nullptr;
    int min_ = 0, size_ = 0, helpers_ = 0;  // workers 0 .. helpers_ - 1 take part
    int participants_ = 0;                  // helpers_ and the owner (participant 0)
    struct alignas(64) Block {
        std::atomic<int> next{0};  // the block's next unclaimed task
        int end = 0;
    };
    Block blocks_[kMaxWorkers + 1];
    std::atomic<int> done_{0}, error_{0}, joined_{0};

    std::mutex sleep_mutex_;
    std::condition_variable wake_;
    std::atomic<int> sleepers_{0};
};

// The pool, created on first use and never destroyed (its workers are detached). A child
// process made by fork has none of its parent's workers: it starts a pool of its own.
std::atomic<Pool *> g_pool{nullptr};

Pool *pool() {
    Pool *p = g_pool.load(std::memory_order_acquire);
    if (p != nullptr) return p;
#if defined(__linux__)
    static const bool registered = [] {
        pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr); });
        return true;
    }();
    (void)registered;
#endif
    auto *fresh = new (std::nothrow) Pool;
    if (fresh == nullptr) return nullptr;
    if (!g_pool.compare_exchange_strong(p, fresh)) {
        delete fresh;
        return p;
    }
    return fresh;
}

}  // namespace

int pool_do_par_for(void *user_context, TaskFunction f, int min, int size, uint8_t *closure) {
    static const int kCores = cores();
    const int cap = thread_cap.load(std::memory_order_relaxed);
    const int threads = cap == 0 ? kCores : std::min(cap, kCores);  // more threads than cores never help
    if (threads <= 1 || size <= 1) return run_serially(user_context, f, min, size, closure);
    Pool *p = pool();
    if (p == nullptr) return run_serially(user_context, f, min, size, closure);
    const auto *call = static_cast<const CallContext *>(user_context);
    static const int64_t kL2Bytes = l2_bytes();
    const bool fixed_blocks = call != nullptr && call->working_set_bytes <= kL2Bytes * threads;
    return p->run(user_context, f, min, size, closure, threads, fixed_blocks);
}

void set_num_threads(int n) {
    thread_cap.store(n < 0 ? 0 : n);
}

int task_concurrency_peak(bool reset) {
    return reset ? threads_running_peak.exchange(0) : threads_running_peak.load();
}

}  // namespace qdq::runtime
