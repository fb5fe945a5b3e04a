// Process-wide libtorch state: threads, random seeds and generator state,
// gradient mode, CPU autocast, and build information.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include "handles.h"

namespace skipstudio {

namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("parallelInfo", at::get_parallel_info());
  out.Set("cudaAvailable", at::hasCUDA());
  out.Set("mkldnnAvailable", at::hasMKLDNN());
  return out;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = IntArg(info, 0);
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: the thread count must be at least 1");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  {
    uint64_t seed = static_cast<uint64_t>(IntArg(info, 0));
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  return info.Env().Undefined();
}

// The CPU generator's state as a uint8 tensor, so checkpoints can resume
// the exact random stream.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Wrap(info.Env(), gen.get_state());
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  const at::Tensor& state = TensorArg(info, 0);
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return info.Env().Undefined();
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  c10::GradMode::set_enabled(BoolArg(info, 0));
  return info.Env().Undefined();
}

// Autocast state is [enabled, dtypeCode]; the scoping lives in TypeScript.
Napi::Value AutocastState(const Napi::CallbackInfo& info) {
  auto out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, at::autocast::is_cpu_enabled());
  out.Set(1u, static_cast<int>(at::autocast::get_autocast_cpu_dtype()));
  return out;
}

Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  bool enabled = BoolArg(info, 0);
  at::ScalarType dtype = DtypeArg(info, 1);
  if (dtype != at::kBFloat16 && dtype != at::kHalf) {
    throw Napi::RangeError::New(info.Env(), "autocast: the CPU autocast dtype must be bfloat16 or float16");
  }
  at::autocast::set_cpu_enabled(enabled);
  at::autocast::set_autocast_cpu_dtype(dtype);
  return info.Env().Undefined();
}

// Leaving the outermost autocast region frees its cache of cast weights.
Napi::Value AutocastNesting(const Napi::CallbackInfo& info) {
  int64_t delta = IntArg(info, 0);
  int level = delta > 0 ? at::autocast::increment_nesting() : at::autocast::decrement_nesting();
  if (delta < 0 && level == 0) at::autocast::clear_cache();
  return Napi::Number::New(info.Env(), level);
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  Export<BuildInfo>(env, exports, "buildInfo");
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<GetRngState>(env, exports, "getRngState");
  Export<SetRngState>(env, exports, "setRngState");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
  Export<AutocastState>(env, exports, "autocastState");
  Export<SetAutocast>(env, exports, "setAutocast");
  Export<AutocastNesting>(env, exports, "autocastNesting");
}

}  // namespace skipstudio
