// qdq's thread pool: runs the kernels' parallel loops (installed as Halide's do_par_for by
// install_hooks). See qdq_thread_pool.cpp for why it is not Halide's own pool.
#pragma once
#include <cstdint>

namespace qdq::runtime {

// Halide's halide_task_t (HalideRuntime.h), spelled out so that tests need no Halide header.
using TaskFunction = int (*)(void *user_context, int task_number, uint8_t *closure);

// Runs tasks [min, min + size) of f, on the calling thread and the pool's workers, at most
// set_num_threads's cap at once. Returns the first non-zero task result, else 0.
int pool_do_par_for(void *user_context, TaskFunction f, int min, int size, uint8_t *closure);

}  // namespace qdq::runtime
