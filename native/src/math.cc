// Elementwise math, comparisons, matrix products and reductions.
// Binary ops take a tensor or a JS number as their second operand.
#include "handles.h"

namespace skipstudio {

namespace {

// Expands to an op whose second operand `b` is a Scalar or a Tensor, so one
// expression serves both libtorch overloads.
#define SS_BINARY(Fn, expr)                                   \
  Napi::Value Fn(const Napi::CallbackInfo& info) {            \
    const at::Tensor& a = TensorArg(info, 0);                 \
    if (IsScalar(info, 1)) {                                  \
      at::Scalar b = ScalarArg(info, 1);                      \
      return Wrap(info.Env(), expr);                          \
    }                                                         \
    const at::Tensor& b = TensorArg(info, 1);                 \
    return Wrap(info.Env(), expr);                            \
  }

#define SS_UNARY(Fn, expr)                         \
  Napi::Value Fn(const Napi::CallbackInfo& info) { \
    const at::Tensor& a = TensorArg(info, 0);      \
    return Wrap(info.Env(), expr);                 \
  }

at::Scalar Alpha(const Napi::CallbackInfo& info, size_t i) {
  return IsMissing(info, i) ? at::Scalar(1) : ScalarArg(info, i);
}

SS_BINARY(Add, at::add(a, b, Alpha(info, 2)))
SS_BINARY(Sub, at::sub(a, b, Alpha(info, 2)))
SS_BINARY(Mul, at::mul(a, b))
SS_BINARY(Div, at::div(a, b))
SS_BINARY(Pow, at::pow(a, b))
SS_BINARY(Eq, at::eq(a, b))
SS_BINARY(Ne, at::ne(a, b))
SS_BINARY(Lt, at::lt(a, b))
SS_BINARY(Le, at::le(a, b))
SS_BINARY(Gt, at::gt(a, b))
SS_BINARY(Ge, at::ge(a, b))
SS_BINARY(Remainder, at::remainder(a, b))

Napi::Value Maximum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::maximum(TensorArg(info, 0), TensorArg(info, 1)));
}
Napi::Value Minimum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::minimum(TensorArg(info, 0), TensorArg(info, 1)));
}
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::matmul(TensorArg(info, 0), TensorArg(info, 1)));
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  const at::Tensor& condition = TensorArg(info, 0);
  bool aScalar = IsScalar(info, 1), bScalar = IsScalar(info, 2);
  if (aScalar && bScalar) return Wrap(info.Env(), at::where(condition, ScalarArg(info, 1), ScalarArg(info, 2)));
  if (aScalar) return Wrap(info.Env(), at::where(condition, ScalarArg(info, 1), TensorArg(info, 2)));
  if (bScalar) return Wrap(info.Env(), at::where(condition, TensorArg(info, 1), ScalarArg(info, 2)));
  return Wrap(info.Env(), at::where(condition, TensorArg(info, 1), TensorArg(info, 2)));
}

SS_UNARY(Neg, at::neg(a))
SS_UNARY(Abs, at::abs(a))
SS_UNARY(Exp, at::exp(a))
SS_UNARY(Log, at::log(a))
SS_UNARY(Sqrt, at::sqrt(a))
SS_UNARY(Rsqrt, at::rsqrt(a))
SS_UNARY(Sigmoid, at::sigmoid(a))
SS_UNARY(Tanh, at::tanh(a))
SS_UNARY(Relu, at::relu(a))
SS_UNARY(Square, at::square(a))
SS_UNARY(Sign, at::sign(a))
SS_UNARY(Floor, at::floor(a))
SS_UNARY(Isnan, at::isnan(a))
SS_UNARY(Isfinite, at::isfinite(a))
SS_UNARY(LogicalNot, at::logical_not(a))
SS_UNARY(Gelu, at::gelu(a, IsMissing(info, 1) ? "none" : StringArg(info, 1)))
SS_UNARY(LeakyRelu, at::leaky_relu(a, ScalarArg(info, 1)))

Napi::Value Clamp(const Napi::CallbackInfo& info) {
  c10::optional<at::Scalar> lo, hi;
  if (!IsMissing(info, 1)) lo = ScalarArg(info, 1);
  if (!IsMissing(info, 2)) hi = ScalarArg(info, 2);
  return Wrap(info.Env(), at::clamp(TensorArg(info, 0), lo, hi));
}

// Reductions take (tensor, dims | undefined, keepdim).
c10::optional<std::vector<int64_t>> DimsArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return IntListArg(info, i);
}

Napi::Value Sum(const Napi::CallbackInfo& info) {
  const at::Tensor& a = TensorArg(info, 0);
  auto dims = DimsArg(info, 1);
  auto dtype = OptionalDtypeArg(info, 3);
  if (!dims) return Wrap(info.Env(), at::sum(a, dtype));
  return Wrap(info.Env(), at::sum(a, *dims, BoolArg(info, 2), dtype));
}

Napi::Value Mean(const Napi::CallbackInfo& info) {
  const at::Tensor& a = TensorArg(info, 0);
  auto dims = DimsArg(info, 1);
  if (!dims) return Wrap(info.Env(), at::mean(a));
  return Wrap(info.Env(), at::mean(a, *dims, BoolArg(info, 2)));
}

Napi::Value Max(const Napi::CallbackInfo& info) {
  const at::Tensor& a = TensorArg(info, 0);
  if (IsMissing(info, 1)) return Wrap(info.Env(), at::max(a));
  return Wrap(info.Env(), std::get<0>(at::max(a, IntArg(info, 1), BoolArg(info, 2))));
}

Napi::Value Min(const Napi::CallbackInfo& info) {
  const at::Tensor& a = TensorArg(info, 0);
  if (IsMissing(info, 1)) return Wrap(info.Env(), at::min(a));
  return Wrap(info.Env(), std::get<0>(at::min(a, IntArg(info, 1), BoolArg(info, 2))));
}

Napi::Value Argmax(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim;
  if (!IsMissing(info, 1)) dim = IntArg(info, 1);
  return Wrap(info.Env(), at::argmax(TensorArg(info, 0), dim, BoolArg(info, 2)));
}

Napi::Value Argmin(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim;
  if (!IsMissing(info, 1)) dim = IntArg(info, 1);
  return Wrap(info.Env(), at::argmin(TensorArg(info, 0), dim, BoolArg(info, 2)));
}

// (tensor, dims | undefined, correction, keepdim)
Napi::Value Std(const Napi::CallbackInfo& info) {
  auto dims = DimsArg(info, 1);
  at::OptionalIntArrayRef dimRef = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  return Wrap(info.Env(), at::std(TensorArg(info, 0), dimRef, IntArg(info, 2), BoolArg(info, 3)));
}

Napi::Value Var(const Napi::CallbackInfo& info) {
  auto dims = DimsArg(info, 1);
  at::OptionalIntArrayRef dimRef = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  return Wrap(info.Env(), at::var(TensorArg(info, 0), dimRef, IntArg(info, 2), BoolArg(info, 3)));
}

// (tensor, p, dims | undefined, keepdim)
Napi::Value Norm(const Napi::CallbackInfo& info) {
  auto dims = DimsArg(info, 2);
  at::Scalar p = ScalarArg(info, 1);
  if (!dims) return Wrap(info.Env(), at::norm(TensorArg(info, 0), p));
  return Wrap(info.Env(), at::norm(TensorArg(info, 0), p, *dims, BoolArg(info, 3)));
}

Napi::Value AllClose(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::allclose(TensorArg(info, 0), TensorArg(info, 1), NumberArg(info, 2),
                                                     NumberArg(info, 3), BoolArg(info, 4)));
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_MATH_OPS(X) \
  X(Add, add)               \
  X(Sub, sub)               \
  X(Mul, mul)               \
  X(Div, div)               \
  X(Pow, pow)               \
  X(Remainder, remainder)   \
  X(Eq, eq)                 \
  X(Ne, ne)                 \
  X(Lt, lt)                 \
  X(Le, le)                 \
  X(Gt, gt)                 \
  X(Ge, ge)                 \
  X(Maximum, maximum)       \
  X(Minimum, minimum)       \
  X(Matmul, matmul)         \
  X(Where, where)           \
  X(Neg, neg)               \
  X(Abs, abs)               \
  X(Exp, exp)               \
  X(Log, log)               \
  X(Sqrt, sqrt)             \
  X(Rsqrt, rsqrt)           \
  X(Sigmoid, sigmoid)       \
  X(Tanh, tanh)             \
  X(Relu, relu)             \
  X(Square, square)         \
  X(Sign, sign)             \
  X(Floor, floor)           \
  X(Isnan, isnan)           \
  X(Isfinite, isfinite)     \
  X(LogicalNot, logicalNot) \
  X(Gelu, gelu)             \
  X(LeakyRelu, leakyRelu)   \
  X(Clamp, clamp)           \
  X(Sum, sum)               \
  X(Mean, mean)             \
  X(Max, max)               \
  X(Min, min)               \
  X(Argmax, argmax)         \
  X(Argmin, argmin)         \
  X(Std, std)               \
  X(Var, var)               \
  X(Norm, norm)             \
  X(AllClose, allclose)

SKIPSTUDIO_DEFINE_REGISTER(Math, SKIPSTUDIO_MATH_OPS)

}  // namespace skipstudio
