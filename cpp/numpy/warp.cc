// pybind11 adapter of the geometry ops (gilfree._native.warp, remap,
// polynomial_warp, fit_polynomial): shapes and arguments are checked by the
// core's helpers with the GIL held, the output is allocated, and the core
// runs without the GIL, on `threads` threads of its own when asked.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "core/warp.h"
#include "numpy/adapter.h"

namespace py = pybind11;

namespace gilfree {
namespace numpy {
namespace {

using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::vector<int64_t> ShapeOf(const py::array& a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

// `v3`: projective_transform, which also takes ImageProjectiveTransformV3's
// int32, int64 and float64.
DType ImageDType(const py::array& x, const char* arg, bool v3) {
  const py::dtype dt = x.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'u' && size == 1) return DType::kUInt8;
  if (kind == 'u' && size == 2) return DType::kUInt16;
  if (kind == 'i' && size == 2) return DType::kInt16;
  if (kind == 'f' && size == 2) return DType::kFloat16;
  if (kind == 'f' && size == 4) return DType::kFloat32;
  if (v3 && kind == 'i' && size == 4) return DType::kInt32;
  if (v3 && kind == 'i' && size == 8) return DType::kInt64;
  if (v3 && kind == 'f' && size == 8) return DType::kFloat64;
  throw py::type_error(std::string(arg) + " has unsupported dtype " +
                       py::str(static_cast<py::object>(dt)).cast<std::string>() +
                       "; expected uint8, uint16, int16, float16" +
                       (v3 ? ", float32, int32, int64 or float64" : " or float32"));
}

// Runs fn over [0, total) on `threads` threads (the calling one included).
// Unit boundaries come from the core, so results do not depend on the count.
ParallelFor ThreadsFor(int threads) {
  return [threads](int64_t total, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
    const int64_t n = std::min<int64_t>(threads, total);
    if (n <= 1) {
      fn(0, total);
      return;
    }
    std::vector<std::thread> pool;
    pool.reserve(n - 1);
    for (int64_t t = 1; t < n; ++t) {
      pool.emplace_back([&, t] { fn(total * t / n, total * (t + 1) / n); });
    }
    fn(0, total / n);
    for (auto& th : pool) th.join();
  };
}

// The image, the common options, and a run that allocates the output.
struct WarpCall {
  ConstImage src;
  int rank = 0;
  WarpParams params;
  std::vector<double> fill;
  int threads = 1;

  WarpCall(const py::array& image, const std::string& interpolation, const std::string& fill_mode,
           bool tf_modes, const Doubles& fill_value, const py::object& nodata, int threads_arg) {
    const char* arg = tf_modes ? "images" : "image";
    src.dtype = ImageDType(image, arg, tf_modes);
    params.tf_compat = tf_modes;  // projective: set before the parameters are checked
    if (image.dtype().byteorder() == '>') {
      throw py::type_error("image must be in native byte order");
    }
    rank = static_cast<int>(image.ndim());
    const std::vector<int64_t> shape = ShapeOf(image);
    const std::vector<int64_t> strides(image.strides(), image.strides() + image.ndim());
    Raise(DescribeWarpImage(arg, rank, shape.data(), strides.data(), src.dtype, &src.geometry));
    if (image.size() > 0 && reinterpret_cast<uintptr_t>(image.data()) % DTypeSize(src.dtype) != 0) {
      throw py::value_error("image is not aligned to its element size; pass a copy");
    }
    src.data = image.data();
    Raise(ParseInterpolation(interpolation, tf_modes, &params.interpolation));
    Raise(ParseFillMode(fill_mode, tf_modes, &params.fill_mode));
    if (fill_value.ndim() > 1) {
      throw py::value_error("fill_value must be a number or one number per channel, got an array "
                            "of rank " + std::to_string(fill_value.ndim()));
    }
    fill.assign(fill_value.data(), fill_value.data() + fill_value.size());
    params.fill_value = fill.data();
    params.fill_size = static_cast<int64_t>(fill.size());
    params.has_nodata = !nodata.is_none();
    params.nodata = params.has_nodata ? nodata.cast<double>() : 0.0;
    if (threads_arg < 1) {
      throw py::value_error("threads must be a positive integer, got " + std::to_string(threads_arg));
    }
    threads = threads_arg;
    Raise(ValidateWarpParams(params, src.dtype, src.geometry.channels));
  }

  // allow_empty: only the default output size (a zero-size image's own) may be
  // empty; an explicit output_shape has positive sides.
  py::array Run(const Transform& transform, int64_t out_h, int64_t out_w, bool allow_empty) {
    const ImageGeometry& g = src.geometry;
    Raise(CheckOutputShape(g.batch, out_h, out_w, g.channels, src.dtype,
                           transform.kind == TransformKind::kMaps ? "map_x" : "output_shape",
                           allow_empty));
    std::vector<py::ssize_t> shape;
    if (rank == 4) shape.push_back(g.batch);
    shape.push_back(out_h);
    shape.push_back(out_w);
    if (rank >= 3) shape.push_back(g.channels);
    py::array out(py::dtype(DTypeName(src.dtype)), shape);
    void* dst = out.mutable_data();
    Status status;
    {
      py::gil_scoped_release release;
      const ParallelFor parallel = ThreadsFor(threads);
      status = Warp(src, transform, params, out_h, out_w, dst, &parallel);
    }
    Raise(status);
    return out;
  }

  // (H', W') from an optional (height, width) pair; the input's by default.
  std::pair<int64_t, int64_t> OutputShape(const py::object& output_shape) const {
    if (output_shape.is_none()) return {src.geometry.height, src.geometry.width};
    return output_shape.cast<std::pair<int64_t, int64_t>>();
  }
};

}  // namespace

void RegisterWarp(py::module_& m) {
  m.def(
      "warp",
      [](const py::array& image, const std::string& kind, const Doubles& matrix, bool inverse,
         const py::object& output_shape, const std::string& interpolation,
         const std::string& fill_mode, const Doubles& fill_value, const py::object& nodata,
         int threads) {
        WarpCall call(image, interpolation, fill_mode, kind == "projective", fill_value, nodata,
                      threads);
        const std::vector<int64_t> mshape = ShapeOf(matrix);
        Transform t;
        std::vector<double> storage;
        Raise(MatrixTransform(kind, matrix.data(), static_cast<int>(matrix.ndim()), mshape.data(),
                              inverse, call.rank, call.src.geometry.batch, &storage, &t,
                              &call.params));
        const auto [h, w] = call.OutputShape(output_shape);
        return call.Run(t, h, w, /*allow_empty=*/output_shape.is_none());
      },
      py::arg("image"), py::arg("kind"), py::arg("matrix"), py::arg("inverse"),
      py::arg("output_shape"), py::arg("interpolation"), py::arg("fill_mode"),
      py::arg("fill_value"), py::arg("nodata"), py::arg("threads"));

  m.def(
      "remap",
      [](const py::array& image, const Floats& map_x, const Floats& map_y,
         const std::string& interpolation, const std::string& fill_mode, const Doubles& fill_value,
         const py::object& nodata, int threads) {
        WarpCall call(image, interpolation, fill_mode, false, fill_value, nodata, threads);
        const std::vector<int64_t> sx = ShapeOf(map_x), sy = ShapeOf(map_y);
        Transform t;
        int64_t h = 0, w = 0;
        Raise(MapsTransform(map_x.data(), static_cast<int>(sx.size()), sx.data(), map_y.data(),
                            static_cast<int>(sy.size()), sy.data(), call.rank,
                            call.src.geometry.batch, &t, &h, &w));
        return call.Run(t, h, w, /*allow_empty=*/false);
      },
      py::arg("image"), py::arg("map_x"), py::arg("map_y"), py::arg("interpolation"),
      py::arg("fill_mode"), py::arg("fill_value"), py::arg("nodata"), py::arg("threads"));

  m.def(
      "fit_polynomial",
      [](const Doubles& src, const Doubles& dst, int order) {
        const std::vector<int64_t> ss = ShapeOf(src), ds = ShapeOf(dst);
        Raise(CheckPointShapes(static_cast<int>(ss.size()), ss.data(), static_cast<int>(ds.size()),
                               ds.data()));
        const int terms = PolynomialTerms(std::clamp(order, 1, 3));  // FitPolynomial checks it
        py::array_t<double> coefficients({2, terms});
        double rms = 0;
        Raise(FitPolynomial(src.data(), dst.data(), ss[0], order, coefficients.mutable_data(), &rms));
        return py::make_tuple(coefficients, rms);
      },
      py::arg("src_points"), py::arg("dst_points"), py::arg("order"));

  m.def(
      "polynomial_warp",
      [](const py::array& image, const Doubles& src, const Doubles& dst, int order,
         const py::object& output_shape, const std::string& interpolation,
         const std::string& fill_mode, const Doubles& fill_value, const py::object& nodata,
         int threads) {
        WarpCall call(image, interpolation, fill_mode, false, fill_value, nodata, threads);
        const std::vector<int64_t> ss = ShapeOf(src), ds = ShapeOf(dst);
        Transform t;
        std::vector<double> storage;
        Raise(PolynomialTransform(src.data(), static_cast<int>(ss.size()), ss.data(), dst.data(),
                                  static_cast<int>(ds.size()), ds.data(), order, &storage, &t));
        const auto [h, w] = call.OutputShape(output_shape);
        return call.Run(t, h, w, /*allow_empty=*/output_shape.is_none());
      },
      py::arg("image"), py::arg("src_points"), py::arg("dst_points"), py::arg("order"),
      py::arg("output_shape"), py::arg("interpolation"), py::arg("fill_mode"),
      py::arg("fill_value"), py::arg("nodata"), py::arg("threads"));
}

}  // namespace numpy
}  // namespace gilfree
