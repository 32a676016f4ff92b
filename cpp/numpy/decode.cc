// pybind11 adapter of the decoders (gilfree._native.decode_*): checks the
// arguments, parses headers, allocates with the GIL held, copies without it
// (an inflated .npz member in C order and native byte order is not copied:
// its array keeps the inflated buffer).
#include "core/decode.h"
#include "core/tiff.h"
#include "numpy/adapter.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace gilfree {
namespace numpy {
namespace {

// The bytes of a bytes-like object (bytes, bytearray, memoryview, uint8 array).
struct Bytes {
  py::buffer_info info;
  const uint8_t* data = nullptr;
  int64_t size = 0;
};

Bytes BytesOf(const py::buffer& buffer, const char* arg) {
  Bytes b;
  b.info = buffer.request();
  const bool contiguous =
      b.info.ndim <= 1 && (b.info.ndim == 0 || b.info.strides[0] == b.info.itemsize || b.info.shape[0] <= 1);
  if (!contiguous) {
    throw py::type_error(std::string(arg) + " must be a contiguous bytes-like object");
  }
  b.data = static_cast<const uint8_t*>(b.info.ptr);
  b.size = static_cast<int64_t>(b.info.size * b.info.itemsize);
  return b;
}

DType DTypeNamed(const std::string& name, const char* arg) {
  static const std::pair<const char*, DType> kNames[] = {
      {"bool", DType::kBool},       {"int8", DType::kInt8},       {"int16", DType::kInt16},
      {"int32", DType::kInt32},     {"int64", DType::kInt64},     {"uint8", DType::kUInt8},
      {"uint16", DType::kUInt16},   {"uint32", DType::kUInt32},   {"uint64", DType::kUInt64},
      {"float16", DType::kFloat16}, {"float32", DType::kFloat32}, {"float64", DType::kFloat64}};
  for (const auto& [n, t] : kNames) {
    if (name == n) return t;
  }
  throw py::type_error(std::string(arg) + " " + name +
                       " is not supported; expected bool, int8..int64, uint8..uint64 or float16/32/64");
}

py::array Allocate(DType dtype, const std::vector<int64_t>& shape) {
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array(py::dtype(DTypeName(dtype)), dims);
}

// Parses, checks and decodes one .npy image of bytes into a new array.
py::array DecodeNpyBytes(const uint8_t* data, int64_t size, DType dtype,
                         const std::optional<std::vector<int64_t>>& shape) {
  NpyHeader h;
  Raise(ParseNpyHeader(data, size, &h));
  Raise(CheckNpyDType(h, dtype));
  if (shape) Raise(CheckNpyShape(h, shape->data(), static_cast<int>(shape->size())));
  py::array out = Allocate(h.dtype, h.shape);
  void* dst = out.mutable_data();
  Status s;
  {
    py::gil_scoped_release release;
    s = DecodeNpyData(data, size, h, dst);
  }
  Raise(s);
  return out;
}

// The array of one .npz member into `out`, with the GIL released on entry and
// on return (taken here only to make and append the array). An array in C
// order and native byte order that was inflated is the inflated storage
// itself, kept alive by the array: no copy. Anything else is decoded into a
// new array, without the GIL.
Status AppendNpzArray(const NpzMember& m, DType dtype, py::list* out) {
  NpyHeader h;
  GILFREE_RETURN_IF_ERROR(ParseNpyHeader(m.npy, m.size, &h));
  GILFREE_RETURN_IF_ERROR(CheckNpyDType(h, dtype));
  const uint8_t* data = m.npy + h.data_offset;
  const int64_t itemsize = DTypeSize(h.dtype);
  std::vector<uint8_t>* storage = m.storage;
  const bool adoptable = m.npy == storage->data() && !h.swap && !h.fortran_order &&
                         h.dtype != DType::kBool &&
                         reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(itemsize) == 0 &&
                         // not much more memory than the array's own
                         storage->capacity() <= storage->size() + storage->size() / 4 + 4096;
  void* dst = nullptr;
  {
    py::gil_scoped_acquire acquire;
    if (adoptable) {
      auto* owner = new std::vector<uint8_t>(std::move(*storage));
      py::capsule base(owner, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
      std::vector<py::ssize_t> dims(h.shape.begin(), h.shape.end());
      out->append(py::array(py::dtype(DTypeName(h.dtype)), dims, {}, data, base));
      return Status::Ok();
    }
    py::array array = Allocate(h.dtype, h.shape);
    dst = array.mutable_data();
    out->append(array);  // the list keeps it while it is filled below
  }
  return DecodeNpyData(m.npy, m.size, h, dst);
}

}  // namespace

void RegisterDecoders(py::module_& m) {
  m.def(
      "decode_npy",
      [](const py::buffer& contents, const std::string& dtype,
         const std::optional<std::vector<int64_t>>& shape) {
        const Bytes b = BytesOf(contents, "contents");
        return DecodeNpyBytes(b.data, b.size, DTypeNamed(dtype, "dtype"), shape);
      },
      py::arg("contents"), py::arg("dtype"), py::arg("shape"));

  m.def(
      "decode_npz",
      [](const py::buffer& contents, const std::vector<std::string>& names,
         const std::vector<std::string>& dtypes) {
        const Bytes b = BytesOf(contents, "contents");
        std::vector<DType> types;
        for (const std::string& d : dtypes) types.push_back(DTypeNamed(d, "spec"));
        py::list out;
        Status s;
        {
          py::gil_scoped_release release;
          s = ForEachNpzMember(b.data, b.size, names, [&](size_t i, const NpzMember& m) {
            return AppendNpzArray(m, types[i], &out);
          });
        }
        Raise(s);
        return out;
      },
      py::arg("contents"), py::arg("names"), py::arg("dtypes"));

  m.def(
      "decode_tiff",
      [](const py::buffer& contents, const std::optional<std::string>& dtype, int64_t page,
         const std::optional<std::vector<int64_t>>& window,
         const std::optional<std::vector<int64_t>>& shape) {
        const Bytes b = BytesOf(contents, "contents");
        if (window && window->size() != 4) {
          throw py::value_error("window must be (row, col, height, width); got " +
                                std::to_string(window->size()) + " values");
        }
        TiffInfo info;
        Raise(ReadTiffInfo(b.data, b.size, page, &info));
        if (dtype) Raise(CheckTiffDType(info, DTypeNamed(*dtype, "dtype")));
        TiffWindow w;
        Raise(ResolveTiffWindow(info, window ? window->data() : nullptr, &w));
        const std::vector<int64_t> dims = {w.height, w.width, info.bands};
        if (shape) Raise(CheckDecodedShape(dims.data(), 3, "a TIFF window", shape->data(),
                                           static_cast<int>(shape->size())));
        py::array out = Allocate(info.dtype, dims);
        void* dst = out.mutable_data();
        Status s;
        {
          py::gil_scoped_release release;
          s = DecodeTiff(b.data, b.size, info, w, dst, nullptr);
        }
        Raise(s);
        return out;
      },
      py::arg("contents"), py::arg("dtype"), py::arg("page"), py::arg("window"), py::arg("shape"));

  m.def(
      "tiff_info",
      [](const py::buffer& contents, int64_t page) {
        const Bytes b = BytesOf(contents, "contents");
        TiffInfo info;
        Raise(ReadTiffInfo(b.data, b.size, page, &info));
        py::dict d;
        d["height"] = info.height;
        d["width"] = info.width;
        d["bands"] = info.bands;
        d["dtype"] = py::dtype(DTypeName(info.dtype));
        d["pages"] = info.pages;
        d["compression"] = TiffCompressionName(info.compression);
        d["predictor"] = info.predictor;
        d["tiled"] = info.tiled;
        if (info.tiled) {
          d["tile_shape"] = py::make_tuple(info.tile_height, info.tile_width);
        } else {
          d["rows_per_strip"] = info.rows_per_strip;
        }
        d["planar"] = info.planar_separate ? "separate" : "contig";
        d["nodata"] = info.has_nodata ? py::object(py::float_(info.nodata)) : py::object(py::none());
        if (info.has_geotransform) {
          const double* g = info.geotransform;
          d["geotransform"] = py::make_tuple(g[0], g[1], g[2], g[3], g[4], g[5]);
        } else {
          d["geotransform"] = py::none();
        }
        d["epsg"] = info.epsg > 0 ? py::object(py::int_(info.epsg)) : py::object(py::none());
        d["raster_type"] = info.raster_point ? "point" : "area";
        return d;
      },
      py::arg("contents"), py::arg("page"));

  m.def("tiff_has_zstd", &TiffHasZstd);

  m.def(
      "decode_records",
      [](const py::object& contents, int64_t record_bytes, const std::vector<int64_t>& offsets,
         const std::vector<std::string>& dtypes, const std::vector<std::vector<int64_t>>& shapes,
         const std::vector<bool>& swap, int64_t header_bytes, int64_t footer_bytes) {
        const size_t nf = offsets.size();
        if (dtypes.size() != nf || shapes.size() != nf || swap.size() != nf) {
          throw py::value_error("schema: field descriptions of different lengths");
        }
        // One string of many records, or a sequence of one-record strings.
        std::vector<Bytes> strings;
        const bool batch = py::isinstance<py::list>(contents) || py::isinstance<py::tuple>(contents);
        if (batch) {
          for (const py::handle& item : contents) {
            strings.push_back(BytesOf(py::reinterpret_borrow<py::buffer>(item), "contents"));
          }
        } else {
          strings.push_back(BytesOf(contents.cast<py::buffer>(), "contents"));
        }
        int64_t num_records = batch ? static_cast<int64_t>(strings.size()) : 0;
        for (const Bytes& s : strings) {
          int64_t n = 0;
          Raise(CountRecords(s.size, header_bytes, footer_bytes, record_bytes, batch, &n));
          if (!batch) num_records = n;
        }
        std::vector<SchemaField> schema(nf);
        for (size_t i = 0; i < nf; ++i) {
          schema[i].offset = offsets[i];
          schema[i].dtype = DTypeNamed(dtypes[i], "schema");
          schema[i].shape = shapes[i];
          schema[i].big_endian = swap[i];
        }
        std::vector<RecordField> fields;
        Raise(MakeRecordFields(schema, record_bytes, &fields));
        std::vector<py::array> arrays;
        for (size_t i = 0; i < nf; ++i) {
          std::vector<int64_t> shape = {num_records};
          shape.insert(shape.end(), shapes[i].begin(), shapes[i].end());
          arrays.push_back(Allocate(fields[i].dtype, shape));
          fields[i].out = arrays.back().mutable_data();
        }
        std::vector<const uint8_t*> pointers;
        RecordSource source;
        source.num_records = num_records;
        if (batch) {
          for (const Bytes& s : strings) pointers.push_back(s.data + header_bytes);
          source.pointers = pointers.data();
        } else {
          source.base = strings[0].data + header_bytes;
        }
        Status s;
        {
          py::gil_scoped_release release;
          s = DecodeRecords(source, record_bytes, fields.data(), static_cast<int>(nf), nullptr);
        }
        Raise(s);
        return py::list(py::cast(arrays));
      },
      py::arg("contents"), py::arg("record_bytes"), py::arg("offsets"), py::arg("dtypes"),
      py::arg("shapes"), py::arg("swap"), py::arg("header_bytes"), py::arg("footer_bytes"));
}

}  // namespace numpy
}  // namespace gilfree
