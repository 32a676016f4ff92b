// TensorFlow ops of the decoders: registrations, shape functions and kernels
// that validate, allocate and call the core (core/decode.h holds the formats).
#include <string>
#include <vector>

#include "core/decode.h"
#include "core/tiff.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/framework/tensor.h"
#include "tf/adapter.h"

namespace gilfree {
namespace tf {
namespace {

using tensorflow::DataType;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::PartialTensorShape;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using tensorflow::tstring;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

constexpr int kContents = 0;

constexpr char kElementTypes[] =
    "{bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, half, float, double}";

// Core dtype of a TensorFlow dtype among the decoders' element types.
absl::Status ElementDType(DataType dtype, const char* arg, DType* out) {
  switch (dtype) {
    case tensorflow::DT_BOOL: *out = DType::kBool; return absl::OkStatus();
    case tensorflow::DT_INT8: *out = DType::kInt8; return absl::OkStatus();
    case tensorflow::DT_INT64: *out = DType::kInt64; return absl::OkStatus();
    case tensorflow::DT_UINT32: *out = DType::kUInt32; return absl::OkStatus();
    case tensorflow::DT_UINT64: *out = DType::kUInt64; return absl::OkStatus();
    case tensorflow::DT_DOUBLE: *out = DType::kFloat64; return absl::OkStatus();
    case tensorflow::DT_BFLOAT16: break;
    default: return CoreDType(dtype, arg, out);
  }
  return absl::InvalidArgumentError(std::string(arg) + " has unsupported dtype bfloat16");
}

absl::Status ScalarContents(OpKernelContext* ctx, const tstring** out) {
  const Tensor& t = ctx->input(kContents);
  if (t.dims() != 0) {
    return absl::InvalidArgumentError("contents must be a scalar string, got shape " +
                                      t.shape().DebugString());
  }
  *out = &t.scalar<tstring>()();
  return absl::OkStatus();
}

const uint8_t* Data(const tstring& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// A decoded array's dims (`rank` of them, described as `what`) against the
// op's `shape` attribute, where -1 is any size; an unknown rank takes anything.
absl::Status CheckShapeAttr(const PartialTensorShape& shape, const int64_t* dims, int rank, const char* what) {
  if (shape.unknown_rank()) return absl::OkStatus();
  std::vector<int64_t> expected(shape.dims());
  for (int i = 0; i < shape.dims(); ++i) expected[i] = shape.dim_size(i);
  return ToTf(CheckDecodedShape(dims, rank, what, expected.data(), shape.dims()));
}

// Decodes one .npy image into a new output `index`.
absl::Status DecodeNpyInto(OpKernelContext* ctx, int index, const uint8_t* data, int64_t size,
                           DType dtype, const PartialTensorShape* shape) {
  NpyHeader h;
  TF_RETURN_IF_ERROR(ToTf(ParseNpyHeader(data, size, &h)));
  TF_RETURN_IF_ERROR(ToTf(CheckNpyDType(h, dtype)));
  if (shape != nullptr) {
    TF_RETURN_IF_ERROR(CheckShapeAttr(*shape, h.shape.data(), static_cast<int>(h.shape.size()), "a .npy array"));
  }
  TensorShape out_shape;
  TF_RETURN_IF_ERROR(TensorShape::BuildTensorShape(h.shape, &out_shape));
  Tensor* out = nullptr;
  TF_RETURN_IF_ERROR(ctx->allocate_output(index, out_shape, &out));
  return ToTf(DecodeNpyData(data, size, h, const_cast<char*>(out->tensor_data().data())));
}

// A decoder of one array whose attributes are its element `dtype` and the
// `shape` it is checked against (decode_npy, decode_tiff).
class DTypeAndShapeOp : public OpKernel {
 public:
  explicit DTypeAndShapeOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    DataType dtype;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("dtype", &dtype));
    OP_REQUIRES_OK(ctx, ElementDType(dtype, "dtype", &dtype_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("shape", &shape_));
  }

 protected:
  DType dtype_;
  PartialTensorShape shape_;
};

class DecodeNpyOp : public DTypeAndShapeOp {
 public:
  using DTypeAndShapeOp::DTypeAndShapeOp;

  void Compute(OpKernelContext* ctx) override {
    const tstring* contents = nullptr;
    OP_REQUIRES_OK(ctx, ScalarContents(ctx, &contents));
    OP_REQUIRES_OK(ctx, DecodeNpyInto(ctx, 0, Data(*contents), static_cast<int64_t>(contents->size()),
                                      dtype_, &shape_));
  }
};

class DecodeNpzOp : public OpKernel {
 public:
  explicit DecodeNpzOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("names", &names_));
    std::vector<DataType> dtypes;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("dtypes", &dtypes));
    OP_REQUIRES(ctx, dtypes.size() == names_.size(),
                absl::InvalidArgumentError("spec: names and dtypes differ in length"));
    for (DataType d : dtypes) {
      DType t;
      OP_REQUIRES_OK(ctx, ElementDType(d, "spec", &t));
      dtypes_.push_back(t);
    }
  }

  void Compute(OpKernelContext* ctx) override {
    const tstring* contents = nullptr;
    OP_REQUIRES_OK(ctx, ScalarContents(ctx, &contents));
    const uint8_t* data = Data(*contents);
    const int64_t size = static_cast<int64_t>(contents->size());
    OP_REQUIRES_OK(ctx, ToTf(ForEachNpzMember(data, size, names_, [&](size_t i, const NpzMember& m) {
                     const absl::Status s = DecodeNpyInto(ctx, static_cast<int>(i), m.npy, m.size, dtypes_[i], nullptr);
                     return s.ok() ? Status::Ok() : Status::InvalidArgument(std::string(s.message()));
                   })));
  }

 private:
  std::vector<std::string> names_;
  std::vector<DType> dtypes_;
};

class DecodeRecordsOp : public OpKernel {
 public:
  explicit DecodeRecordsOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::vector<int64_t> offsets;
    std::vector<DataType> dtypes;
    std::vector<PartialTensorShape> shapes;
    std::vector<bool> swap;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("record_bytes", &record_bytes_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("offsets", &offsets));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("dtypes", &dtypes));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("field_shapes", &shapes));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("big_endian", &swap));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("header_bytes", &header_bytes_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("footer_bytes", &footer_bytes_));
    const size_t n = offsets.size();
    OP_REQUIRES(ctx, dtypes.size() == n && shapes.size() == n && swap.size() == n,
                absl::InvalidArgumentError("schema: field descriptions of different lengths"));
    std::vector<SchemaField> schema(n);
    for (size_t i = 0; i < n; ++i) {
      schema[i].offset = offsets[i];
      OP_REQUIRES_OK(ctx, ElementDType(dtypes[i], "schema", &schema[i].dtype));
      OP_REQUIRES(ctx, shapes[i].IsFullyDefined(),
                  absl::InvalidArgumentError("schema: field shapes must be fully defined"));
      const auto dims = shapes[i].dim_sizes();
      schema[i].shape.assign(dims.begin(), dims.end());
      schema[i].big_endian = swap[i];
      field_shapes_.push_back(shapes[i]);
    }
    OP_REQUIRES_OK(ctx, ToTf(MakeRecordFields(schema, record_bytes_, &fields_)));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& t = ctx->input(kContents);
    OP_REQUIRES(ctx, t.dims() <= 1,
                absl::InvalidArgumentError("contents must be a scalar or a vector of strings, got shape " +
                                           t.shape().DebugString()));
    const bool batch = t.dims() == 1;
    auto strings = t.flat<tstring>();
    int64_t num_records = batch ? strings.size() : 0;
    for (int64_t i = 0; i < strings.size(); ++i) {
      int64_t n = 0;
      OP_REQUIRES_OK(ctx, ToTf(CountRecords(static_cast<int64_t>(strings(i).size()), header_bytes_,
                                            footer_bytes_, record_bytes_, batch, &n)));
      if (!batch) num_records = n;
    }
    std::vector<RecordField> fields = fields_;
    for (size_t i = 0; i < fields.size(); ++i) {
      TensorShape shape({num_records});
      for (int d = 0; d < field_shapes_[i].dims(); ++d) shape.AddDim(field_shapes_[i].dim_size(d));
      Tensor* out = nullptr;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(static_cast<int>(i), shape, &out));
      fields[i].out = const_cast<char*>(out->tensor_data().data());
    }
    std::vector<const uint8_t*> pointers;
    RecordSource source;
    source.num_records = num_records;
    if (batch) {
      for (int64_t i = 0; i < strings.size(); ++i) pointers.push_back(Data(strings(i)) + header_bytes_);
      source.pointers = pointers.data();
    } else {
      source.base = Data(strings(0)) + header_bytes_;
    }
    const ParallelFor parallel_for = IntraOpParallelFor(ctx);
    OP_REQUIRES_OK(ctx, ToTf(DecodeRecords(source, record_bytes_, fields.data(),
                                           static_cast<int>(fields.size()), &parallel_for)));
  }

 private:
  int64_t record_bytes_ = 0, header_bytes_ = 0, footer_bytes_ = 0;
  std::vector<RecordField> fields_;
  std::vector<PartialTensorShape> field_shapes_;
};

// One page of a TIFF file (core/tiff.h): inputs contents (scalar string), page
// (scalar int64) and window (int64 [0] for the whole page, or [4]: row, col,
// height, width); output [height, width, bands].
class DecodeTiffOp : public DTypeAndShapeOp {
 public:
  using DTypeAndShapeOp::DTypeAndShapeOp;

  void Compute(OpKernelContext* ctx) override {
    const tstring* contents = nullptr;
    OP_REQUIRES_OK(ctx, ScalarContents(ctx, &contents));
    const Tensor& page = ctx->input(1);
    OP_REQUIRES(ctx, page.dims() == 0,
                absl::InvalidArgumentError("page must be a scalar, got shape " + page.shape().DebugString()));
    const Tensor& window = ctx->input(2);
    OP_REQUIRES(ctx, window.dims() == 1 && (window.dim_size(0) == 0 || window.dim_size(0) == 4),
                absl::InvalidArgumentError("window must be None or (row, col, height, width), got shape " +
                                           window.shape().DebugString()));
    const uint8_t* data = Data(*contents);
    const int64_t size = static_cast<int64_t>(contents->size());
    TiffInfo info;
    OP_REQUIRES_OK(ctx, ToTf(ReadTiffInfo(data, size, page.scalar<int64_t>()(), &info)));
    OP_REQUIRES_OK(ctx, ToTf(CheckTiffDType(info, dtype_)));
    TiffWindow w;
    const int64_t* bounds = window.dim_size(0) == 4 ? window.flat<int64_t>().data() : nullptr;
    OP_REQUIRES_OK(ctx, ToTf(ResolveTiffWindow(info, bounds, &w)));
    const int64_t dims[3] = {w.height, w.width, info.bands};
    OP_REQUIRES_OK(ctx, CheckShapeAttr(shape_, dims, 3, "a TIFF window"));
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({dims[0], dims[1], dims[2]}), &out));
    const ParallelFor parallel_for = IntraOpParallelFor(ctx);
    OP_REQUIRES_OK(ctx, ToTf(DecodeTiff(data, size, info, w, const_cast<char*>(out->tensor_data().data()),
                                        &parallel_for)));
  }
};

absl::Status DecodeTiffShape(InferenceContext* c) {
  PartialTensorShape shape;
  TF_RETURN_IF_ERROR(c->GetAttr("shape", &shape));
  ShapeHandle out;
  TF_RETURN_IF_ERROR(c->MakeShapeFromPartialTensorShape(shape, &out));
  TF_RETURN_IF_ERROR(c->WithRank(out, 3, &out));
  ShapeHandle unused;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(kContents), 0, &unused));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 0, &unused));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 1, &unused));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status DecodeNpyShape(InferenceContext* c) {
  PartialTensorShape shape;
  TF_RETURN_IF_ERROR(c->GetAttr("shape", &shape));
  ShapeHandle out;
  TF_RETURN_IF_ERROR(c->MakeShapeFromPartialTensorShape(shape, &out));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status DecodeNpzShape(InferenceContext* c) {
  for (int i = 0; i < c->num_outputs(); ++i) c->set_output(i, c->UnknownShape());
  return absl::OkStatus();
}

absl::Status DecodeRecordsShape(InferenceContext* c) {
  std::vector<PartialTensorShape> shapes;
  TF_RETURN_IF_ERROR(c->GetAttr("field_shapes", &shapes));
  ShapeHandle contents = c->input(kContents);
  // A vector of one-record strings gives as many records as strings.
  auto records = c->UnknownDim();
  if (c->RankKnown(contents) && c->Rank(contents) == 1) records = c->Dim(contents, 0);
  for (int i = 0; i < c->num_outputs() && i < static_cast<int>(shapes.size()); ++i) {
    ShapeHandle field;
    TF_RETURN_IF_ERROR(c->MakeShapeFromPartialTensorShape(shapes[i], &field));
    ShapeHandle out;
    TF_RETURN_IF_ERROR(c->Concatenate(c->Vector(records), field, &out));
    c->set_output(i, out);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace tf
}  // namespace gilfree

REGISTER_OP("Gilfree>DecodeNpy")
    .Input("contents: string")
    .Output("array: dtype")
    .Attr(std::string("dtype: ") + gilfree::tf::kElementTypes)
    .Attr("shape: shape = { unknown_rank: true }")
    .SetShapeFn(gilfree::tf::DecodeNpyShape)
    .Doc("Decodes the bytes of one .npy file.");

REGISTER_OP("Gilfree>DecodeNpz")
    .Input("contents: string")
    .Output("arrays: dtypes")
    .Attr("names: list(string) >= 0")
    .Attr(std::string("dtypes: list(") + gilfree::tf::kElementTypes + ") >= 0")
    .SetShapeFn(gilfree::tf::DecodeNpzShape)
    .Doc("Decodes the named members of one .npz archive.");

REGISTER_OP("Gilfree>DecodeRecords")
    .Input("contents: string")
    .Output("fields: dtypes")
    .Attr("record_bytes: int >= 1")
    .Attr("offsets: list(int) >= 0")
    .Attr(std::string("dtypes: list(") + gilfree::tf::kElementTypes + ") >= 0")
    .Attr("field_shapes: list(shape) >= 0")
    .Attr("big_endian: list(bool) >= 0")
    .Attr("header_bytes: int = 0")
    .Attr("footer_bytes: int = 0")
    .SetShapeFn(gilfree::tf::DecodeRecordsShape)
    .Doc("Decodes fixed-size records into one tensor per field.");

REGISTER_OP("Gilfree>DecodeTiff")
    .Input("contents: string")
    .Input("page: int64")
    .Input("window: int64")
    .Output("image: dtype")
    .Attr(std::string("dtype: ") + gilfree::tf::kElementTypes)
    .Attr("shape: shape = { unknown_rank: true }")
    .SetShapeFn(gilfree::tf::DecodeTiffShape)
    .Doc("Decodes one page (or a window of it) of a TIFF file to [height, width, bands].");

REGISTER_KERNEL_BUILDER(Name("Gilfree>DecodeNpy").Device(tensorflow::DEVICE_CPU),
                        gilfree::tf::DecodeNpyOp);
REGISTER_KERNEL_BUILDER(Name("Gilfree>DecodeNpz").Device(tensorflow::DEVICE_CPU),
                        gilfree::tf::DecodeNpzOp);
REGISTER_KERNEL_BUILDER(Name("Gilfree>DecodeRecords").Device(tensorflow::DEVICE_CPU),
                        gilfree::tf::DecodeRecordsOp);
REGISTER_KERNEL_BUILDER(Name("Gilfree>DecodeTiff").Device(tensorflow::DEVICE_CPU),
                        gilfree::tf::DecodeTiffOp);
