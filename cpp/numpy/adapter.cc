#include "numpy/adapter.h"

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace gilfree {
namespace numpy {

void Raise(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return;
    case StatusCode::kResourceExhausted:
      PyErr_SetString(PyExc_MemoryError, status.message().c_str());
      throw py::error_already_set();
    case StatusCode::kInvalidArgument: break;
  }
  throw py::value_error(status.message());
}

}  // namespace numpy
}  // namespace gilfree
