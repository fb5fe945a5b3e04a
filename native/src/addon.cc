// Entry point of the native addon: registers every op group.
#include "handles.h"

namespace skipstudio {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterHandles(env, exports);
  RegisterRuntime(env, exports);
  RegisterCreation(env, exports);
  RegisterMath(env, exports);
  RegisterShape(env, exports);
  RegisterNN(env, exports);
  RegisterInplace(env, exports);
  RegisterAutograd(env, exports);
  return exports;
}

}  // namespace skipstudio

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return skipstudio::Init(env, exports); }

NODE_API_MODULE(skipstudio_native, InitAddon)
