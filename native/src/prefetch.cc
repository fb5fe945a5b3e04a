// Batch assembly off the main thread: gathers a batch's images and labels,
// casts and normalises them on a libuv worker thread, so the next batch is
// ready while JavaScript runs the current training step.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include "handles.h"

// OpenMP's, resolved at load time from the runtime libtorch brings (libgomp or
// libiomp5); weak so a libtorch built without OpenMP still loads this addon.
extern "C" void omp_set_num_threads(int) __attribute__((weak));

namespace skipstudio {

namespace {

// A gather is a few hundred kilobytes: one thread does it in microseconds. Left
// at OpenMP's default, this worker thread starts a second team of threads whose
// spin-waiting after each op takes the cores from the training step (HW5Net
// width 16 trained 30% slower with prefetching than without). The setting is
// this thread's own (OpenMP keeps it per thread); the training threads keep theirs.
// ATen sets each thread's count once, at its first parallel op, to the global
// one: that happens first here, so it cannot undo this.
void SerialOnThisThread() {
  at::internal::lazy_init_num_threads();
  if (omp_set_num_threads != nullptr) omp_set_num_threads(1);
}

class GatherBatchWorker : public Napi::AsyncWorker {
 public:
  GatherBatchWorker(Napi::Env env, at::Tensor pixels, at::Tensor labels, at::Tensor index, at::Tensor offset, at::Tensor scale)
      : Napi::AsyncWorker(env, "skipstudio.gatherBatch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        pixels_(std::move(pixels)), labels_(std::move(labels)), index_(std::move(index)),
        offset_(std::move(offset)), scale_(std::move(scale)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      SerialOnThisThread();
      c10::NoGradGuard noGrad;
      x_ = pixels_.index_select(0, index_).to(at::kFloat).sub_(offset_).div_(scale_);
      y_ = labels_.index_select(0, index_);
    } catch (const c10::Error& e) {
      SetError(std::string("gatherBatch: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(std::string("gatherBatch: ") + e.what());
    }
  }

  void OnOK() override {
    auto out = Napi::Array::New(Env(), 2);
    out.Set(0u, Wrap(Env(), x_));
    out.Set(1u, Wrap(Env(), y_));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  at::Tensor pixels_, labels_, index_, offset_, scale_, x_, y_;
};

// (pixels uint8 [N,C,H,W], labels [N], index int64 [B], offset [1,C,1,1], scale [1,C,1,1]) -> Promise<[x, y]>
Napi::Value GatherBatch(const Napi::CallbackInfo& info) {
  auto* worker = new GatherBatchWorker(info.Env(), TensorArg(info, 0), TensorArg(info, 1), TensorArg(info, 2),
                                       TensorArg(info, 3), TensorArg(info, 4));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_PREFETCH_OPS(X) \
  X(GatherBatch, gatherBatch)

SKIPSTUDIO_DEFINE_REGISTER(Prefetch, SKIPSTUDIO_PREFETCH_OPS)

}  // namespace skipstudio
