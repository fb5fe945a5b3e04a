// Tensor handles: wrapping, disposal, external-memory accounting, argument
// readers and the inspection ops (shape, dtype, data copies).
#include "handles.h"

#include <sys/mman.h>

#include <cmath>
#include <cstring>
#include <new>

namespace skipstudio {

namespace {

int64_t g_liveTensors = 0;
int64_t g_liveBytes = 0;

int64_t BytesOf(const at::Tensor& t) {
  if (!t.defined()) return 0;
  if (t.has_storage()) return static_cast<int64_t>(t.storage().nbytes());
  return t.numel() * static_cast<int64_t>(t.element_size());
}

// The table of boxes. A handle is (generation << 32 | index); a box's
// generation moves on when its tensor is freed, so a stale handle (disposed, or
// its slot reused since) is told apart from a live one without keeping
// anything alive for it. Slots come from pages of their own (mmap), handed out
// again LIFO, so the table never puts small objects between tensor blocks in
// malloc's heap. Only the JS thread uses it (GC finalizers run on it too).
class BoxTable {
 public:
  static constexpr uint32_t kChunkSlots = 1u << 16;

  TensorBox* Lookup(uint64_t handle) const {
    uint32_t index = static_cast<uint32_t>(handle);
    uint32_t chunk = index / kChunkSlots;
    if (chunk >= chunks_.size()) return nullptr;
    TensorBox* box = chunks_[chunk] + index % kChunkSlots;
    if (index >= used_ || box->generation != static_cast<uint32_t>(handle >> 32)) return nullptr;
    return box;
  }

  uint64_t New(at::Tensor tensor, TensorBox** out) {
    uint32_t index;
    if (free_ != kNone) {
      index = free_;
      free_ = At(index)->nextFree;
    } else {
      if (used_ == chunks_.size() * kChunkSlots) Grow();
      index = used_++;
      At(index)->index = index;
      At(index)->generation = 1;
    }
    TensorBox* box = At(index);
    new (&box->tensor) at::Tensor(std::move(tensor));
    box->reportedBytes = 0;
    box->liveBytes = 0;
    box->tracked = false;
    *out = box;
    return (static_cast<uint64_t>(box->generation) << 32) | index;
  }

  // Frees the slot: its handle goes stale.
  void Delete(TensorBox* box) {
    box->tensor.~Tensor();
    box->generation = box->generation == UINT32_MAX ? 1 : box->generation + 1;
    box->nextFree = free_;
    free_ = box->index;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  TensorBox* At(uint32_t index) const { return chunks_[index / kChunkSlots] + index % kChunkSlots; }

  void Grow() {
    if (chunks_.size() * kChunkSlots >= kNone - kChunkSlots) throw std::bad_alloc();
    // Untouched slots cost no memory: pages are mapped on first use.
    void* page = mmap(nullptr, sizeof(TensorBox) * kChunkSlots, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) throw std::bad_alloc();
    chunks_.push_back(static_cast<TensorBox*>(page));
  }

  std::vector<TensorBox*> chunks_;
  uint32_t used_ = 0;
  uint32_t free_ = kNone;
};

BoxTable g_boxes;

// What a tracked tensor costs natively besides its data (TensorImpl,
// StorageImpl, the napi_wrap record, malloc's headers), so that V8 also
// collects forgotten small tensors before they add up.
constexpr int64_t kTrackedOverheadBytes = 512;

void Report(Napi::Env env, TensorBox* box) {
  if (box->reportedBytes != 0) return;
  box->reportedBytes = BytesOf(box->tensor) + kTrackedOverheadBytes;
  Napi::MemoryManagement::AdjustExternalMemory(env, box->reportedBytes);
}

// Frees the tensor and its slot. Callable from a GC finalizer: it only frees
// C++ memory and lowers V8's external-memory count, which Node-API allows there.
void Release(node_api_basic_env env, TensorBox* box) {
  g_liveTensors -= 1;
  g_liveBytes -= box->liveBytes;
  if (box->reportedBytes != 0) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -box->reportedBytes, &adjusted);
  }
  g_boxes.Delete(box);
  KeepTensorCacheSwept();
}

// The finalizer of a tracked tensor's JS object: a basic finalizer, run during
// the garbage collection that found the object unreachable (see handles.h), so
// forgotten tensors are freed inside synchronous code too.
void FinalizeTracked(node_api_basic_env env, void* data, void* /*hint*/) {
  TensorBox* box = g_boxes.Lookup(reinterpret_cast<uintptr_t>(data));
  if (box != nullptr) Release(env, box);
}

uint64_t HandleValue(const Napi::Value& value, bool* ok) {
  *ok = false;
  if (!value.IsBigInt()) return 0;
  bool lossless = false;
  uint64_t handle = value.As<Napi::BigInt>().Uint64Value(&lossless);
  *ok = lossless;
  return handle;
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
  TensorBox* box = nullptr;
  uint64_t handle = g_boxes.New(std::move(tensor), &box);
  box->liveBytes = BytesOf(box->tensor);
  g_liveTensors += 1;
  g_liveBytes += box->liveBytes;
  try {
    return Napi::BigInt::New(env, handle);
  } catch (...) {
    Release(env, box);
    throw;
  }
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

void Track(Napi::Env env, Napi::Object owner, TensorBox* box, uint64_t handle) {
  if (box->tracked) return;
  napi_status status = napi_wrap(env, owner, reinterpret_cast<void*>(static_cast<uintptr_t>(handle)),
                                 FinalizeTracked, nullptr, nullptr);
  NAPI_THROW_IF_FAILED_VOID(env, status);
  box->tracked = true;
  Report(env, box);
}

int64_t LiveTensorCount() { return g_liveTensors; }
int64_t LiveTensorBytes() { return g_liveBytes; }

bool IsMissing(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

bool IsScalar(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && (info[i].IsNumber() || info[i].IsBoolean());
}

namespace {

// The box of a live handle; for a stale one, nullptr with *stale set.
TensorBox* FindBox(const Napi::CallbackInfo& info, size_t i, bool* stale) {
  bool ok = false;
  uint64_t handle = i < info.Length() ? HandleValue(info[i], &ok) : 0;
  if (!ok) throw ArgError(info, i, "a tensor handle");
  TensorBox* box = g_boxes.Lookup(handle);
  *stale = box == nullptr;
  return box;
}

Napi::TypeError DisposedError(const Napi::CallbackInfo& info, size_t i) {
  return Napi::TypeError::New(info.Env(), OpName(info) + "argument " + std::to_string(i) +
                                              " is a disposed tensor (it was freed by dispose() or a scope)");
}

}  // namespace

TensorBox* BoxArg(const Napi::CallbackInfo& info, size_t i) {
  bool stale = false;
  TensorBox* box = FindBox(info, i, &stale);
  if (stale) throw DisposedError(info, i);
  return box;
}

at::Tensor TensorArg(const Napi::CallbackInfo& info, size_t i) { return BoxArg(info, i)->tensor; }

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
    bool ok = false;
    uint64_t handle = HandleValue(array[k], &ok);
    if (!ok) throw ArgError(info, i, "an array of tensor handles");
    TensorBox* box = g_boxes.Lookup(handle);
    if (box == nullptr) {
      throw Napi::TypeError::New(info.Env(), OpName(info) + "argument " + std::to_string(i) + " holds a disposed tensor");
    }
    out.push_back(box->tensor);
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

// (handle, owner?): frees the tensor now; owner is the JS object that track()
// tied to it, whose GC hook is removed with it. A stale handle is a no-op.
Napi::Value DisposeOp(const Napi::CallbackInfo& info) {
  bool stale = false;
  TensorBox* box = FindBox(info, 0, &stale);
  if (stale) return info.Env().Undefined();
  if (box->tracked) {
    if (IsMissing(info, 1) || !info[1].IsObject()) throw ArgError(info, 1, "the tensor's tracked owner");
    void* data = nullptr;
    napi_status status = napi_remove_wrap(info.Env(), info[1], &data);
    NAPI_THROW_IF_FAILED(info.Env(), status, info.Env().Undefined());
  }
  Dispose(info.Env(), box);
  return info.Env().Undefined();
}

// (owner, handle): from now on the GC frees the tensor when it collects owner
// (its JS Tensor), and V8 is told of its bytes so that it collects under
// memory pressure. Tensors inside a scope are not tracked: the scope frees
// them, and telling V8 would make it collect garbage on the cores libtorch uses.
Napi::Value TrackOp(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) throw ArgError(info, 0, "an object");
  bool ok = false;
  uint64_t handle = info.Length() > 1 ? HandleValue(info[1], &ok) : 0;
  if (!ok) throw ArgError(info, 1, "a tensor handle");
  TensorBox* box = g_boxes.Lookup(handle);
  if (box != nullptr) Track(info.Env(), info[0].As<Napi::Object>(), box, handle);
  return info.Env().Undefined();
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("tensors", Napi::Number::New(info.Env(), static_cast<double>(g_liveTensors)));
  out.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(g_liveBytes)));
  out.Set("cachedBytes", Napi::Number::New(info.Env(), static_cast<double>(CachedTensorBytes())));
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

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_HANDLES_OPS(X) \
  X(DisposeOp, dispose)         \
  X(TrackOp, track)             \
  X(Stats, stats)               \
  X(Shape, shape)               \
  X(Strides, strides)           \
  X(Dtype, dtype)               \
  X(Device, device)             \
  X(Numel, numel)               \
  X(IsContiguous, isContiguous) \
  X(RequiresGrad, requiresGrad) \
  X(IsLeaf, isLeaf)             \
  X(ToBuffer, toBuffer)         \
  X(FromBuffer, fromBuffer)     \
  X(Item, item)                 \
  X(Format, format)

SKIPSTUDIO_DEFINE_REGISTER(Handles, SKIPSTUDIO_HANDLES_OPS)

}  // namespace skipstudio
