// Shared plumbing of the native shim: the opaque tensor handle that JavaScript
// holds, argument readers that turn bad JS input into TypeError/RangeError, and
// the guard that turns every libtorch error into a JS Error naming the op.
// No model or training logic lives in native/.
#pragma once

// Node-API's experimental version runs "basic" finalizers (ones that only free
// C++ memory and never call into JavaScript) synchronously during garbage
// collection, instead of queueing them until the event loop turns. Tracked
// tensors rely on it (handles.cc): a forgotten tensor is freed by the GC that
// finds it, even inside a long synchronous loop. binding.gyp pins NAPI_VERSION
// for the other headers; it is lifted here, before napi.h, in every
// translation unit.
#ifdef NAPI_VERSION
#undef NAPI_VERSION
#endif
#ifndef NAPI_EXPERIMENTAL
#define NAPI_EXPERIMENTAL
#endif
#include <napi.h>
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <string>
#include <vector>

// Whether the libtorch being built against is at least major.minor: for the
// few calls whose form changed between 1.13 and 2.x (see each use).
#define SKIPSTUDIO_LIBTORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace skipstudio {

// A JS tensor handle is a BigInt naming a slot of the box table (handles.cc)
// and the slot's generation. Making one allocates nothing but the BigInt:
// Node-API's Externals cost two small malloc'd records each, freed only by a
// full garbage collection (V8's young-generation collections keep them), and
// those records, scattered between tensor blocks, kept the heap growing in
// loops that freed every tensor. Disposing frees the tensor and the slot at
// once; the stale handle is then recognised by its generation. Tensors that
// outlive every scope are tied to their JS object (track()) so that the GC
// frees them if they are forgotten.
struct TensorBox {
  at::Tensor tensor;
  int64_t reportedBytes;  // told to V8 as external memory
  int64_t liveBytes;      // counted in LiveTensorBytes()
  uint32_t index;         // its slot
  uint32_t generation;
  uint32_t nextFree;      // the table's free list, while the slot is free
  bool tracked;           // napi_wrap'ed to its JS object (track())
};

Napi::Value Wrap(Napi::Env env, at::Tensor tensor);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& tensors);
Napi::Value WrapOptional(Napi::Env env, const at::Tensor& tensor);  // undefined when undefined
void Dispose(Napi::Env env, TensorBox* box);

// Live handle count and the bytes they hold, for memory() and the leak tests.
int64_t LiveTensorCount();
int64_t LiveTensorBytes();

// The allocator of tensor data (runtime.cc): installed once at load; freed
// blocks are cached for reuse and unmapped when idle. KeepTensorCacheSwept()
// (JS thread only) arms the timer that sweeps the cache while Node idles.
void InstallTensorAllocator(Napi::Env env);
void KeepTensorCacheSwept();
int64_t CachedTensorBytes();

// Argument readers. Each throws a Napi::TypeError/RangeError naming the argument.
TensorBox* BoxArg(const Napi::CallbackInfo& info, size_t i);
// A tensor argument, by value: the argument is only the handle, not the JS
// Tensor that owns it, so a garbage collection during the op (any Node-API
// allocation can start one, and its finalizers run at once) may free the box;
// the copy keeps the tensor alive until the op returns.
at::Tensor TensorArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> OptionalTensorArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i);
double NumberArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> OptionalNumberArg(const Napi::CallbackInfo& info, size_t i);
int64_t IntArg(const Napi::CallbackInfo& info, size_t i);
bool BoolArg(const Napi::CallbackInfo& info, size_t i);
std::string StringArg(const Napi::CallbackInfo& info, size_t i);
at::ScalarType DtypeArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> OptionalDtypeArg(const Napi::CallbackInfo& info, size_t i);
at::TensorOptions OptionsArg(const Napi::CallbackInfo& info, size_t dtypeIndex, size_t deviceIndex);
bool IsMissing(const Napi::CallbackInfo& info, size_t i);
// A JS number or boolean: the Scalar overload of a binary op rather than the Tensor one.
bool IsScalar(const Napi::CallbackInfo& info, size_t i);

// A JS number as a libtorch Scalar: integral values stay integral, so that
// int_tensor + 2 stays an integer tensor as in PyTorch.
at::Scalar ToScalar(double value);
at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i);

using NativeFn = Napi::Value (*)(const Napi::CallbackInfo&);

// Runs an op, converting libtorch/std errors into JS Errors prefixed with the op name.
template <NativeFn F>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  const char* name = static_cast<const char*>(info.Data());
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": " + e.what());
  }
}

template <NativeFn F>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, Guarded<F>, name, const_cast<char*>(name)));
}

// Every op group, once: Register<Group> (defined by SKIPSTUDIO_DEFINE_REGISTER in
// the group's file) exports that file's SKIPSTUDIO_<GROUP>_OPS list; addon.cc
// calls them all in this order.
#define SKIPSTUDIO_OP_GROUPS(X) \
  X(Handles)                    \
  X(Runtime)                    \
  X(Creation)                   \
  X(Math)                       \
  X(Shape)                      \
  X(NN)                         \
  X(Inplace)                    \
  X(Autograd)                   \
  X(Prefetch)                   \
  X(Dist)

#define SKIPSTUDIO_DECLARE_REGISTER(Group) void Register##Group(Napi::Env env, Napi::Object exports);
SKIPSTUDIO_OP_GROUPS(SKIPSTUDIO_DECLARE_REGISTER)
#undef SKIPSTUDIO_DECLARE_REGISTER

// One entry X(Fn, jsName) of a file's op list: exports C++ function Fn as jsName.
#define SKIPSTUDIO_EXPORT_OP(Fn, jsName) Export<Fn>(env, exports, #jsName);

// Defines Register<Group>, exporting every op of the list macro OPS.
#define SKIPSTUDIO_DEFINE_REGISTER(Group, OPS)                \
  void Register##Group(Napi::Env env, Napi::Object exports) { \
    OPS(SKIPSTUDIO_EXPORT_OP)                                 \
  }

}  // namespace skipstudio
