// qdq's hooks into the Halide runtime (errors, threads) and the CPU feature check behind
// the instruction-set dispatch in src/.
#pragma once

#include <string>

namespace qdq::runtime {

// Passed as the Halide user_context of every kernel call: the runtime's error handler
// writes the message here instead of printing it (and never aborts).
struct CallContext {
    std::string error;
};

// Installs the hooks once; cheap to call on every API call.
void install_hooks();

// Caps the instruction-set variant src/ dispatches to:
// 0 = best, 1 = AVX-512, 2 = AVX2, 3 = SSE4.1, 4 = baseline x86-64.
void set_isa_cap(int level);
int isa_cap();
// The best level this CPU supports (1..4 on x86; 0 elsewhere).
int best_isa_level();

void set_num_threads(int n);

}  // namespace qdq::runtime
