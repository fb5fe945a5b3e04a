// Neural-network functions: convolution, normalisation, pooling, activations
// with a dimension, dropout and losses. Reductions arrive as libtorch's codes
// (0 none, 1 mean, 2 sum).
#include "handles.h"

namespace skipstudio {

namespace {

// (x, weight, bias?, stride[2], padding[2], dilation[2], groups)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::conv2d(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2),
                                     IntListArg(info, 3), IntListArg(info, 4), IntListArg(info, 5), IntArg(info, 6)));
}

// (x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::batch_norm(TensorArg(info, 0), OptionalTensorArg(info, 1), OptionalTensorArg(info, 2),
                                         OptionalTensorArg(info, 3), OptionalTensorArg(info, 4), BoolArg(info, 5),
                                         NumberArg(info, 6), NumberArg(info, 7), /*cudnn_enabled=*/true));
}

// (x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::max_pool2d(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2),
                                         IntListArg(info, 3), IntListArg(info, 4), BoolArg(info, 5)));
}

// (x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::avg_pool2d(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2),
                                         IntListArg(info, 3), BoolArg(info, 4), BoolArg(info, 5)));
}

Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::adaptive_avg_pool2d(TensorArg(info, 0), IntListArg(info, 1)));
}

Napi::Value Linear(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linear(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2)));
}

// (x, p, training)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::dropout(TensorArg(info, 0), NumberArg(info, 1), BoolArg(info, 2)));
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::softmax(TensorArg(info, 0), IntArg(info, 1)));
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::log_softmax(TensorArg(info, 0), IntArg(info, 1)));
}

// (logits, target, weight?, reduction, ignoreIndex, labelSmoothing)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cross_entropy_loss(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2),
                                                 IntArg(info, 3), IntArg(info, 4), NumberArg(info, 5)));
}

// (logProbs, target, weight?, reduction, ignoreIndex)
Napi::Value NllLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::nll_loss_nd(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2),
                                          IntArg(info, 3), IntArg(info, 4)));
}

Napi::Value MseLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::mse_loss(TensorArg(info, 0), TensorArg(info, 1), IntArg(info, 2)));
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::one_hot(TensorArg(info, 0), IntArg(info, 1)));
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_NN_OPS(X)              \
  X(Conv2d, conv2d)                       \
  X(BatchNorm, batchNorm)                 \
  X(MaxPool2d, maxPool2d)                 \
  X(AvgPool2d, avgPool2d)                 \
  X(AdaptiveAvgPool2d, adaptiveAvgPool2d) \
  X(Linear, linear)                       \
  X(Dropout, dropout)                     \
  X(Softmax, softmax)                     \
  X(LogSoftmax, logSoftmax)               \
  X(CrossEntropy, crossEntropy)           \
  X(NllLoss, nllLoss)                     \
  X(MseLoss, mseLoss)                     \
  X(OneHot, oneHot)

SKIPSTUDIO_DEFINE_REGISTER(NN, SKIPSTUDIO_NN_OPS)

}  // namespace skipstudio
