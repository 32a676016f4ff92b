// Parallelism is injected by the caller: a core kernel never creates threads.
// The TensorFlow adapter passes its intra-op thread pool, capped at the
// calling thread's max parallelism (tf/adapter.h: one thread per element in
// tf.data's map by default); the NumPy adapter runs serially on the calling
// thread (which has released the GIL), or on `threads=` threads for the warps.
#ifndef GILFREE_CORE_PARALLEL_H_
#define GILFREE_CORE_PARALLEL_H_

#include <cstdint>
#include <functional>

namespace gilfree {

// Runs fn(begin, end) over disjoint ranges that cover [0, total), possibly
// concurrently, and returns when all have finished. `cost_per_unit` is a
// rough cost of one unit in cycles, a hint for how finely to split. It may
// run fn(0, total) on the calling thread or cut [0, total) anywhere.
using ParallelFor = std::function<void(int64_t total, int64_t cost_per_unit,
                                       const std::function<void(int64_t, int64_t)>& fn)>;

// Every core kernel splits its work into units whose boundaries depend only
// on the input's shape, never on the number of threads, so results are
// bit-identical however many threads run them.
inline void RunParallel(const ParallelFor* parallel_for, int64_t total, int64_t cost_per_unit,
                        const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  if (parallel_for == nullptr || !*parallel_for || total == 1) {
    fn(0, total);
  } else {
    (*parallel_for)(total, cost_per_unit, fn);
  }
}

}  // namespace gilfree

#endif  // GILFREE_CORE_PARALLEL_H_
