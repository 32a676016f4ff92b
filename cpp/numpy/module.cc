// pybind11 adapter: gilfree._native. Validates and allocates with the GIL
// held, then calls the core with the GIL released. Never touches TensorFlow.
// The Python face (src/gilfree/numpy.py) gives these functions their public
// signatures and converts arguments such as dtype names.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "core/image.h"
#include "core/normalize.h"
#include "core/simd/kernels.h"
#include "numpy/adapter.h"

namespace py = pybind11;

namespace gilfree {
namespace numpy {
namespace {

DType InputDType(const py::array& x) {
  const py::dtype dt = x.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'u' && size == 1) return DType::kUInt8;
  if (kind == 'u' && size == 2) return DType::kUInt16;
  if (kind == 'i' && size == 2) return DType::kInt16;
  if (kind == 'i' && size == 4) return DType::kInt32;
  if (kind == 'f' && size == 2) return DType::kFloat16;
  if (kind == 'f' && size == 4) return DType::kFloat32;
  throw py::type_error("x has unsupported dtype " + py::str(static_cast<py::object>(dt)).cast<std::string>() +
                       "; expected uint8, uint16, int16, int32, float16 or float32");
}

DType OutputDType(const std::string& name) {
  if (name == "float32") return DType::kFloat32;
  if (name == "float16") return DType::kFloat16;
  throw py::type_error("dtype " + name + " is not supported; expected float32 or float16");
}

struct Prepared {
  ConstImage x;
  DenseImage y;
  py::array out;
};

// Describes x and allocates a dense output of its shape.
Prepared Prepare(const py::array& x, const std::string& dtype) {
  Prepared p;
  p.x.dtype = InputDType(x);
  if (x.dtype().byteorder() == '>') {  // gilfree supports little-endian hosts only
    throw py::type_error("x must be in native byte order; convert with x.astype(x.dtype.newbyteorder('='))");
  }
  p.y.dtype = OutputDType(dtype);
  std::vector<int64_t> shape(x.shape(), x.shape() + x.ndim());
  std::vector<int64_t> strides(x.strides(), x.strides() + x.ndim());
  Raise(DescribeImage(static_cast<int>(x.ndim()), shape.data(), strides.data(), p.x.dtype,
                      &p.x.geometry));
  if (x.size() > 0 && reinterpret_cast<uintptr_t>(x.data()) % DTypeSize(p.x.dtype) != 0) {
    throw py::value_error("x is not aligned to its element size; pass a copy (x.copy())");
  }
  p.x.data = x.data();
  std::vector<py::ssize_t> out_shape(x.shape(), x.shape() + x.ndim());
  p.out = py::array(py::dtype(dtype), out_shape);
  p.y.data = p.out.mutable_data();
  return p;
}

std::vector<double> Params(const py::array_t<double, py::array::forcecast>& a, const char* name) {
  if (a.ndim() > 1) {
    throw py::value_error(std::string(name) + " must be a scalar or a 1-D sequence, got an array of rank " +
                          std::to_string(a.ndim()));
  }
  return std::vector<double>(a.data(), a.data() + a.size());
}

// mean, std and scale as the core's NormalizeParams (pointing into the vectors).
struct NormalizeArgs {
  std::vector<double> mean, std;
  NormalizeParams params;
  NormalizeArgs(const py::array_t<double, py::array::forcecast>& m,
                const py::array_t<double, py::array::forcecast>& s, double scale)
      : mean(Params(m, "mean")), std(Params(s, "std")) {
    params.mean = mean.data();
    params.mean_size = static_cast<int64_t>(mean.size());
    params.std = std.data();
    params.std_size = static_cast<int64_t>(std.size());
    params.scale = scale;
  }
  NormalizeArgs(const NormalizeArgs&) = delete;
  NormalizeArgs& operator=(const NormalizeArgs&) = delete;
};

template <typename Call>
py::array Run(const py::array& x, const std::string& dtype, Call&& call) {
  Prepared p = Prepare(x, dtype);
  Status status;
  {
    py::gil_scoped_release release;
    status = call(p.x, p.y);
  }
  Raise(status);
  return p.out;
}

MaskParams Mask(bool per_channel, const py::object& nodata, double fill) {
  MaskParams m;
  m.per_channel = per_channel;
  m.has_nodata = !nodata.is_none();
  m.nodata = m.has_nodata ? nodata.cast<double>() : 0.0;
  m.fill = fill;
  return m;
}

}  // namespace

void RegisterDecoders(py::module_& m);  // decode.cc
void RegisterWarp(py::module_& m);      // warp.cc

}  // namespace numpy
}  // namespace gilfree

PYBIND11_MODULE(_native, m) {
  using namespace gilfree;
  using namespace gilfree::numpy;
  m.doc() = "gilfree kernels for NumPy arrays; the GIL is released while they run.";

  RegisterDecoders(m);
  RegisterWarp(m);
  m.def("simd_level", &simd::SimdLevel, "The SIMD target the kernels dispatched to on this CPU.");
  m.def(
      "simd_targets",
      [] {
        std::vector<std::pair<std::string, bool>> out;
        for (const char* name : simd::BuiltTargets()) {
          out.emplace_back(name, simd::KernelsNamed(name) != nullptr);
        }
        return out;
      },
      "The SIMD targets built in, each with whether this CPU runs it.");
  m.def(
      "compiler",
      [] {
#if defined(__clang__)
        return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
        return std::string("GCC ") + __VERSION__;
#else
        return std::string("unknown");
#endif
      },
      "The C++ compiler this module was built with.");

  // The core's parameter checks alone, for callers that have no image yet (the
  // Keras layers when they are made): ValueError with the core's message.
  m.def(
      "validate_normalize",
      [](const py::array_t<double, py::array::forcecast>& mean,
         const py::array_t<double, py::array::forcecast>& std, double scale, int64_t channels) {
        const NormalizeArgs args(mean, std, scale);
        Raise(ValidateNormalize(args.params, channels));
      },
      py::arg("mean"), py::arg("std"), py::arg("scale"), py::arg("channels"));
  m.def(
      "validate_standardize",
      [](const py::object& epsilon) {
        StandardizeParams p;
        p.has_epsilon = !epsilon.is_none();
        p.epsilon = p.has_epsilon ? epsilon.cast<double>() : 0.0;
        Raise(ValidateStandardize(p));
      },
      py::arg("epsilon"));
  m.def(
      "validate_percentile",
      [](double low, double high) {
        PercentileParams p;
        p.low = low;
        p.high = high;
        Raise(ValidatePercentile(p));
      },
      py::arg("low"), py::arg("high"));

  m.def(
      "normalize",
      [](const py::array& x, const py::array_t<double, py::array::forcecast>& mean,
         const py::array_t<double, py::array::forcecast>& std, double scale, const std::string& dtype) {
        const NormalizeArgs args(mean, std, scale);
        return Run(x, dtype, [&](const ConstImage& in, const DenseImage& out) {
          return Normalize(in, args.params, out, nullptr);
        });
      },
      py::arg("x"), py::arg("mean"), py::arg("std"), py::arg("scale"), py::arg("dtype"));

  m.def(
      "standardize",
      [](const py::array& x, bool per_channel, const py::object& epsilon, const std::string& dtype) {
        StandardizeParams p;
        p.per_channel = per_channel;
        p.has_epsilon = !epsilon.is_none();
        p.epsilon = p.has_epsilon ? epsilon.cast<double>() : 0.0;
        Raise(ValidateStandardize(p));
        return Run(x, dtype, [&](const ConstImage& in, const DenseImage& out) {
          return Standardize(in, p, out, nullptr);
        });
      },
      py::arg("x"), py::arg("per_channel"), py::arg("epsilon"), py::arg("dtype"));

  m.def(
      "minmax_scale",
      [](const py::array& x, bool per_channel, const py::object& nodata, double fill,
         const std::string& dtype) {
        const MaskParams p = Mask(per_channel, nodata, fill);
        return Run(x, dtype, [&](const ConstImage& in, const DenseImage& out) {
          return MinMaxScale(in, p, out, nullptr);
        });
      },
      py::arg("x"), py::arg("per_channel"), py::arg("nodata"), py::arg("fill"), py::arg("dtype"));

  m.def(
      "percentile_stretch",
      [](const py::array& x, double low, double high, bool per_channel, const py::object& nodata,
         double fill, const std::string& dtype) {
        PercentileParams p;
        p.low = low;
        p.high = high;
        p.mask = Mask(per_channel, nodata, fill);
        Raise(ValidatePercentile(p));
        return Run(x, dtype, [&](const ConstImage& in, const DenseImage& out) {
          return PercentileStretch(in, p, out, nullptr);
        });
      },
      py::arg("x"), py::arg("low"), py::arg("high"), py::arg("per_channel"), py::arg("nodata"),
      py::arg("fill"), py::arg("dtype"));
}
