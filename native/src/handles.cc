// Tensor handles: wrapping, disposal, external-memory accounting, argument
// readers and the inspection ops (shape, dtype, data copies).
#include "handles.h"

#include <atomic>
#include <cmath>
#include <cstring>

namespace skipstudio {

namespace {

// Tags our Externals so that a foreign External is rejected, not dereferenced.
const napi_type_tag kTensorTag = {0x5b1f0c3a2e7d4e61ULL, 0x9a4c3b2d1e0f8a71ULL};

int64_t g_liveTensors = 0;
int64_t g_liveBytes = 0;
// While a JS scope is open its tensors are freed deterministically when it
// closes, so their bytes are not reported to V8: reporting them would make V8
// run garbage collections that compete with libtorch for the cores. A tensor
// that escapes to the top level is reported then (ReportMemory).
bool g_scopeActive = false;

int64_t BytesOf(const at::Tensor& t) {
  if (!t.defined()) return 0;
  if (t.has_storage()) return static_cast<int64_t>(t.storage().nbytes());
  return t.numel() * static_cast<int64_t>(t.element_size());
}

void Report(Napi::Env env, TensorBox* box) {
  if (box->reportedBytes != 0 || !box->tensor.defined()) return;
  box->reportedBytes = BytesOf(box->tensor);
  if (box->reportedBytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->reportedBytes);
}

void Release(Napi::Env env, TensorBox* box) {
  if (!box->tensor.defined()) return;
  g_liveTensors -= 1;
  g_liveBytes -= box->liveBytes;
  if (box->reportedBytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -box->reportedBytes);
  box->tensor = at::Tensor();
  box->reportedBytes = 0;
  box->liveBytes = 0;
}

std::string OpName(const Napi::CallbackInfo& info) {
  const char* name = static_cast<const char*>(info.Data());
  return name ? std::string(name) + ": " : std::string();
}

Napi::TypeError ArgError(const Napi::CallbackInfo& info, size_t i, const std::string& what) {
  return Napi::TypeError::New(info.Env(), OpName(info) + "argument " + std::to_string(i) + " must be " + what);
}

}  // namespace

Napi::Value Wrap(Napi::Env env, at::Tensor tensor) {
  auto* box = new TensorBox{std::move(tensor), 0, 0};
  box->liveBytes = BytesOf(box->tensor);
  g_liveTensors += 1;
  g_liveBytes += box->liveBytes;
  // Reporting native bytes lets V8 collect forgotten handles under memory pressure.
  if (!g_scopeActive) Report(env, box);
  auto external = Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    Release(env, b);
    delete b;
  });
  external.TypeTag(&kTensorTag);
  return external;
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto array = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    array.Set(static_cast<uint32_t>(i), WrapOptional(env, tensors[i]));
  }
  return array;
}

Napi::Value WrapOptional(Napi::Env env, const at::Tensor& tensor) {
  if (!tensor.defined()) return env.Undefined();
  return Wrap(env, tensor);
}

void Dispose(Napi::Env env, TensorBox* box) { Release(env, box); }

int64_t LiveTensorCount() { return g_liveTensors; }
int64_t LiveTensorBytes() { return g_liveBytes; }

bool IsMissing(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

TensorBox* BoxArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsExternal()) throw ArgError(info, i, "a tensor handle");
  auto external = info[i].As<Napi::External<TensorBox>>();
  if (!external.CheckTypeTag(&kTensorTag)) throw ArgError(info, i, "a tensor handle");
  return external.Data();
}

const at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i) {
  TensorBox* box = BoxArg(info, i);
  if (!box->tensor.defined()) {
    throw Napi::TypeError::New(info.Env(), OpName(info) + "argument " + std::to_string(i) +
                                              " is a disposed tensor (it was freed by dispose() or a scope)");
  }
  return box->tensor;
}

c10::optional<at::Tensor> OptionalTensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return TensorArg(info, i);
}

std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(info, i, "an array of tensor handles");
  auto array = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array[k];
    if (!v.IsExternal()) throw ArgError(info, i, "an array of tensor handles");
    auto external = v.As<Napi::External<TensorBox>>();
    if (!external.CheckTypeTag(&kTensorTag)) throw ArgError(info, i, "an array of tensor handles");
    if (!external.Data()->tensor.defined()) {
      throw Napi::TypeError::New(info.Env(), OpName(info) + "argument " + std::to_string(i) + " holds a disposed tensor");
    }
    out.push_back(external.Data()->tensor);
  }
  return out;
}

std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(info, i, "an array of integers");
  auto array = info[i].As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array[k];
    if (!v.IsNumber()) throw ArgError(info, i, "an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) throw ArgError(info, i, "an array of integers");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

double NumberArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError(info, i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> OptionalNumberArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return NumberArg(info, i);
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i) {
  double d = NumberArg(info, i);
  if (!std::isfinite(d) || std::floor(d) != d) throw ArgError(info, i, "an integer");
  return static_cast<int64_t>(d);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean()) throw ArgError(info, i, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throw ArgError(info, i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

at::ScalarType DtypeArg(const Napi::CallbackInfo& info, size_t i) {
  int64_t code = IntArg(info, i);
  switch (static_cast<at::ScalarType>(code)) {
    case at::kByte: case at::kChar: case at::kShort: case at::kInt: case at::kLong:
    case at::kHalf: case at::kFloat: case at::kDouble: case at::kBool: case at::kBFloat16:
      return static_cast<at::ScalarType>(code);
    default:
      throw Napi::RangeError::New(info.Env(), OpName(info) + "argument " + std::to_string(i) + " is not a supported dtype code");
  }
}

c10::optional<at::ScalarType> OptionalDtypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return DtypeArg(info, i);
}

at::TensorOptions OptionsArg(const Napi::CallbackInfo& info, size_t dtypeIndex, size_t deviceIndex) {
  at::TensorOptions options = at::TensorOptions().dtype(DtypeArg(info, dtypeIndex));
  if (!IsMissing(info, deviceIndex)) options = options.device(c10::Device(StringArg(info, deviceIndex)));
  return options;
}

at::Scalar ToScalar(double value) {
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 9007199254740992.0) {
    return at::Scalar(static_cast<int64_t>(value));
  }
  return at::Scalar(value);
}

at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  return ToScalar(NumberArg(info, i));
}

namespace {

Napi::Value DisposeOp(const Napi::CallbackInfo& info) {
  Dispose(info.Env(), BoxArg(info, 0));
  return info.Env().Undefined();
}

Napi::Value SetScopeActive(const Napi::CallbackInfo& info) {
  g_scopeActive = BoolArg(info, 0);
  return info.Env().Undefined();
}

Napi::Value ReportMemory(const Napi::CallbackInfo& info) {
  Report(info.Env(), BoxArg(info, 0));
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !BoxArg(info, 0)->tensor.defined());
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("tensors", Napi::Number::New(info.Env(), static_cast<double>(g_liveTensors)));
  out.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(g_liveBytes)));
  return out;
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  auto sizes = t.sizes();
  auto array = Napi::Array::New(info.Env(), sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) array.Set(static_cast<uint32_t>(k), static_cast<double>(sizes[k]));
  return array;
}

Napi::Value Strides(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  auto strides = t.strides();
  auto array = Napi::Array::New(info.Env(), strides.size());
  for (size_t k = 0; k < strides.size(); ++k) array.Set(static_cast<uint32_t>(k), static_cast<double>(strides[k]));
  return array;
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(TensorArg(info, 0).scalar_type()));
}

Napi::Value Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TensorArg(info, 0).device().str());
}

Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(TensorArg(info, 0).numel()));
}

Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  bool channelsLast = !IsMissing(info, 1) && BoolArg(info, 1);
  return Napi::Boolean::New(
      info.Env(), t.is_contiguous(channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TensorArg(info, 0).requires_grad());
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TensorArg(info, 0).is_leaf());
}

// Copies the elements out in logical (row-major) order. Unless raw bytes are
// asked for (serialisation), half-precision types come out as float32 and
// bool as uint8, since JS has no typed arrays for them.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  at::Tensor t = TensorArg(info, 0).detach();
  bool raw = !IsMissing(info, 1) && BoolArg(info, 1);
  if (!raw && (t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf)) t = t.to(at::kFloat);
  if (!raw && t.scalar_type() == at::kBool) t = t.to(at::kByte);
  t = t.to(at::kCPU).contiguous();
  size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  auto buffer = Napi::ArrayBuffer::New(info.Env(), nbytes);
  if (nbytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), nbytes);
  return buffer;
}

// Builds a tensor from a typed array whose element size matches the dtype.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw ArgError(info, 0, "a typed array");
  auto array = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = IntListArg(info, 1);
  at::ScalarType dtype = DtypeArg(info, 2);
  for (int64_t s : shape) {
    if (s < 0) throw Napi::RangeError::New(info.Env(), "fromBuffer: negative size in shape");
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  size_t expected = static_cast<size_t>(t.numel()) * t.element_size();
  if (array.ByteLength() != expected) {
    throw Napi::RangeError::New(info.Env(), "fromBuffer: " + std::to_string(array.ByteLength()) +
                                                " bytes of data do not fill shape " + c10::str(t.sizes()) + " (" +
                                                std::to_string(expected) + " bytes)");
  }
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  if (expected > 0) std::memcpy(t.data_ptr(), data, expected);
  if (!IsMissing(info, 3)) t = t.to(c10::Device(StringArg(info, 3)));
  return Wrap(info.Env(), t);
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  const at::Tensor& t = TensorArg(info, 0);
  if (t.numel() != 1) {
    throw Napi::RangeError::New(info.Env(), "item: a tensor with " + std::to_string(t.numel()) +
                                                " elements cannot be converted to a number");
  }
  return Napi::Number::New(info.Env(), t.item().toDouble());
}

// Renders values the way PyTorch prints them; used by Tensor.toString().
Napi::Value Format(const Napi::CallbackInfo& info) {
  std::ostringstream out;
  at::print(out, TensorArg(info, 0), 80);
  return Napi::String::New(info.Env(), out.str());
}

}  // namespace

void RegisterHandles(Napi::Env env, Napi::Object exports) {
  Export<DisposeOp>(env, exports, "dispose");
  Export<IsDisposed>(env, exports, "isDisposed");
  Export<SetScopeActive>(env, exports, "setScopeActive");
  Export<ReportMemory>(env, exports, "reportMemory");
  Export<Stats>(env, exports, "stats");
  Export<Shape>(env, exports, "shape");
  Export<Strides>(env, exports, "strides");
  Export<Dtype>(env, exports, "dtype");
  Export<Device>(env, exports, "device");
  Export<Numel>(env, exports, "numel");
  Export<IsContiguous>(env, exports, "isContiguous");
  Export<RequiresGrad>(env, exports, "requiresGrad");
  Export<IsLeaf>(env, exports, "isLeaf");
  Export<ToBuffer>(env, exports, "toBuffer");
  Export<FromBuffer>(env, exports, "fromBuffer");
  Export<Item>(env, exports, "item");
  Export<Format>(env, exports, "format");
}

}  // namespace skipstudio
