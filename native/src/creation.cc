// Tensor factories. Shapes, dtypes and devices arrive already validated by
// the TypeScript layer; libtorch's own checks remain the last word.
#include "handles.h"

namespace skipstudio {

namespace {

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::zeros(IntListArg(info, 0), OptionsArg(info, 1, 2)));
}

Napi::Value Ones(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::ones(IntListArg(info, 0), OptionsArg(info, 1, 2)));
}

Napi::Value Empty(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::empty(IntListArg(info, 0), OptionsArg(info, 1, 2)));
}

Napi::Value Full(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::full(IntListArg(info, 0), ScalarArg(info, 1), OptionsArg(info, 2, 3)));
}

Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::arange(ScalarArg(info, 0), ScalarArg(info, 1), ScalarArg(info, 2), OptionsArg(info, 3, 4)));
}

Napi::Value Linspace(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linspace(ScalarArg(info, 0), ScalarArg(info, 1), IntArg(info, 2), OptionsArg(info, 3, 4)));
}

Napi::Value Eye(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::eye(IntArg(info, 0), IntArg(info, 1), OptionsArg(info, 2, 3)));
}

Napi::Value Rand(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::rand(IntListArg(info, 0), OptionsArg(info, 1, 2)));
}

Napi::Value Randn(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randn(IntListArg(info, 0), OptionsArg(info, 1, 2)));
}

Napi::Value Randint(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randint(IntArg(info, 0), IntArg(info, 1), IntListArg(info, 2), OptionsArg(info, 3, 4)));
}

Napi::Value Randperm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randperm(IntArg(info, 0), OptionsArg(info, 1, 2)));
}

at::TensorOptions LikeOptions(const Napi::CallbackInfo& info, const at::Tensor& like, size_t dtypeIndex) {
  at::TensorOptions options = like.options();
  if (auto dtype = OptionalDtypeArg(info, dtypeIndex)) options = options.dtype(*dtype);
  return options;
}

Napi::Value ZerosLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  return Wrap(info.Env(), at::zeros_like(t, LikeOptions(info, t, 1)));
}

Napi::Value OnesLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  return Wrap(info.Env(), at::ones_like(t, LikeOptions(info, t, 1)));
}

Napi::Value FullLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  return Wrap(info.Env(), at::full_like(t, ScalarArg(info, 1), LikeOptions(info, t, 2)));
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_CREATION_OPS(X) \
  X(Zeros, zeros)         \
  X(Ones, ones)           \
  X(Empty, empty)         \
  X(Full, full)           \
  X(Arange, arange)       \
  X(Linspace, linspace)   \
  X(Eye, eye)             \
  X(Rand, rand)           \
  X(Randn, randn)         \
  X(Randint, randint)     \
  X(Randperm, randperm)   \
  X(ZerosLike, zerosLike) \
  X(OnesLike, onesLike)   \
  X(FullLike, fullLike)

SKIPSTUDIO_DEFINE_REGISTER(Creation, SKIPSTUDIO_CREATION_OPS)

}  // namespace skipstudio
