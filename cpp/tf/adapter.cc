#include "tf/adapter.h"

#include <string>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/types.h"
#include "tensorflow/core/util/work_sharder.h"

namespace gilfree {
namespace tf {

absl::Status ToTf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return absl::OkStatus();
    case StatusCode::kResourceExhausted: return absl::ResourceExhaustedError(status.message());
    default: return absl::InvalidArgumentError(status.message());
  }
}

absl::Status CoreDType(tensorflow::DataType dtype, const char* arg, DType* out) {
  switch (dtype) {
    case tensorflow::DT_UINT8: *out = DType::kUInt8; break;
    case tensorflow::DT_UINT16: *out = DType::kUInt16; break;
    case tensorflow::DT_INT16: *out = DType::kInt16; break;
    case tensorflow::DT_INT32: *out = DType::kInt32; break;
    case tensorflow::DT_HALF: *out = DType::kFloat16; break;
    case tensorflow::DT_BFLOAT16: *out = DType::kBFloat16; break;
    case tensorflow::DT_FLOAT: *out = DType::kFloat32; break;
    case tensorflow::DT_INT64: *out = DType::kInt64; break;
    case tensorflow::DT_DOUBLE: *out = DType::kFloat64; break;
    default:
      return absl::InvalidArgumentError(std::string(arg) + " has unsupported dtype " +
                                        tensorflow::DataTypeString(dtype));
  }
  return absl::OkStatus();
}

absl::Status InputImage(const tensorflow::Tensor& x, ConstImage* out) {
  TF_RETURN_IF_ERROR(CoreDType(x.dtype(), "x", &out->dtype));
  std::vector<int64_t> shape(x.dims());
  for (int i = 0; i < x.dims(); ++i) shape[i] = x.dim_size(i);
  out->data = x.tensor_data().data();
  return ToTf(DescribeImage(x.dims(), shape.data(), nullptr, out->dtype, &out->geometry));
}

absl::Status OutputImage(tensorflow::Tensor* y, DenseImage* out) {
  TF_RETURN_IF_ERROR(CoreDType(y->dtype(), "dtype", &out->dtype));
  out->data = const_cast<char*>(y->tensor_data().data());
  return absl::OkStatus();
}

ParallelFor IntraOpParallelFor(tensorflow::OpKernelContext* ctx) {
  const tensorflow::DeviceBase::CpuWorkerThreads* workers =
      ctx->device()->tensorflow_cpu_worker_threads();
  return [workers](int64_t total, int64_t cost_per_unit,
                   const std::function<void(int64_t, int64_t)>& fn) {
    // Shard caps the pool's size at the calling thread's max parallelism
    // (tf.data sets it around each element; elsewhere it is unlimited). At
    // 1 it runs fn(0, total) on this thread; at the pool's size or more, the
    // pool's ParallelFor (Eigen's cost model, cost in cycles); in between,
    // that many contiguous blocks of at least 10000 cost units, the first on
    // this thread. The core's units depend only on the shape, so every split
    // gives the same bits.
    tensorflow::Shard(workers->num_threads, workers->workers, total, cost_per_unit, fn);
  };
}

absl::Status SameShapeAsX(tensorflow::shape_inference::InferenceContext* c) {
  tensorflow::shape_inference::ShapeHandle x = c->input(0);
  if (c->RankKnown(x) && c->Rank(x) == 0) {
    return absl::InvalidArgumentError(
        "x must have rank >= 1 ([W], [H, W], [H, W, C] or [N, H, W, C]), got a scalar");
  }
  c->set_output(0, x);
  return absl::OkStatus();
}

bool RegisterWithGradient(const OpWithGradient& op) {
  using tensorflow::register_op::OpDefBuilderWrapper;
  OpDefBuilderWrapper forward(op.name);
  const std::string grad_name = std::string(op.name) + "Grad";
  OpDefBuilderWrapper gradient(grad_name.c_str());
  for (const char* input : op.inputs) {
    forward.Input(input);
    gradient.Input(input);
  }
  gradient.Input("grad: float");
  forward.Output(op.output);
  gradient.Output(op.grad_output);
  for (const OpWithGradient::Attr& attr : op.attrs) {
    forward.Attr(attr.spec);
    if (attr.in_gradient) gradient.Attr(attr.spec);
  }
  forward.SetShapeFn(op.shape_fn).Doc(op.doc);
  gradient.SetShapeFn(op.grad_shape_fn).Doc(op.grad_doc);
  forward();
  gradient();
  return true;
}

}  // namespace tf
}  // namespace gilfree
