// TensorFlow ops of the geometry family (core/warp.h holds the semantics):
// Warp (affine, perspective, projective), Remap, PolynomialWarp,
// FitPolynomial, and the gradients WarpGrad, RemapGrad and PolynomialWarpGrad.
// Kernels validate, allocate and call the core; large outputs are split over
// TensorFlow's intra-op pool.
#include <string>
#include <vector>

#include "core/warp.h"
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
using tensorflow::TensorShape;
using tensorflow::shape_inference::DimensionHandle;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

// int32, int64 and double: projective_transform only (ValidateWarpParams).
constexpr char kImageTypes[] =
    "T: {uint8, uint16, int16, int32, int64, half, bfloat16, float, double}";

std::vector<int64_t> ShapeOf(const Tensor& t) {
  std::vector<int64_t> s(t.dims());
  for (int i = 0; i < t.dims(); ++i) s[i] = t.dim_size(i);
  return s;
}

// The image input (rank 2, 3 or 4).
absl::Status WarpImage(const Tensor& t, ConstImage* out) {
  TF_RETURN_IF_ERROR(CoreDType(t.dtype(), "image", &out->dtype));
  const std::vector<int64_t> shape = ShapeOf(t);
  out->data = t.tensor_data().data();
  return ToTf(DescribeWarpImage("image", t.dims(), shape.data(), nullptr, out->dtype, &out->geometry));
}

// Output dims: [N,] h, w [, C] following the image's rank.
ShapeHandle OutputShapeFor(InferenceContext* c, ShapeHandle image, DimensionHandle h,
                           DimensionHandle w) {
  const int rank = c->Rank(image);
  std::vector<DimensionHandle> dims;
  if (rank == 4) dims.push_back(c->Dim(image, 0));
  dims.push_back(h);
  dims.push_back(w);
  if (rank >= 3) dims.push_back(c->Dim(image, -1));
  return c->MakeShape(dims);
}

absl::Status CheckImageRank(InferenceContext* c, ShapeHandle image) {
  if (c->RankKnown(image) && (c->Rank(image) < 2 || c->Rank(image) > 4)) {
    return absl::InvalidArgumentError(
        "image must have rank 2 [H, W], 3 [H, W, C] or 4 [N, H, W, C], got rank " +
        std::to_string(c->Rank(image)));
  }
  return absl::OkStatus();
}

// Shape function of ops whose output size comes from an `output_shape`
// input [2] (an empty vector means the image's own height and width).
absl::Status SizedOutputShape(InferenceContext* c, int image_slot, int size_slot) {
  ShapeHandle image = c->input(image_slot);
  TF_RETURN_IF_ERROR(CheckImageRank(c, image));
  if (!c->RankKnown(image)) {
    c->set_output(0, c->UnknownShape());
    return absl::OkStatus();
  }
  const int rank = c->Rank(image);
  DimensionHandle h = c->UnknownDim(), w = c->UnknownDim();
  const Tensor* size = c->input_tensor(size_slot);
  if (size != nullptr && size->NumElements() == 0) {
    h = c->Dim(image, rank == 4 ? 1 : 0);
    w = c->Dim(image, rank == 4 ? 2 : 1);
  } else if (size != nullptr && size->NumElements() == 2) {
    // A size outside the limits stays unknown here; the kernel reports it.
    auto dim = [c](int32_t v) {
      return v > 0 && v <= kMaxOutputSide ? c->MakeDim(v) : c->UnknownDim();
    };
    h = dim(size->flat<int32_t>()(0));
    w = dim(size->flat<int32_t>()(1));
  }
  c->set_output(0, OutputShapeFor(c, image, h, w));
  return absl::OkStatus();
}

// (height, width) from the output_shape input, or the image's.
absl::Status OutputSize(const Tensor& size, const ConstImage& image, int64_t* h, int64_t* w) {
  if (size.dims() != 1 || (size.NumElements() != 0 && size.NumElements() != 2)) {
    return absl::InvalidArgumentError(
        "output_shape must be two positive integers (height, width), got shape " +
        size.shape().DebugString());
  }
  if (size.NumElements() == 0) {
    *h = image.geometry.height;
    *w = image.geometry.width;
  } else {
    *h = size.flat<int32_t>()(0);
    *w = size.flat<int32_t>()(1);
  }
  // The default size of a zero-size image is its own, empty one.
  return ToTf(CheckOutputShape(image.geometry.batch, *h, *w, image.geometry.channels, image.dtype,
                               "output_shape", /*allow_empty=*/size.NumElements() == 0));
}

TensorShape OutputTensorShape(const Tensor& image, int64_t h, int64_t w) {
  TensorShape shape;
  if (image.dims() == 4) shape.AddDim(image.dim_size(0));
  shape.AddDim(h);
  shape.AddDim(w);
  if (image.dims() >= 3) shape.AddDim(image.dim_size(image.dims() - 1));
  return shape;
}

// Attributes and parameter inputs common to every warp: interpolation and
// fill_mode attrs, fill_value [0 | 1 | C] and nodata [0 | 1] float64 inputs.
class WarpBase : public OpKernel {
 public:
  explicit WarpBase(OpKernelConstruction* ctx, bool tf_modes) : OpKernel(ctx) {
    std::string interpolation, fill_mode;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("interpolation", &interpolation));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("fill_mode", &fill_mode));
    OP_REQUIRES_OK(ctx, ToTf(ParseInterpolation(interpolation, tf_modes, &params_.interpolation)));
    OP_REQUIRES_OK(ctx, ToTf(ParseFillMode(fill_mode, tf_modes, &params_.fill_mode)));
    params_.tf_compat = tf_modes;  // projective: set before the parameters are checked
  }

 protected:
  // Reads fill_value and nodata into `params` (backed by `fill`).
  absl::Status Params(OpKernelContext* ctx, int fill_slot, int nodata_slot, WarpParams* params,
                      std::vector<double>* fill) const {
    *params = params_;
    const Tensor& f = ctx->input(fill_slot);
    if (f.dims() > 1) {
      return absl::InvalidArgumentError(
          "fill_value must be a number or one number per channel, got shape " +
          f.shape().DebugString());
    }
    fill->assign(f.flat<double>().data(), f.flat<double>().data() + f.NumElements());
    params->fill_value = fill->data();
    params->fill_size = static_cast<int64_t>(fill->size());
    const Tensor& n = ctx->input(nodata_slot);
    if (n.dims() != 1 || n.NumElements() > 1) {
      return absl::InvalidArgumentError("nodata must be a vector of 0 or 1 values, got shape " +
                                        n.shape().DebugString());
    }
    params->has_nodata = n.NumElements() == 1;
    params->nodata = params->has_nodata ? n.flat<double>()(0) : 0.0;
    return absl::OkStatus();
  }

  // The forward op allocates the output and warps; its gradient op (same
  // inputs, then `grad`: float32, the output's shape) allocates d loss /
  // d image (float32, the image's shape) and runs the core's WarpGradient.
  template <bool kGradient>
  void Run(OpKernelContext* ctx, const ConstImage& image, const Transform& transform,
           const WarpParams& params, int64_t h, int64_t w) {
    const TensorShape out_shape = OutputTensorShape(ctx->input(0), h, w);
    const ParallelFor parallel_for = IntraOpParallelFor(ctx);
    Tensor* out = nullptr;
    if constexpr (kGradient) {
      const Tensor& grad = ctx->input(ctx->num_inputs() - 1);
      OP_REQUIRES(ctx, grad.shape() == out_shape,
                  absl::InvalidArgumentError("grad has shape " + grad.shape().DebugString() +
                                             "; expected the output's shape " +
                                             out_shape.DebugString()));
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, ctx->input(0).shape(), &out));
      OP_REQUIRES_OK(ctx, ToTf(WarpGradient(image, transform, params, h, w,
                                            grad.flat<float>().data(), out->flat<float>().data(),
                                            &parallel_for)));
    } else {
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, out_shape, &out));
      OP_REQUIRES_OK(ctx, ToTf(Warp(image, transform, params, h, w,
                                    const_cast<char*>(out->tensor_data().data()), &parallel_for)));
    }
  }

  WarpParams params_;
};

// Warp(image, matrix, output_shape, fill_value, nodata); WarpGrad adds grad.
template <bool kGradient>
class WarpOp : public WarpBase {
 public:
  explicit WarpOp(OpKernelConstruction* ctx) : WarpBase(ctx, Kind(ctx) == "projective") {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("kind", &kind_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("inverse", &inverse_));
  }

  void Compute(OpKernelContext* ctx) override {
    ConstImage image;
    OP_REQUIRES_OK(ctx, WarpImage(ctx->input(0), &image));
    WarpParams params;
    std::vector<double> fill, storage;
    OP_REQUIRES_OK(ctx, Params(ctx, 3, 4, &params, &fill));
    OP_REQUIRES_OK(ctx, ToTf(ValidateWarpParams(params, image.dtype, image.geometry.channels)));
    const Tensor& matrix = ctx->input(1);
    const std::vector<int64_t> mshape = ShapeOf(matrix);
    Transform transform;
    OP_REQUIRES_OK(ctx, ToTf(MatrixTransform(kind_, matrix.flat<double>().data(), matrix.dims(),
                                             mshape.data(), inverse_, ctx->input(0).dims(),
                                             image.geometry.batch, &storage, &transform, &params)));
    int64_t h = 0, w = 0;
    OP_REQUIRES_OK(ctx, OutputSize(ctx->input(2), image, &h, &w));
    this->template Run<kGradient>(ctx, image, transform, params, h, w);
  }

 private:
  static std::string Kind(OpKernelConstruction* ctx) {
    std::string kind;
    (void)ctx->GetAttr("kind", &kind);
    return kind;
  }
  std::string kind_;
  bool inverse_ = false;
};

// Remap(image, map_x, map_y, fill_value, nodata); RemapGrad adds grad.
template <bool kGradient>
class RemapOp : public WarpBase {
 public:
  explicit RemapOp(OpKernelConstruction* ctx) : WarpBase(ctx, false) {}

  void Compute(OpKernelContext* ctx) override {
    ConstImage image;
    OP_REQUIRES_OK(ctx, WarpImage(ctx->input(0), &image));
    WarpParams params;
    std::vector<double> fill;
    OP_REQUIRES_OK(ctx, Params(ctx, 3, 4, &params, &fill));
    OP_REQUIRES_OK(ctx, ToTf(ValidateWarpParams(params, image.dtype, image.geometry.channels)));
    const Tensor& mx = ctx->input(1);
    const Tensor& my = ctx->input(2);
    const std::vector<int64_t> sx = ShapeOf(mx), sy = ShapeOf(my);
    Transform transform;
    int64_t h = 0, w = 0;
    OP_REQUIRES_OK(ctx, ToTf(MapsTransform(mx.flat<float>().data(), mx.dims(), sx.data(),
                                           my.flat<float>().data(), my.dims(), sy.data(),
                                           ctx->input(0).dims(), image.geometry.batch, &transform,
                                           &h, &w)));
    OP_REQUIRES_OK(ctx, ToTf(CheckOutputShape(image.geometry.batch, h, w, image.geometry.channels,
                                              image.dtype, "map_x")));
    this->template Run<kGradient>(ctx, image, transform, params, h, w);
  }
};

// PolynomialWarp(image, src_points, dst_points, output_shape, fill_value, nodata);
// PolynomialWarpGrad adds grad.
template <bool kGradient>
class PolynomialWarpOp : public WarpBase {
 public:
  explicit PolynomialWarpOp(OpKernelConstruction* ctx) : WarpBase(ctx, false) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("order", &order_));
  }

  void Compute(OpKernelContext* ctx) override {
    ConstImage image;
    OP_REQUIRES_OK(ctx, WarpImage(ctx->input(0), &image));
    WarpParams params;
    std::vector<double> fill, storage;
    OP_REQUIRES_OK(ctx, Params(ctx, 4, 5, &params, &fill));
    OP_REQUIRES_OK(ctx, ToTf(ValidateWarpParams(params, image.dtype, image.geometry.channels)));
    const Tensor& src = ctx->input(1);
    const Tensor& dst = ctx->input(2);
    const std::vector<int64_t> ss = ShapeOf(src), ds = ShapeOf(dst);
    Transform transform;
    OP_REQUIRES_OK(ctx, ToTf(PolynomialTransform(src.flat<double>().data(), src.dims(), ss.data(),
                                                 dst.flat<double>().data(), dst.dims(), ds.data(),
                                                 order_, &storage, &transform)));
    int64_t h = 0, w = 0;
    OP_REQUIRES_OK(ctx, OutputSize(ctx->input(3), image, &h, &w));
    this->template Run<kGradient>(ctx, image, transform, params, h, w);
  }

 private:
  int order_ = 1;
};

// FitPolynomial(src_points, dst_points) -> coefficients [2, T], rms []
class FitPolynomialOp : public OpKernel {
 public:
  explicit FitPolynomialOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("order", &order_));
    OP_REQUIRES(ctx, order_ >= 1 && order_ <= 3,
                absl::InvalidArgumentError("order must be 1, 2 or 3, got " + std::to_string(order_)));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& src = ctx->input(0);
    const Tensor& dst = ctx->input(1);
    const std::vector<int64_t> ss = ShapeOf(src), ds = ShapeOf(dst);
    OP_REQUIRES_OK(ctx, ToTf(CheckPointShapes(src.dims(), ss.data(), dst.dims(), ds.data())));
    Tensor* coefficients = nullptr;
    Tensor* rms = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({2, PolynomialTerms(order_)}),
                                             &coefficients));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({}), &rms));
    OP_REQUIRES_OK(ctx, ToTf(FitPolynomial(src.flat<double>().data(), dst.flat<double>().data(),
                                           ss[0], order_, coefficients->flat<double>().data(),
                                           rms->flat<double>().data())));
  }

 private:
  int order_ = 1;
};

absl::Status WarpShape(InferenceContext* c) { return SizedOutputShape(c, 0, 2); }
absl::Status PolynomialWarpShape(InferenceContext* c) { return SizedOutputShape(c, 0, 3); }

absl::Status RemapShape(InferenceContext* c) {
  ShapeHandle image = c->input(0);
  TF_RETURN_IF_ERROR(CheckImageRank(c, image));
  ShapeHandle map = c->input(1);
  if (!c->RankKnown(image) || !c->RankKnown(map)) {
    c->set_output(0, c->UnknownShape());
    return absl::OkStatus();
  }
  if (c->Rank(map) != 2 && c->Rank(map) != 3) {
    return absl::InvalidArgumentError("map_x must have shape [H', W'] or [N, H', W'], got rank " +
                                      std::to_string(c->Rank(map)));
  }
  c->set_output(0, OutputShapeFor(c, image, c->Dim(map, -2), c->Dim(map, -1)));
  return absl::OkStatus();
}

absl::Status FitPolynomialShape(InferenceContext* c) {
  int order = 1;
  TF_RETURN_IF_ERROR(c->GetAttr("order", &order));
  c->set_output(0, c->Matrix(2, order >= 1 && order <= 3 ? PolynomialTerms(order) : 0));
  c->set_output(1, c->Scalar());
  return absl::OkStatus();
}

absl::Status SameShapeAsImage(InferenceContext* c) {
  c->set_output(0, c->input(0));
  return absl::OkStatus();
}

}  // namespace
}  // namespace tf
}  // namespace gilfree

namespace {

using gilfree::tf::OpWithGradient;
using gilfree::tf::RegisterWithGradient;
using gilfree::tf::SameShapeAsImage;

// Each warp and its gradient with respect to the image: the gradient takes the
// warp's inputs and attributes, then grad = d loss / d output.
const OpWithGradient::Attr kTypes{gilfree::tf::kImageTypes};
const OpWithGradient::Attr kInterpolation{"interpolation: string = 'bilinear'"};
const OpWithGradient::Attr kFillMode{"fill_mode: string = 'constant'"};

const bool kRegistered =
    RegisterWithGradient(
        {"Gilfree>Warp",
         {"image: T", "matrix: double", "output_shape: int32", "fill_value: double", "nodata: double"},
         "output: T",
         {kTypes, {"kind: {'affine', 'perspective', 'projective'}"}, {"inverse: bool = false"}, kInterpolation,
          kFillMode},
         gilfree::tf::WarpShape,
         "Affine, perspective or TensorFlow-style projective warp (docs/geometry-spec.md).",
         "image_grad: float",
         SameShapeAsImage,
         "Gradient of Warp with respect to the image."}) &&
    RegisterWithGradient({"Gilfree>Remap",
                          {"image: T", "map_x: float", "map_y: float", "fill_value: double", "nodata: double"},
                          "output: T",
                          {kTypes, kInterpolation, kFillMode},
                          gilfree::tf::RemapShape,
                          "Samples the image at dense coordinate maps.",
                          "image_grad: float",
                          SameShapeAsImage,
                          "Gradient of Remap with respect to the image."}) &&
    RegisterWithGradient({"Gilfree>PolynomialWarp",
                          {"image: T", "src_points: double", "dst_points: double", "output_shape: int32",
                           "fill_value: double", "nodata: double"},
                          "output: T",
                          {kTypes, {"order: int = 1"}, kInterpolation, kFillMode},
                          gilfree::tf::PolynomialWarpShape,
                          "Ground-control-point polynomial warp.",
                          "image_grad: float",
                          SameShapeAsImage,
                          "Gradient of PolynomialWarp with respect to the image."});

}  // namespace

REGISTER_OP("Gilfree>FitPolynomial")
    .Input("src_points: double")
    .Input("dst_points: double")
    .Output("coefficients: double")
    .Output("rms: double")
    .Attr("order: int = 1")
    .SetShapeFn(gilfree::tf::FitPolynomialShape)
    .Doc("Least-squares polynomial with f(src_points) ~= dst_points.");

#define GILFREE_REGISTER(name, Op)                                                       \
  REGISTER_KERNEL_BUILDER(Name("Gilfree>" name).Device(tensorflow::DEVICE_CPU),          \
                          gilfree::tf::Op<false>);                                       \
  REGISTER_KERNEL_BUILDER(Name("Gilfree>" name "Grad").Device(tensorflow::DEVICE_CPU),   \
                          gilfree::tf::Op<true>)
GILFREE_REGISTER("Warp", WarpOp);
GILFREE_REGISTER("Remap", RemapOp);
GILFREE_REGISTER("PolynomialWarp", PolynomialWarpOp);
#undef GILFREE_REGISTER
REGISTER_KERNEL_BUILDER(Name("Gilfree>FitPolynomial").Device(tensorflow::DEVICE_CPU),
                        gilfree::tf::FitPolynomialOp);
