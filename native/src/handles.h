// Shared plumbing of the native shim: the opaque tensor handle that JavaScript
// holds, argument readers that turn bad JS input into TypeError/RangeError, and
// the guard that turns every libtorch error into a JS Error naming the op.
// No model or training logic lives in native/.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <string>
#include <vector>

namespace skipstudio {

// A JS tensor handle is a napi External pointing at one TensorBox. The box
// outlives an explicit dispose (which only drops the tensor) until V8 collects
// the handle, so a disposed handle is detected instead of dereferenced.
struct TensorBox {
  at::Tensor tensor;
  int64_t reportedBytes = 0;  // told to V8 as external memory
  int64_t liveBytes = 0;      // counted in LiveTensorBytes()
};

Napi::Value Wrap(Napi::Env env, at::Tensor tensor);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& tensors);
Napi::Value WrapOptional(Napi::Env env, const at::Tensor& tensor);  // undefined when undefined
void Dispose(Napi::Env env, TensorBox* box);

// Live handle count and the bytes they hold, for memory() and the leak tests.
int64_t LiveTensorCount();
int64_t LiveTensorBytes();

// Argument readers. Each throws a Napi::TypeError/RangeError naming the argument.
TensorBox* BoxArg(const Napi::CallbackInfo& info, size_t i);
const at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i);
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

void RegisterHandles(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
void RegisterCreation(Napi::Env env, Napi::Object exports);
void RegisterMath(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterNN(Napi::Env env, Napi::Object exports);
void RegisterInplace(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterPrefetch(Napi::Env env, Napi::Object exports);
void RegisterDist(Napi::Env env, Napi::Object exports);

}  // namespace skipstudio
