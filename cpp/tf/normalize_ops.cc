// TensorFlow ops of the normalization family: registrations, shape functions
// and kernels that validate, allocate and call the core (core/normalize.h
// holds the semantics).
#include <string>
#include <vector>

#include "core/normalize.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tf/adapter.h"

namespace gilfree {
namespace tf {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::shape_inference::DimensionHandle;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

// Input and output slots. Every numeric parameter is a float64 input, not a
// float attribute (which TensorFlow stores as float32 and would round).
constexpr int kX = 0;
constexpr int kY = 0;
// Normalize
constexpr int kMean = 1;
constexpr int kStd = 2;
constexpr int kScale = 3;
// Standardize
constexpr int kEpsilon = 1;
// MinMaxScale
constexpr int kMinMaxNodata = 1;
constexpr int kMinMaxFill = 2;
// PercentileStretch
constexpr int kLow = 1;
constexpr int kHigh = 2;
constexpr int kPercentileNodata = 3;
constexpr int kPercentileFill = 4;

constexpr char kInputTypes[] = "T: {uint8, uint16, int16, int32, half, bfloat16, float}";
constexpr char kOutputTypes[] = "out_type: {float, half, bfloat16} = DT_FLOAT";

// mean/std: scalar or vector of length 1 or C, checked as far as shapes are known.
absl::Status NormalizeShape(InferenceContext* c) {
  TF_RETURN_IF_ERROR(SameShapeAsX(c));
  ShapeHandle x = c->input(kX);
  for (int slot : {kMean, kStd}) {
    const char* name = slot == kMean ? "mean" : "std";
    ShapeHandle p = c->input(slot);
    if (!c->RankKnown(p)) continue;
    if (c->Rank(p) > 1) {
      return absl::InvalidArgumentError(std::string(name) + " must be a scalar or a vector, got rank " +
                                        std::to_string(c->Rank(p)));
    }
    if (c->Rank(p) == 0 || !c->RankKnown(x) || !c->ValueKnown(c->Dim(p, 0))) continue;
    const int64_t channels = c->Rank(x) >= 3 ? c->Value(c->Dim(x, -1)) : 1;
    const int64_t size = c->Value(c->Dim(p, 0));
    if (channels >= 0 && size != 1 && size != channels) {
      return absl::InvalidArgumentError(std::string(name) + " has " + std::to_string(size) +
                                        " values but x has " + std::to_string(channels) +
                                        " channel(s); expected a scalar or 1 or " +
                                        std::to_string(channels) + " values");
    }
  }
  return absl::OkStatus();
}

// A float64 scalar input.
absl::Status Scalar(OpKernelContext* ctx, int slot, const char* name, double* out) {
  const Tensor& t = ctx->input(slot);
  if (t.NumElements() != 1 || t.dims() > 1) {
    return absl::InvalidArgumentError(std::string(name) + " must be a scalar, got shape " +
                                      t.shape().DebugString());
  }
  *out = t.flat<double>()(0);
  return absl::OkStatus();
}

// A float64 input of zero or one values: an optional parameter.
absl::Status Optional(OpKernelContext* ctx, int slot, const char* name, bool* has, double* out) {
  const Tensor& t = ctx->input(slot);
  if (t.dims() != 1 || t.NumElements() > 1) {
    return absl::InvalidArgumentError(std::string(name) + " must be a vector of 0 or 1 values, got shape " +
                                      t.shape().DebugString());
  }
  *has = t.NumElements() == 1;
  *out = *has ? t.flat<double>()(0) : 0.0;
  return absl::OkStatus();
}

// A mean/std tensor as doubles, or an error naming it.
absl::Status ParamValues(const Tensor& t, const char* name, std::vector<double>* out) {
  if (t.dims() > 1) {
    return absl::InvalidArgumentError(std::string(name) + " must be a scalar or a vector, got shape " +
                                      t.shape().DebugString());
  }
  auto flat = t.flat<double>();
  out->assign(flat.data(), flat.data() + flat.size());
  return absl::OkStatus();
}

// Common part of every kernel. The forward op (kGradient false) allocates y
// like x and calls run(x, y, parallel_for); its gradient op, whose last input
// is `grad` (float32, x's shape), allocates dx (float32, x's shape) and calls
// gradient(x, grad, dx, parallel_for).
template <bool kGradient, typename Run, typename Gradient>
void RunImageOp(OpKernelContext* ctx, Run&& run, Gradient&& gradient) {
  ConstImage x;
  OP_REQUIRES_OK(ctx, InputImage(ctx->input(kX), &x));
  const ParallelFor parallel_for = IntraOpParallelFor(ctx);
  if constexpr (kGradient) {
    const Tensor& grad = ctx->input(ctx->num_inputs() - 1);
    OP_REQUIRES(ctx, grad.shape() == ctx->input(kX).shape(),
                absl::InvalidArgumentError("grad has shape " + grad.shape().DebugString() +
                                           "; expected x's shape " +
                                           ctx->input(kX).shape().DebugString()));
    Tensor* dx = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, grad.shape(), &dx));
    OP_REQUIRES_OK(ctx, ToTf(gradient(x, grad.flat<float>().data(), dx->flat<float>().data(),
                                      &parallel_for)));
  } else {
    Tensor* y_tensor = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(kY, ctx->input(kX).shape(), &y_tensor));
    DenseImage y;
    OP_REQUIRES_OK(ctx, OutputImage(y_tensor, &y));
    OP_REQUIRES_OK(ctx, ToTf(run(x, y, &parallel_for)));
  }
}

// Binds an op's parameters to its forward function and its gradient.
#define GILFREE_RUN(ctx, p, Forward)                                                          \
  RunImageOp<kGradient>(                                                                      \
      ctx,                                                                                    \
      [&](const ConstImage& x, const DenseImage& y, const ParallelFor* pf) {                  \
        return Forward(x, p, y, pf);                                                          \
      },                                                                                      \
      [&](const ConstImage& x, const float* g, float* dx, const ParallelFor* pf) {            \
        return Forward##Gradient(x, p, g, dx, pf);                                            \
      })

template <bool kGradient>
class NormalizeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;

  void Compute(OpKernelContext* ctx) override {
    std::vector<double> mean, std;
    NormalizeParams p;
    OP_REQUIRES_OK(ctx, ParamValues(ctx->input(kMean), "mean", &mean));
    OP_REQUIRES_OK(ctx, ParamValues(ctx->input(kStd), "std", &std));
    OP_REQUIRES_OK(ctx, Scalar(ctx, kScale, "scale", &p.scale));
    p.mean = mean.data();
    p.mean_size = static_cast<int64_t>(mean.size());
    p.std = std.data();
    p.std_size = static_cast<int64_t>(std.size());
    GILFREE_RUN(ctx, p, Normalize);
  }
};

template <bool kGradient>
class StandardizeOp : public OpKernel {
 public:
  explicit StandardizeOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("per_channel", &per_channel_));
  }

  void Compute(OpKernelContext* ctx) override {
    StandardizeParams p;
    p.per_channel = per_channel_;
    OP_REQUIRES_OK(ctx, Optional(ctx, kEpsilon, "epsilon", &p.has_epsilon, &p.epsilon));
    GILFREE_RUN(ctx, p, Standardize);
  }

 private:
  bool per_channel_ = false;
};

template <bool kGradient>
class MinMaxScaleOp : public OpKernel {
 public:
  explicit MinMaxScaleOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("per_channel", &per_channel_));
  }

  void Compute(OpKernelContext* ctx) override {
    MaskParams p;
    p.per_channel = per_channel_;
    OP_REQUIRES_OK(ctx, Optional(ctx, kMinMaxNodata, "nodata", &p.has_nodata, &p.nodata));
    OP_REQUIRES_OK(ctx, Scalar(ctx, kMinMaxFill, "fill", &p.fill));
    GILFREE_RUN(ctx, p, MinMaxScale);
  }

 private:
  bool per_channel_ = true;
};

template <bool kGradient>
class PercentileStretchOp : public OpKernel {
 public:
  explicit PercentileStretchOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("per_channel", &per_channel_));
  }

  void Compute(OpKernelContext* ctx) override {
    PercentileParams p;
    p.mask.per_channel = per_channel_;
    OP_REQUIRES_OK(ctx, Scalar(ctx, kLow, "low", &p.low));
    OP_REQUIRES_OK(ctx, Scalar(ctx, kHigh, "high", &p.high));
    OP_REQUIRES_OK(ctx, Optional(ctx, kPercentileNodata, "nodata", &p.mask.has_nodata, &p.mask.nodata));
    OP_REQUIRES_OK(ctx, Scalar(ctx, kPercentileFill, "fill", &p.mask.fill));
    GILFREE_RUN(ctx, p, PercentileStretch);
  }

 private:
  bool per_channel_ = true;
};

#undef GILFREE_RUN

}  // namespace
}  // namespace tf
}  // namespace gilfree

namespace {

using gilfree::tf::kInputTypes;
using gilfree::tf::kOutputTypes;
using gilfree::tf::OpWithGradient;
using gilfree::tf::RegisterWithGradient;
using gilfree::tf::SameShapeAsX;

// Each op and its gradient with respect to x (core/normalize.h): the gradient
// takes the op's inputs and attributes but out_type, then grad = d loss / d y.
const OpWithGradient::Attr kTypes[] = {{kInputTypes}, {kOutputTypes, /*in_gradient=*/false}};

const bool kRegistered =
    RegisterWithGradient({"Gilfree>Normalize",
                          {"x: T", "mean: double", "std: double", "scale: double"},
                          "y: out_type",
                          {kTypes[0], kTypes[1]},
                          gilfree::tf::NormalizeShape,
                          "y = (x * scale - mean) / std per channel (channels on the last axis).",
                          "dx: float",
                          SameShapeAsX,
                          "Gradient of Normalize with respect to x."}) &&
    RegisterWithGradient({"Gilfree>Standardize",
                          {"x: T", "epsilon: double"},
                          "y: out_type",
                          {kTypes[0], kTypes[1], {"per_channel: bool = false"}},
                          SameShapeAsX,
                          "Per-image (or per-channel) standardization; an empty epsilon means 1/sqrt(n).",
                          "dx: float",
                          SameShapeAsX,
                          "Gradient of Standardize with respect to x, through its mean and standard "
                          "deviation."}) &&
    RegisterWithGradient({"Gilfree>MinMaxScale",
                          {"x: T", "nodata: double", "fill: double"},
                          "y: out_type",
                          {kTypes[0], kTypes[1], {"per_channel: bool = true"}},
                          SameShapeAsX,
                          "Scales each image (or channel) to [0, 1], nodata and NaN masked.",
                          "dx: float",
                          SameShapeAsX,
                          "Gradient of MinMaxScale with respect to x, its minimum and maximum held "
                          "constant."}) &&
    RegisterWithGradient({"Gilfree>PercentileStretch",
                          {"x: T", "low: double", "high: double", "nodata: double", "fill: double"},
                          "y: out_type",
                          {kTypes[0], kTypes[1], {"per_channel: bool = true"}},
                          SameShapeAsX,
                          "Clips each image (or channel) to its low/high percentiles and scales to [0, 1].",
                          "dx: float",
                          SameShapeAsX,
                          "Gradient of PercentileStretch with respect to x, its percentiles held "
                          "constant."});

}  // namespace

#define GILFREE_REGISTER(name, Op)                                                       \
  REGISTER_KERNEL_BUILDER(Name("Gilfree>" name).Device(tensorflow::DEVICE_CPU),          \
                          gilfree::tf::Op<false>);                                       \
  REGISTER_KERNEL_BUILDER(Name("Gilfree>" name "Grad").Device(tensorflow::DEVICE_CPU),   \
                          gilfree::tf::Op<true>)
GILFREE_REGISTER("Normalize", NormalizeOp);
GILFREE_REGISTER("Standardize", StandardizeOp);
GILFREE_REGISTER("MinMaxScale", MinMaxScaleOp);
GILFREE_REGISTER("PercentileStretch", PercentileStretchOp);
#undef GILFREE_REGISTER
