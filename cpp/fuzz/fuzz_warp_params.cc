// Fuzz target: the geometry ops' argument checks and a warp of a tiny image.
// The input gives the image, the transform's arguments (matrices, TF
// transform rows, dense maps or polynomial control points) and the warp
// parameters; the target builds them as the adapters do (DescribeWarpImage,
// MatrixTransform / MapsTransform / PolynomialTransform) and, when every
// check passes, runs Warp (and WarpGradient for float32 images) into buffers
// of exactly the output's size.
//
//   byte 0   transform: 0 affine, 1 perspective, 2 projective, 3 maps,
//            4 polynomial (mod 5); bit 7: a second, differing shape argument
//   byte 1   bits 0-1 interpolation (mod 3), bits 2-4 fill mode (mod 5),
//            bit 5 tf_compat, bit 6 nodata, bit 7 inverse
//   byte 2   dtype (mod 13, cpp/core/dtype.h)
//   byte 3   image rank 2..4 (mod 3), then bits 2-4: out_h (0..7), bits 5-7: out_w
//   byte 4   H (mod 9), byte 5 W (mod 9), byte 6 bits 0-1: N - 1, bits 2-4: C (0..7)
//   byte 7   argument shape selector, byte 8: fill_value length (mod 6),
//            byte 9: polynomial order (mod 5) and point count (bits 3-7)
//   then     values: each one byte v, < 160: (v - 80) / 16; < 240: a special
//            value (NaN, +-Inf, +-0, +-1e300, +-3.5e38, a subnormal, 0.5,
//            2^53); else the next 8 bytes as a double. Values run out as 0.
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/warp.h"
#include "fuzz_common.h"

namespace {

class Values {
 public:
  Values(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  double Next() {
    if (p_ >= end_) return 0.0;
    const uint8_t v = *p_++;
    if (v < 160) return (v - 80) / 16.0;
    if (v < 240) {
      static const double kSpecial[] = {std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(),
                                        0.0,
                                        -0.0,
                                        1e300,
                                        -1e300,
                                        3.5e38,
                                        -3.5e38,
                                        1e-310,
                                        0.5,
                                        9007199254740992.0};
      return kSpecial[(v - 160) % (sizeof kSpecial / sizeof kSpecial[0])];
    }
    if (end_ - p_ < 8) return 0.0;
    double d;
    std::memcpy(&d, p_, 8);
    p_ += 8;
    return d;
  }
  uint8_t Byte() { return p_ < end_ ? *p_++ : 0; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

int64_t Product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 10) return 0;
  const int kind = data[0] % 5;
  const bool other_shape = (data[0] & 0x80) != 0;
  gilfree::WarpParams params;
  params.interpolation = static_cast<gilfree::Interpolation>((data[1] & 3) % 3);
  params.fill_mode = static_cast<gilfree::FillMode>(((data[1] >> 2) & 7) % 5);
  params.tf_compat = (data[1] & 0x20) != 0;
  params.has_nodata = (data[1] & 0x40) != 0;
  const bool inverse = (data[1] & 0x80) != 0;
  const auto dtype = static_cast<gilfree::DType>(data[2] % 13);
  const int rank = data[3] % 3 + 2;
  int64_t out_h = (data[3] >> 2) & 7, out_w = (data[3] >> 5) & 7;
  const int64_t h = data[4] % 9, w = data[5] % 9;
  const int64_t n = rank == 4 ? (data[6] & 3) + 1 : 1;
  const int64_t c = rank == 2 ? 1 : (data[6] >> 2) & 7;
  const uint8_t selector = data[7];
  const int fill_size = data[8] % 6;
  const int order = data[9] % 5;
  const int64_t points = data[9] >> 3;
  Values values(data + 10, data + size);

  // The image: dense, described as the adapters describe it.
  std::vector<int64_t> shape;
  if (rank == 4) shape.push_back(n);
  shape.push_back(h);
  shape.push_back(w);
  if (rank >= 3) shape.push_back(c);
  const int64_t itemsize = gilfree::DTypeSize(dtype);
  std::vector<int64_t> strides(rank);
  int64_t stride = itemsize;
  for (int i = rank - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= shape[i];
  }
  gilfree::ImageGeometry geometry;
  if (!gilfree::DescribeWarpImage("images", rank, shape.data(), strides.data(), dtype, &geometry).ok()) {
    return 0;
  }
  GILFREE_FUZZ_CHECK(geometry.batch == n && geometry.height == h && geometry.width == w);
  const int64_t elements = Product(shape);
  std::unique_ptr<uint8_t[]> pixels(new uint8_t[static_cast<size_t>(elements * itemsize)]);
  for (int64_t i = 0; i < elements; ++i) {
    uint8_t* p = pixels.get() + i * itemsize;
    if (dtype == gilfree::DType::kFloat32) {
      const float f = static_cast<float>(values.Next());
      std::memcpy(p, &f, 4);
    } else {
      for (int64_t b = 0; b < itemsize; ++b) p[b] = values.Byte();
    }
  }
  gilfree::ConstImage image;
  image.data = pixels.get();
  image.dtype = dtype;
  image.geometry = geometry;

  std::vector<double> fill(fill_size);
  for (double& v : fill) v = values.Next();
  params.fill_value = fill.empty() ? nullptr : fill.data();
  params.fill_size = fill_size;
  if (params.has_nodata) params.nodata = values.Next();

  // The transform from arguments of a shape chosen by `selector`: mostly the
  // expected one, sometimes not (a wrong rank, count or size).
  gilfree::Transform transform;
  std::vector<double> storage, matrix, src_points, dst_points;
  std::vector<float> map_x, map_y;
  const int64_t wrong = (selector >> 4) & 3;  // 0: as expected
  if (kind <= 2) {
    static const char* kKinds[] = {"affine", "perspective", "projective"};
    const int rows = kind == 0 ? 2 : 3;
    std::vector<int64_t> mshape;
    if (kind == 2) {
      mshape = {(selector & 1) ? n : 1, 8};
    } else if (selector & 1) {
      mshape = {(selector & 2) ? n : 1, rows, 3};
    } else {
      mshape = {rows, 3};
    }
    if (wrong == 1) mshape.back() += 1;
    if (wrong == 2) mshape[0] = (selector >> 6);
    matrix.resize(static_cast<size_t>(Product(mshape)));
    for (double& v : matrix) v = values.Next();
    if (!gilfree::MatrixTransform(kKinds[kind], matrix.data(), static_cast<int>(mshape.size()), mshape.data(),
                                  inverse, rank, n, &storage, &transform, &params)
             .ok()) {
      return 0;
    }
    GILFREE_FUZZ_CHECK(wrong != 1);
  } else if (kind == 3) {
    std::vector<int64_t> mshape = {out_h, out_w};
    if (selector & 1) mshape.insert(mshape.begin(), (selector & 2) ? n : 1);
    std::vector<int64_t> yshape = mshape;
    if (other_shape) yshape.back() += 1;
    if (wrong == 1) mshape.push_back(1);
    map_x.resize(static_cast<size_t>(Product(mshape)));
    map_y.resize(static_cast<size_t>(Product(yshape)));
    for (float& v : map_x) v = static_cast<float>(values.Next());
    for (float& v : map_y) v = static_cast<float>(values.Next());
    if (!gilfree::MapsTransform(map_x.data(), static_cast<int>(mshape.size()), mshape.data(), map_y.data(),
                                static_cast<int>(yshape.size()), yshape.data(), rank, n, &transform, &out_h,
                                &out_w)
             .ok()) {
      return 0;
    }
    GILFREE_FUZZ_CHECK(!other_shape && wrong != 1);
  } else {
    std::vector<int64_t> sshape = {points, 2}, dshape = {points + (other_shape ? 1 : 0), 2};
    if (wrong == 1) sshape.back() = 3;
    src_points.resize(static_cast<size_t>(Product(sshape)));
    dst_points.resize(static_cast<size_t>(Product(dshape)));
    for (double& v : src_points) v = values.Next();
    for (double& v : dst_points) v = values.Next();
    if (!gilfree::PolynomialTransform(src_points.data(), 2, sshape.data(), dst_points.data(), 2, dshape.data(),
                                      order, &storage, &transform)
             .ok()) {
      return 0;
    }
    GILFREE_FUZZ_CHECK(!other_shape && wrong != 1 && order >= 1 && order <= 3);
  }

  // The warp, into exactly the output's bytes.
  if (out_h == 0 || out_w == 0) {
    if (kind == 3) return 0;
    out_h = out_h == 0 ? h : out_h;
    out_w = out_w == 0 ? w : out_w;
  }
  const int64_t out_elements = n * out_h * out_w * c;
  std::unique_ptr<uint8_t[]> out(new uint8_t[static_cast<size_t>(out_elements * itemsize)]);
  const gilfree::Status s = gilfree::Warp(image, transform, params, out_h, out_w, out.get(), nullptr);
  if (!s.ok() || dtype != gilfree::DType::kFloat32) return 0;

  // The gradient of a float32 warp, into exactly the source's elements.
  std::vector<float> grad_out(static_cast<size_t>(out_elements));
  for (float& v : grad_out) v = static_cast<float>(values.Next());
  std::vector<float> grad_src(static_cast<size_t>(elements));
  (void)gilfree::WarpGradient(image, transform, params, out_h, out_w, grad_out.data(), grad_src.data(),
                              nullptr);
  return 0;
}
