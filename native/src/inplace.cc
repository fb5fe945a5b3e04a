// In-place updates and libtorch's multi-tensor _foreach_ kernels, so that an
// optimizer step is a handful of native calls rather than one per parameter.
#include "handles.h"

namespace skipstudio {

namespace {

at::Scalar ScalarOr(const Napi::CallbackInfo& info, size_t i, double fallback) {
  return IsMissing(info, i) ? ToScalar(fallback) : ScalarArg(info, i);
}

Napi::Value Add_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  if (IsScalar(info, 1)) t.add_(ScalarArg(info, 1), ScalarOr(info, 2, 1));
  else t.add_(TensorArg(info, 1), ScalarOr(info, 2, 1));
  return info.Env().Undefined();
}

Napi::Value Sub_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  if (IsScalar(info, 1)) t.sub_(ScalarArg(info, 1), ScalarOr(info, 2, 1));
  else t.sub_(TensorArg(info, 1), ScalarOr(info, 2, 1));
  return info.Env().Undefined();
}

Napi::Value Mul_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  if (IsScalar(info, 1)) t.mul_(ScalarArg(info, 1));
  else t.mul_(TensorArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value Div_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  if (IsScalar(info, 1)) t.div_(ScalarArg(info, 1));
  else t.div_(TensorArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value Addcmul_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.addcmul_(TensorArg(info, 1), TensorArg(info, 2), ScalarOr(info, 3, 1));
  return info.Env().Undefined();
}

Napi::Value Addcdiv_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.addcdiv_(TensorArg(info, 1), TensorArg(info, 2), ScalarOr(info, 3, 1));
  return info.Env().Undefined();
}

Napi::Value Copy_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.copy_(TensorArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value Zero_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.zero_();
  return info.Env().Undefined();
}

Napi::Value Fill_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.fill_(ScalarArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value Clamp_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  c10::optional<at::Scalar> lo, hi;
  if (!IsMissing(info, 1)) lo = ScalarArg(info, 1);
  if (!IsMissing(info, 2)) hi = ScalarArg(info, 2);
  t.clamp_(lo, hi);
  return info.Env().Undefined();
}

// Fills a tensor from U(low, high) or N(mean, std) in place, for initialisers.
Napi::Value Uniform_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.uniform_(NumberArg(info, 1), NumberArg(info, 2));
  return info.Env().Undefined();
}

Napi::Value Normal_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.normal_(NumberArg(info, 1), NumberArg(info, 2));
  return info.Env().Undefined();
}

// _foreach_ forms: (list, list | scalar, alpha?)
Napi::Value ForeachAdd_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  if (IsScalar(info, 1)) at::_foreach_add_(self, ScalarArg(info, 1));
  else at::_foreach_add_(self, TensorListArg(info, 1), ScalarOr(info, 2, 1));
  return info.Env().Undefined();
}

// Out of place: [self[i] + alpha * other[i]], leaving the inputs untouched.
Napi::Value ForeachAdd(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::_foreach_add(TensorListArg(info, 0), TensorListArg(info, 1), ScalarOr(info, 2, 1)));
}

Napi::Value ForeachMul_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  if (IsScalar(info, 1)) at::_foreach_mul_(self, ScalarArg(info, 1));
  else at::_foreach_mul_(self, TensorListArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value ForeachDiv_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  if (IsScalar(info, 1)) at::_foreach_div_(self, ScalarArg(info, 1));
  else at::_foreach_div_(self, TensorListArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value ForeachAddcmul_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  at::_foreach_addcmul_(self, TensorListArg(info, 1), TensorListArg(info, 2), ScalarOr(info, 3, 1));
  return info.Env().Undefined();
}

Napi::Value ForeachAddcdiv_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  at::_foreach_addcdiv_(self, TensorListArg(info, 1), TensorListArg(info, 2), ScalarOr(info, 3, 1));
  return info.Env().Undefined();
}

Napi::Value ForeachZero_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  at::_foreach_zero_(self);
  return info.Env().Undefined();
}

Napi::Value ForeachCopy_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  auto src = TensorListArg(info, 1);
  if (self.size() != src.size()) throw Napi::RangeError::New(info.Env(), "foreachCopy_: the lists differ in length");
  for (size_t k = 0; k < self.size(); ++k) self[k].copy_(src[k]);
  return info.Env().Undefined();
}

Napi::Value ForeachSqrt(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::_foreach_sqrt(TensorListArg(info, 0)));
}

Napi::Value ForeachMaximum_(const Napi::CallbackInfo& info) {
  auto self = TensorListArg(info, 0);
  auto other = TensorListArg(info, 1);
  if (self.size() != other.size()) throw Napi::RangeError::New(info.Env(), "foreachMaximum_: the lists differ in length");
  for (size_t k = 0; k < self.size(); ++k) at::maximum_out(self[k], self[k], other[k]);
  return info.Env().Undefined();
}

Napi::Value ForeachNorm(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::_foreach_norm(TensorListArg(info, 0), ScalarOr(info, 1, 2)));
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_INPLACE_OPS(X)     \
  X(Add_, add_)                       \
  X(Sub_, sub_)                       \
  X(Mul_, mul_)                       \
  X(Div_, div_)                       \
  X(Addcmul_, addcmul_)               \
  X(Addcdiv_, addcdiv_)               \
  X(Copy_, copy_)                     \
  X(Zero_, zero_)                     \
  X(Fill_, fill_)                     \
  X(Clamp_, clamp_)                   \
  X(Uniform_, uniform_)               \
  X(Normal_, normal_)                 \
  X(ForeachAdd_, foreachAdd_)         \
  X(ForeachAdd, foreachAdd)           \
  X(ForeachMul_, foreachMul_)         \
  X(ForeachDiv_, foreachDiv_)         \
  X(ForeachAddcmul_, foreachAddcmul_) \
  X(ForeachAddcdiv_, foreachAddcdiv_) \
  X(ForeachZero_, foreachZero_)       \
  X(ForeachCopy_, foreachCopy_)       \
  X(ForeachSqrt, foreachSqrt)         \
  X(ForeachMaximum_, foreachMaximum_) \
  X(ForeachNorm, foreachNorm)

SKIPSTUDIO_DEFINE_REGISTER(Inplace, SKIPSTUDIO_INPLACE_OPS)

}  // namespace skipstudio
