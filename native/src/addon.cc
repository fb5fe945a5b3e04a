// Entry point of the native addon: registers every op group.
#include <cstdlib>
#include <cstring>

#include "handles.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace skipstudio {

// glibc serves large blocks with mmap and hands freed heap back to the OS,
// adapting its thresholds to what it sees. In a Node process those thresholds
// stay low, so every activation of a training step became a fresh mmap and a
// round of page faults (measured: 0.83x PyTorch's step time on bench network
// (a)). Fixed, high thresholds keep the freed blocks for reuse, as the step
// is the same every iteration. SKIPSTUDIO_MALLOC_TUNING=0 turns this off.
void TuneAllocator() {
#ifdef __GLIBC__
  const char* setting = std::getenv("SKIPSTUDIO_MALLOC_TUNING");
  if (setting != nullptr && std::strcmp(setting, "0") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TuneAllocator();
  InstallTensorAllocator(env);
#define SKIPSTUDIO_REGISTER_GROUP(Group) Register##Group(env, exports);
  SKIPSTUDIO_OP_GROUPS(SKIPSTUDIO_REGISTER_GROUP)
#undef SKIPSTUDIO_REGISTER_GROUP
  return exports;
}

}  // namespace skipstudio

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return skipstudio::Init(env, exports); }

NODE_API_MODULE(skipstudio_native, InitAddon)
