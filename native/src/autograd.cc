// Autograd: marking leaves, backward, reading and resetting gradients, and
// torch.autograd.grad for higher-level uses (gradient checks, penalties).
#include "handles.h"

namespace skipstudio {

namespace {

Napi::Value RequiresGrad_(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.requires_grad_(BoolArg(info, 1));
  return info.Env().Undefined();
}

// (tensor, gradient?, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  at::Tensor gradient = IsMissing(info, 1) ? at::Tensor() : TensorArg(info, 1);
  bool createGraph = BoolArg(info, 3);
  c10::optional<bool> retainGraph = BoolArg(info, 2) || createGraph;
  t.backward(gradient, retainGraph, createGraph);
  return info.Env().Undefined();
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  return WrapOptional(info.Env(), TensorArg(info, 0).grad());
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.mutable_grad() = IsMissing(info, 1) ? at::Tensor() : TensorArg(info, 1);
  return info.Env().Undefined();
}

// The .grad of each tensor in a list (undefined where none), in one call.
Napi::Value GradsOf(const Napi::CallbackInfo& info) {
  auto tensors = TensorListArg(info, 0);
  std::vector<at::Tensor> grads;
  grads.reserve(tensors.size());
  for (const auto& t : tensors) grads.push_back(t.grad());
  return WrapList(info.Env(), grads);
}

// Resets gradients like Optimizer.zero_grad(set_to_none).
Napi::Value ZeroGrads(const Napi::CallbackInfo& info) {
  auto tensors = TensorListArg(info, 0);
  bool setToNone = BoolArg(info, 1);
  for (auto& t : tensors) {
    at::Tensor& g = t.mutable_grad();
    if (!g.defined()) continue;
    if (setToNone) {
      g = at::Tensor();
    } else {
      if (g.grad_fn()) g = g.detach();
      else g.requires_grad_(false);
      g.zero_();
    }
  }
  return info.Env().Undefined();
}

// Replaces a tensor's data (dtype, device, layout) while keeping its identity
// and autograd flags, as PyTorch's Module.to() does to parameters.
Napi::Value SetData(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0);
  t.set_data(TensorArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value Detach(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), TensorArg(info, 0).detach());
}

// (outputs[], inputs[], gradOutputs[] | undefined, retainGraph, createGraph, allowUnused)
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  auto outputs = TensorListArg(info, 0);
  auto inputs = TensorListArg(info, 1);
  std::vector<at::Tensor> gradOutputs;
  if (!IsMissing(info, 2)) gradOutputs = TensorListArg(info, 2);
  bool createGraph = BoolArg(info, 4);
  c10::optional<bool> retainGraph = BoolArg(info, 3) || createGraph;
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retainGraph, createGraph, BoolArg(info, 5));
  return WrapList(info.Env(), grads);
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_AUTOGRAD_OPS(X) \
  X(RequiresGrad_, requiresGrad_) \
  X(Backward, backward)           \
  X(Grad, grad)                   \
  X(SetGrad, setGrad)             \
  X(GradsOf, gradsOf)             \
  X(ZeroGrads, zeroGrads)         \
  X(SetData, setData)             \
  X(Detach, detach)               \
  X(AutogradGrad, autogradGrad)

SKIPSTUDIO_DEFINE_REGISTER(Autograd, SKIPSTUDIO_AUTOGRAD_OPS)

}  // namespace skipstudio
