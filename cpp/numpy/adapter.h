// Glue between Python and the core shared by the NumPy adapters: core Status ->
// Python exception, in one place.
#ifndef GILFREE_NUMPY_ADAPTER_H_
#define GILFREE_NUMPY_ADAPTER_H_

#include "core/status.h"

namespace gilfree {
namespace numpy {

// Nothing for an OK status; otherwise throws: MemoryError for ResourceExhausted,
// ValueError for InvalidArgument (the message is the core's).
void Raise(const Status& status);

}  // namespace numpy
}  // namespace gilfree

#endif  // GILFREE_NUMPY_ADAPTER_H_
