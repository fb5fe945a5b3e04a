// Views, layout changes, joining, indexing and conversions.
#include "handles.h"

namespace skipstudio {

namespace {

Napi::Value Reshape(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::reshape(TensorArg(info, 0), IntListArg(info, 1)));
}

Napi::Value View(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), TensorArg(info, 0).view(IntListArg(info, 1)));
}

Napi::Value Flatten(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::flatten(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2)));
}

Napi::Value Squeeze(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  if (IsMissing(info, 1)) return Wrap(info.Env(), at::squeeze(t));
  return Wrap(info.Env(), at::squeeze(t, IntArg(info, 1)));
}

Napi::Value Unsqueeze(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::unsqueeze(TensorArg(info, 0), IntArg(info, 1)));
}

Napi::Value Permute(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), TensorArg(info, 0).permute(IntListArg(info, 1)));
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::transpose(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2)));
}

// (tensor, channelsLast): channels-last is NHWC in memory, NCHW in shape.
Napi::Value Contiguous(const Napi::CallbackInfo& info) {
  bool channelsLast = !IsMissing(info, 1) && BoolArg(info, 1);
  return Wrap(info.Env(), TensorArg(info, 0).contiguous(channelsLast ? at::MemoryFormat::ChannelsLast
                                                                     : at::MemoryFormat::Contiguous));
}

Napi::Value Cat(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cat(TensorListArg(info, 0), IntArg(info, 1)));
}

Napi::Value Stack(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::stack(TensorListArg(info, 0), IntArg(info, 1)));
}

Napi::Value Narrow(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::narrow(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2), IntArg(info, 3)));
}

Napi::Value Select(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::select(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2)));
}

Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::index_select(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2)));
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::gather(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2)));
}

Napi::Value Expand(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), TensorArg(info, 0).expand(IntListArg(info, 1)));
}

Napi::Value Repeat(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), TensorArg(info, 0).repeat(IntListArg(info, 1)));
}

Napi::Value Flip(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::flip(TensorArg(info, 0), IntListArg(info, 1)));
}

// (tensor, pads as in torch.nn.functional.pad, value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::constant_pad_nd(TensorArg(info, 0), IntListArg(info, 1), ScalarArg(info, 2)));
}

// (tensor, dtype | undefined, device | undefined, copy)
Napi::Value To(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  at::ScalarType dtype = IsMissing(info, 1) ? t.scalar_type() : DtypeArg(info, 1);
  c10::Device device = IsMissing(info, 2) ? t.device() : c10::Device(StringArg(info, 2));
  bool copy = !IsMissing(info, 3) && BoolArg(info, 3);
  return Wrap(info.Env(), t.to(device, dtype, /*non_blocking=*/false, copy));
}

Napi::Value Clone(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::clone(TensorArg(info, 0)));
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_SHAPE_OPS(X) \
  X(Reshape, reshape)         \
  X(View, view)               \
  X(Flatten, flatten)         \
  X(Squeeze, squeeze)         \
  X(Unsqueeze, unsqueeze)     \
  X(Permute, permute)         \
  X(Transpose, transpose)     \
  X(Contiguous, contiguous)   \
  X(Cat, cat)                 \
  X(Stack, stack)             \
  X(Narrow, narrow)           \
  X(Select, select)           \
  X(IndexSelect, indexSelect) \
  X(Gather, gather)           \
  X(Expand, expand)           \
  X(Repeat, repeat)           \
  X(Flip, flip)               \
  X(Pad, pad)                 \
  X(To, to)                   \
  X(Clone, clone)

SKIPSTUDIO_DEFINE_REGISTER(Shape, SKIPSTUDIO_SHAPE_OPS)

}  // namespace skipstudio
