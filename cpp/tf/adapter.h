// Glue between TensorFlow tensors and the core: dtype mapping, image
// geometry of a dense tensor, the intra-op thread pool (within the calling
// thread's max parallelism) as a ParallelFor, and core Status -> TensorFlow
// status.
#ifndef GILFREE_TF_ADAPTER_H_
#define GILFREE_TF_ADAPTER_H_

#include <vector>

#include "core/image.h"
#include "core/parallel.h"
#include "core/status.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/framework/tensor.h"

namespace gilfree {
namespace tf {

// InvalidArgument for an invalid core status (ResourceExhausted stays so).
absl::Status ToTf(const Status& status);

// Core dtype of a TensorFlow dtype, or an error naming `arg`.
absl::Status CoreDType(tensorflow::DataType dtype, const char* arg, DType* out);

// The image view of a dense tensor (rank >= 1, layout rules of core/image.h).
absl::Status InputImage(const tensorflow::Tensor& x, ConstImage* out);
absl::Status OutputImage(tensorflow::Tensor* y, DenseImage* out);

// The op's intra-op thread pool as a core ParallelFor, limited to the
// calling thread's max parallelism (tensorflow::Shard): inside tf.data's
// map that is options.threading.max_intra_op_parallelism (1 by default, so
// an element runs on its own thread while tf.data runs elements in
// parallel); an eager call or a tf.function outside tf.data uses the whole
// pool. Every kernel of this library gets its parallelism here.
ParallelFor IntraOpParallelFor(tensorflow::OpKernelContext* ctx);

// Shape function of the normalization ops: y has x's shape; x rank >= 1.
absl::Status SameShapeAsX(tensorflow::shape_inference::InferenceContext* c);

// An op and its gradient op "<name>Grad", described once. The gradient op
// takes the op's inputs and then `grad: float` (d loss / d output), gives
// `grad_output` (a float32 tensor shaped like input 0, grad_shape_fn), and
// has the op's attributes except those marked forward-only (its output type).
struct OpWithGradient {
  struct Attr {
    const char* spec;
    bool in_gradient = true;
  };
  const char* name;  // "Gilfree>Normalize"
  std::vector<const char*> inputs;
  const char* output;
  std::vector<Attr> attrs;
  absl::Status (*shape_fn)(tensorflow::shape_inference::InferenceContext*);
  const char* doc;
  const char* grad_output;  // "dx: float"
  absl::Status (*grad_shape_fn)(tensorflow::shape_inference::InferenceContext*);
  const char* grad_doc;
};

// Registers both ops (at static initialization: `static const bool kDone =
// RegisterWithGradient({...});`). Returns true.
bool RegisterWithGradient(const OpWithGradient& op);

}  // namespace tf
}  // namespace gilfree

#endif  // GILFREE_TF_ADAPTER_H_
