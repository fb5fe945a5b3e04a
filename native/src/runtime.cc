// Process-wide libtorch state: the tensor memory allocator, threads, random
// seeds and generator state, gradient mode, CPU autocast, and build
// information.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>
#include <sys/mman.h>
#include <uv.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "handles.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace skipstudio {

namespace {

// ---- tensor memory -----------------------------------------------------
//
// libtorch's default CPU allocator takes every tensor's data from malloc
// (posix_memalign), in the heap it shares with every small object of the
// process, and posix_memalign leaves slivers beside each block. A freed tensor
// block hemmed in by small objects that are still alive cannot merge with its
// neighbours and serve the next tensor of the same size, so the heap grows
// instead, and with the fixed high thresholds below (addon.cc) malloc never
// gives anything back after a peak.
//
// So tensor data gets an allocator of its own. Blocks of 64 KB and more are
// whole mappings, kept after a free in a cache by size class (exact pages up
// to 16, then 8 classes per doubling) and handed to the next tensor of that
// class: a training step, which makes the same tensors every iteration, reuses
// the same pages and takes no page faults, as it did with malloc's high
// thresholds, however the small objects around it come and go. A cached block
// idle for 4 s (a peak that has not come back) is unmapped, which returns its
// memory to the system; the check runs on allocations and frees and, while
// blocks are cached, on a timer, so it also happens while Node idles. Smaller
// tensors come from malloc, aligned by hand (malloc + offset: no slivers, and
// a freed block fits the next one of the same size exactly).
constexpr size_t kAlignment = 64;              // c10's gAlignment
constexpr size_t kPageBytes = 4096;
constexpr size_t kBlockMinBytes = 64 * 1024;   // from here on, cached mappings
constexpr int64_t kIdleMs = 4000;              // a cached block idle this long is unmapped
constexpr int kClassCount = 16 + 8 * 48;

// The 16 bytes before every data pointer: what to free, and how.
struct Tag {
  void* base;
  uint64_t kind;
};
constexpr uint64_t kMallocKind = 0x6d616c6c6f63ULL;
constexpr uint64_t kBlockKind = 0x626c6f636b00ULL;

// The head of a mapping; the data starts kAlignment bytes in.
struct Block {
  Block* prev;   // its size class's free list, newest first
  Block* next;
  Block* older;  // every free block, by the time it was freed
  Block* newer;
  size_t bytes;  // of the whole mapping
  int64_t freedAt;
};
static_assert(sizeof(Block) + sizeof(Tag) <= kAlignment, "a block's head must fit before its data");

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Size classes in pages: exact up to 16 pages, then 8 per doubling.
size_t ClassPages(size_t pages) {
  if (pages <= 16) return pages;
  int k = 63 - __builtin_clzll(pages);
  size_t step = size_t{1} << (k - 3);
  return (pages + step - 1) & ~(step - 1);
}

int ClassIndex(size_t classPages) {
  if (classPages <= 16) return static_cast<int>(classPages) - 1;
  int k = 63 - __builtin_clzll(classPages);
  return 16 + (k - 4) * 8 + static_cast<int>((classPages >> (k - 3)) - 8);
}

// c10::Allocator's interface changed in libtorch 2.x: `allocate` lost its
// const, and `copy_data` (used by Allocator::clone) became pure virtual. Each
// is declared here in both forms without `override`, so the one the headers
// ask for overrides it and the other is an unused overload: one class for
// every libtorch, with no version test to get wrong. A missing override still
// fails the build (an abstract class cannot be made in Get()).
class TensorAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t nbytes) const { return Allocate(nbytes); }  // libtorch 1.x
  c10::DataPtr allocate(size_t nbytes) { return Allocate(nbytes); }        // libtorch 2.x
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  c10::DeleterFnPtr raw_deleter() const override { return &Free; }

  static TensorAllocator& Get() {
    static TensorAllocator* instance = new TensorAllocator();  // never destroyed: tensors may outlive exit
    return *instance;
  }

  // Unmaps cached blocks freed before `before` (all of them for INT64_MAX),
  // and after a peak gives malloc's free pages back too.
  void Sweep(int64_t before) {
    Block* victims = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      nextSweep_ = NowMs() + kIdleMs / 2;
      while (oldest_ != nullptr && oldest_->freedAt < before) {
        Block* b = oldest_;
        Unlink(b);
        cachedBytes_.fetch_sub(static_cast<int64_t>(b->bytes), std::memory_order_relaxed);
        b->next = victims;
        victims = b;
      }
    }
    size_t released = 0;
    while (victims != nullptr) {
      Block* b = victims;
      victims = b->next;
      released += b->bytes;
      munmap(b, b->bytes);
    }
#ifdef __GLIBC__
    // malloc keeps what it frees (M_TRIM_THRESHOLD, addon.cc); when a peak has
    // just been let go, hand its free pages back as well.
    if (released >= 64 * 1024 * 1024 || before == INT64_MAX) malloc_trim(0);
#endif
  }

  int64_t CachedBytes() const { return cachedBytes_.load(std::memory_order_relaxed); }

 private:
  TensorAllocator() = default;

  c10::DataPtr Allocate(size_t nbytes) const {
    if (nbytes == 0) return {nullptr, nullptr, &Free, c10::Device(c10::DeviceType::CPU)};
    void* data = nbytes + kAlignment < kBlockMinBytes ? AllocateSmall(nbytes) : AllocateBlock(nbytes);
    return {data, data, &Free, c10::Device(c10::DeviceType::CPU)};
  }

  static void* AllocateSmall(size_t nbytes) {
    void* base = std::malloc(nbytes + kAlignment + sizeof(Tag));
    TORCH_CHECK(base != nullptr, "not enough memory: you tried to allocate ", nbytes, " bytes");
    auto start = reinterpret_cast<uintptr_t>(base) + sizeof(Tag);
    auto* data = reinterpret_cast<void*>((start + kAlignment - 1) & ~(uintptr_t{kAlignment} - 1));
    static_cast<Tag*>(data)[-1] = Tag{base, kMallocKind};
    return data;
  }

  void* AllocateBlock(size_t nbytes) const {
    size_t pages = ClassPages((nbytes + kAlignment + kPageBytes - 1) / kPageBytes);
    int cls = ClassIndex(pages);
    TORCH_CHECK(cls < kClassCount, "not enough memory: you tried to allocate ", nbytes, " bytes");
    Block* block = nullptr;
    bool sweep = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      block = free_[cls];
      if (block != nullptr) {
        Unlink(block);
        cachedBytes_.fetch_sub(static_cast<int64_t>(block->bytes), std::memory_order_relaxed);
      }
      sweep = NowMs() >= nextSweep_;
    }
    if (sweep) const_cast<TensorAllocator*>(this)->Sweep(NowMs() - kIdleMs);
    if (block == nullptr) {
      size_t bytes = pages * kPageBytes;
      void* mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mapping == MAP_FAILED) {
        Get().Sweep(INT64_MAX);  // the cache may hold what this needs
        mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      }
      TORCH_CHECK(mapping != MAP_FAILED, "not enough memory: you tried to allocate ", nbytes, " bytes");
      block = static_cast<Block*>(mapping);
      block->bytes = bytes;
    }
    void* data = reinterpret_cast<char*>(block) + kAlignment;
    static_cast<Tag*>(data)[-1] = Tag{block, kBlockKind};
    return data;
  }

  static void Free(void* data) {
    if (data == nullptr) return;
    Tag tag = static_cast<Tag*>(data)[-1];
    if (tag.kind == kMallocKind) {
      std::free(tag.base);
      return;
    }
    TORCH_INTERNAL_ASSERT(tag.kind == kBlockKind, "freeing memory the tensor allocator did not give");
    Get().Release(static_cast<Block*>(tag.base));
  }

  void Release(Block* b) {
    int cls = ClassIndex(b->bytes / kPageBytes);
    int64_t now = NowMs();
    bool sweep = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      b->freedAt = now;
      b->prev = nullptr;
      b->next = free_[cls];
      if (b->next != nullptr) b->next->prev = b;
      free_[cls] = b;
      b->older = newest_;
      b->newer = nullptr;
      if (newest_ != nullptr) newest_->newer = b;
      newest_ = b;
      if (oldest_ == nullptr) oldest_ = b;
      cachedBytes_.fetch_add(static_cast<int64_t>(b->bytes), std::memory_order_relaxed);
      sweep = now >= nextSweep_;
    }
    if (sweep) Sweep(now - kIdleMs);
  }

  // Removes a free block from its class list and the age list (lock held).
  void Unlink(Block* b) const {
    int cls = ClassIndex(b->bytes / kPageBytes);
    if (b->prev != nullptr) b->prev->next = b->next; else free_[cls] = b->next;
    if (b->next != nullptr) b->next->prev = b->prev;
    if (b->older != nullptr) b->older->newer = b->newer; else oldest_ = b->newer;
    if (b->newer != nullptr) b->newer->older = b->older; else newest_ = b->older;
  }

  mutable std::mutex mutex_;
  mutable Block* free_[kClassCount] = {};
  mutable Block* oldest_ = nullptr;
  mutable Block* newest_ = nullptr;
  mutable int64_t nextSweep_ = 0;
  mutable std::atomic<int64_t> cachedBytes_{0};
};

// While blocks sit in the cache, a timer sweeps it, so memory also goes back
// when the process idles after a peak. It is unref'd: it never keeps Node alive.
uv_timer_t g_sweepTimer;
uv_loop_t* g_sweepLoop = nullptr;
bool g_sweepTimerActive = false;

void SweepTick(uv_timer_t* /*timer*/) {
  TensorAllocator::Get().Sweep(NowMs() - kIdleMs);
  if (TensorAllocator::Get().CachedBytes() == 0) {
    uv_timer_stop(&g_sweepTimer);
    g_sweepTimerActive = false;
  }
}

void StopSweepTimer(void* /*arg*/) {
  if (g_sweepLoop == nullptr) return;
  uv_timer_stop(&g_sweepTimer);
  uv_close(reinterpret_cast<uv_handle_t*>(&g_sweepTimer), nullptr);
  g_sweepLoop = nullptr;
  g_sweepTimerActive = false;
}

Napi::Value TensorCacheStats(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(TensorAllocator::Get().CachedBytes()));
}

Napi::Value EmptyTensorCache(const Napi::CallbackInfo& info) {
  TensorAllocator::Get().Sweep(INT64_MAX);
  return info.Env().Undefined();
}

}  // namespace

// The libtorch this addon was built against, as text in the file itself: when
// the addon does not load (another libtorch, or none), scripts/addon.mjs reads
// it from the file's bytes to say which one it wants.
extern "C" __attribute__((used)) const char skipstudio_built_against[] =
    "skipstudio-built-against-libtorch=" TORCH_VERSION ";";

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

// CPU autocast. libtorch 2.4 made these calls take the device, and its
// CPU-named ones, the only ones 1.13 has, print a deprecation warning at
// every call.
#if SKIPSTUDIO_LIBTORCH_AT_LEAST(2, 4)
bool CpuAutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCPU); }
at::ScalarType CpuAutocastDtype() { return at::autocast::get_autocast_dtype(at::kCPU); }
void SetCpuAutocast(bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(at::kCPU, enabled);
  at::autocast::set_autocast_dtype(at::kCPU, dtype);
}
#else
bool CpuAutocastEnabled() { return at::autocast::is_cpu_enabled(); }
at::ScalarType CpuAutocastDtype() { return at::autocast::get_autocast_cpu_dtype(); }
void SetCpuAutocast(bool enabled, at::ScalarType dtype) {
  at::autocast::set_cpu_enabled(enabled);
  at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

// Autocast state is [enabled, dtypeCode]; the scoping lives in TypeScript.
Napi::Value AutocastState(const Napi::CallbackInfo& info) {
  auto out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, CpuAutocastEnabled());
  out.Set(1u, static_cast<int>(CpuAutocastDtype()));
  return out;
}

Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  bool enabled = BoolArg(info, 0);
  at::ScalarType dtype = DtypeArg(info, 1);
  if (dtype != at::kBFloat16 && dtype != at::kHalf) {
    throw Napi::RangeError::New(info.Env(), "autocast: the CPU autocast dtype must be bfloat16 or float16");
  }
  SetCpuAutocast(enabled, dtype);
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

void InstallTensorAllocator(Napi::Env env) {
  static bool installed = false;
  if (!installed) {
    installed = true;
    const char* setting = std::getenv("SKIPSTUDIO_TENSOR_ALLOCATOR");
    if (setting == nullptr || std::strcmp(setting, "0") != 0) c10::SetCPUAllocator(&TensorAllocator::Get(), 10);
  }
  if (g_sweepLoop == nullptr && napi_get_uv_event_loop(env, &g_sweepLoop) == napi_ok && g_sweepLoop != nullptr) {
    uv_timer_init(g_sweepLoop, &g_sweepTimer);
    uv_unref(reinterpret_cast<uv_handle_t*>(&g_sweepTimer));
    napi_add_env_cleanup_hook(env, StopSweepTimer, nullptr);
  }
}

void KeepTensorCacheSwept() {
  if (g_sweepTimerActive || g_sweepLoop == nullptr || TensorAllocator::Get().CachedBytes() == 0) return;
  g_sweepTimerActive = true;
  uv_timer_start(&g_sweepTimer, SweepTick, kIdleMs / 2, kIdleMs / 2);
}

int64_t CachedTensorBytes() { return TensorAllocator::Get().CachedBytes(); }

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_RUNTIME_OPS(X)       \
  X(TensorCacheStats, tensorCacheBytes) \
  X(EmptyTensorCache, emptyTensorCache) \
  X(BuildInfo, buildInfo)               \
  X(SetNumThreads, setNumThreads)       \
  X(GetNumThreads, getNumThreads)       \
  X(ManualSeed, manualSeed)             \
  X(GetRngState, getRngState)           \
  X(SetRngState, setRngState)           \
  X(IsGradEnabled, isGradEnabled)       \
  X(SetGradEnabled, setGradEnabled)     \
  X(AutocastState, autocastState)       \
  X(SetAutocast, setAutocast)           \
  X(AutocastNesting, autocastNesting)

SKIPSTUDIO_DEFINE_REGISTER(Runtime, SKIPSTUDIO_RUNTIME_OPS)

}  // namespace skipstudio
