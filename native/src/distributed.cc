// Data-parallel plumbing: a thin binding of libtorch's own distributed engine,
// c10d (TCPStore for the rendezvous, ProcessGroupGloo for the collectives,
// Reducer for bucketed gradient all-reduce during backward), laid out as
// torch.distributed lays it out so that a PyTorch process can join the same
// group. Every blocking call runs on a libuv worker thread and resolves a
// Promise, so Node's event loop stays free while a collective waits.
//
// It builds against libtorch 1.13 and 2.6 (both tested), and is written for
// 2.6 onwards. What differs between them is kept to three places, each saying
// which versions it serves: the group's layout in the store (GroupLayout), the
// process group handed to the Reducer (ReducerGroup), and the store's libuv
// option (WithoutLibUv). libtorch 2.0 to 2.5 differ again in both of the first
// two (the ProcessGroup front took Options; init_process_group's barrier), and
// are refused below rather than built wrong.
// Debian's libtorch is built with Gloo; its header shows the class only under this macro.
#define USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "handles.h"

#if SKIPSTUDIO_LIBTORCH_AT_LEAST(2, 0) && !SKIPSTUDIO_LIBTORCH_AT_LEAST(2, 6)
#error "skipstudio's data-parallel code builds against libtorch 1.13 or 2.6 and later; use one of those (Debian 12's or 13's libtorch-dev)"
#endif

namespace skipstudio {

namespace {

// The one default group of this process, as torch.distributed keeps one.
struct Group {
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  c10::intrusive_ptr<c10d::Store> store;  // "default_pg/" view, as PyTorch's init_process_group
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;   // the collectives
  c10::intrusive_ptr<c10d::ProcessGroup> reducerPg;  // the same group, as the Reducer takes it
  int rank = 0;
  int worldSize = 1;
  std::chrono::milliseconds timeout{0};
  // Heartbeat: each rank bumps its counter every 500 ms on its own store
  // connection, so that a failed collective can say which rank stopped.
  c10::intrusive_ptr<c10d::TCPStore> beatStore;
  std::thread beat;
  std::atomic<bool> stopping{false};

  ~Group() {
    stopping = true;
    if (beat.joinable()) beat.join();
  }
};

std::mutex groupMutex;
std::shared_ptr<Group> group;

std::shared_ptr<Group> CurrentGroup() {
  std::lock_guard<std::mutex> lock(groupMutex);
  if (!group) throw std::runtime_error("no process group: call initProcessGroup first");
  return group;
}

// libtorch 2.2 added TCPStoreOptions::useLibUV, on by default from 2.4, but
// Debian's libtorch is built without libuv (PyTorch's own store needs
// USE_LIBUV=0 there): the classic store is asked for wherever the option
// exists. Chosen by the option's presence, not by a version number.
template <typename Options>
auto WithoutLibUv(Options& options, int) -> decltype(options.useLibUV = false, void()) {
  options.useLibUV = false;
}
template <typename Options>
void WithoutLibUv(Options&, long) {}

c10d::TCPStoreOptions StoreOptions(int port, bool isServer, bool waitWorkers, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = isServer;
  o.waitWorkers = waitWorkers;
  o.timeout = timeout;
  WithoutLibUv(o, 0);
  return o;
}

// "1.5 s", "20 s": a timeout as a person writes it.
std::string Seconds(std::chrono::milliseconds ms) {
  std::string text = std::to_string(ms.count() / 1000);
  int64_t rest = ms.count() % 1000;
  if (rest != 0) {
    std::string frac = std::to_string(1000 + rest).substr(1);
    while (frac.back() == '0') frac.pop_back();
    text += "." + frac;
  }
  return text + " s";
}

std::string BeatKey(int rank) { return "skipstudio/heartbeat/" + std::to_string(rank); }

// Which ranks stopped beating: reads every counter twice, 1.5 s apart. A store
// that cannot be reached means rank 0 (its host) is gone.
std::string DiagnoseFailure(const std::shared_ptr<Group>& g) {
  try {
    auto probe = c10::make_intrusive<c10d::TCPStore>(
        g->tcp->getHost(), StoreOptions(g->tcp->getPort(), false, false, std::chrono::milliseconds(3000)));
    std::vector<int64_t> before(g->worldSize), after(g->worldSize);
    for (int r = 0; r < g->worldSize; r++) before[r] = probe->add(BeatKey(r), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (int r = 0; r < g->worldSize; r++) after[r] = probe->add(BeatKey(r), 0);
    std::string dead;
    for (int r = 0; r < g->worldSize; r++) {
      if (r != g->rank && after[r] == before[r]) dead += (dead.empty() ? "" : ", ") + std::to_string(r);
    }
    if (dead.empty()) return "every other rank is still alive";
    return std::string("rank ") + dead + (dead.find(',') == std::string::npos ? " has" : " have") +
           " stopped (no heartbeat)";
  } catch (const std::exception&) {
    return "rank 0 has stopped (its store at " + g->tcp->getHost() + ":" + std::to_string(g->tcp->getPort()) +
           " cannot be reached)";
  }
}

// A blocking c10d call on a worker thread; resolves with what `finish` builds.
class DistWorker : public Napi::AsyncWorker {
 public:
  DistWorker(Napi::Env env, const char* name, std::function<void()> run,
             std::function<Napi::Value(Napi::Env)> finish, bool diagnose = true)
      : Napi::AsyncWorker(env, name), name_(name), deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)), finish_(std::move(finish)), diagnose_(diagnose) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string message;
    try {
      run_();
      return;
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    } catch (const std::exception& e) {
      message = e.what();
    }
    std::shared_ptr<Group> g;
    if (diagnose_) {
      std::lock_guard<std::mutex> lock(groupMutex);
      g = group;
    }
    if (g) message += " [" + DiagnoseFailure(g) + "]";
    SetError(std::string(name_) + ": " + message);
  }

  void OnOK() override { deferred_.Resolve(finish_ ? finish_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  const char* name_;
  Napi::Promise::Deferred deferred_;
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> finish_;
  bool diagnose_;
};

Napi::Value Queue(DistWorker* worker) {
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

c10d::ReduceOp ReduceOpArg(const std::string& op) {
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "max") return c10d::ReduceOp::MAX;
  throw std::invalid_argument("unknown reduce op '" + op + "' (sum, product, min, max)");
}

void Wait(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

const std::string kWorldSizeKey = "skipstudio/world_size";
const std::string kMismatchKey = "skipstudio/mismatch";

// Where torch.distributed's init_process_group puts the default group's keys
// in the store, and whether it ends with a store-based barrier, in the
// PyTorch of the libtorch this is built against (a TCPStore of 1.13 and one
// of 2.x cannot talk anyway, so a PyTorch rank is always of the same version).
struct GroupLayout {
  std::string group;       // the group's prefix under "default_pg"
  std::string backend;     // the Gloo backend's prefix under the group's ("" for none)
  std::string barrierKey;  // the store-based barrier's key
  bool barrier;
};

GroupLayout DefaultGroupLayout() {
#if SKIPSTUDIO_LIBTORCH_AT_LEAST(2, 6)
  // 2.6: PrefixStore("0/") for the group, "cpu/" for its Gloo backend, and the
  // barrier only when TORCH_DIST_INIT_BARRIER is 1, read as Python's int() reads it
  // (distributed_c10d.py), so that both kinds of rank agree on whether to wait.
  const char* barrier = std::getenv("TORCH_DIST_INIT_BARRIER");
  return {"0/", "cpu/", "store_based_barrier_key:0", barrier != nullptr && std::strtol(barrier, nullptr, 10) == 1};
#else
  return {"0", "", "store_based_barrier_key:1", true};
#endif
}

// libtorch 2 split c10d's ProcessGroup into a front that dispatches by device
// and the Backends behind it: Gloo is a Backend, and the Reducer takes the
// front (made from store, rank and size as of 2.6). In 1.13 the Gloo group is
// itself the ProcessGroup.
c10::intrusive_ptr<c10d::ProcessGroup> ReducerGroup(const Group& g, const c10::intrusive_ptr<c10d::Store>& groupStore) {
#if SKIPSTUDIO_LIBTORCH_AT_LEAST(2, 6)
  auto front = c10::make_intrusive<c10d::ProcessGroup>(groupStore, g.rank, g.worldSize);
  front->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
  front->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, g.pg);
  return front;
#else
  return g.pg;
#endif
}

// torch.distributed's store-based barrier: every rank adds itself to the key;
// the last one also sets "<key>:last_worker", which PyTorch 2.x waits on.
void StoreBarrier(const Group& g, const std::string& key) {
  if (g.store->add(key, 1) == g.worldSize) g.store->set(key + ":last_worker", std::vector<uint8_t>{'1'});
  auto start = std::chrono::steady_clock::now();
  while (g.store->add(key, 0) != g.worldSize) {
    if (std::chrono::steady_clock::now() - start > g.timeout) {
      throw std::runtime_error("timed out waiting for all " + std::to_string(g.worldSize) + " ranks to join");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The process group over the store, laid out as torch.distributed's
// init_process_group lays it out ("default_pg" prefix, group "0", then its
// store-based barrier where that version has one, and the sequence number),
// so a PyTorch rank can join.
void JoinGroup(Group& g, const std::string& hostname) {
  const GroupLayout layout = DefaultGroupLayout();
  g.store = c10::make_intrusive<c10d::PrefixStore>("default_pg", g.tcp);
  c10::intrusive_ptr<c10d::Store> groupStore = c10::make_intrusive<c10d::PrefixStore>(layout.group, g.store);
  c10::intrusive_ptr<c10d::Store> glooStore = groupStore;
  if (!layout.backend.empty()) glooStore = c10::make_intrusive<c10d::PrefixStore>(layout.backend, groupStore);
  auto options = c10d::ProcessGroupGloo::Options::create(g.timeout);
  if (hostname.empty()) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
  }
  options->threads = 2;
  g.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(glooStore, g.rank, g.worldSize, options);
  g.reducerPg = ReducerGroup(g, groupStore);
  if (layout.barrier) StoreBarrier(g, layout.barrierKey);
  g.pg->setSequenceNumberForGroup();
}

// What initProcessGroup was given: this process's rank, the world size, the
// master's address and port, the timeout, and the interface's host ("" for
// Gloo's default device).
struct InitOptions {
  int rank;
  int worldSize;
  std::string addr;
  int port;
  std::chrono::milliseconds timeout;
  std::string hostname;
};

// (rank, worldSize, masterAddr, masterPort, timeoutMs, interfaceHost), read in
// that order, so that a bad argument is named as before.
InitOptions ReadInitOptions(const Napi::CallbackInfo& info) {
  InitOptions o;
  o.rank = static_cast<int>(IntArg(info, 0));
  o.worldSize = static_cast<int>(IntArg(info, 1));
  o.addr = StringArg(info, 2);
  o.port = static_cast<int>(IntArg(info, 3));
  o.timeout = std::chrono::milliseconds(IntArg(info, 4));
  o.hostname = StringArg(info, 5);
  return o;
}

// The rendezvous store: rank 0 serves it, the others connect to it. Rank 0
// does not wait in the store for the others (the group's own rendezvous
// does), so that it can state the world size at once.
c10::intrusive_ptr<c10d::TCPStore> MakeStore(const InitOptions& o) {
  c10d::TCPStoreOptions opts = StoreOptions(o.port, o.rank == 0, o.rank != 0, o.timeout);
  opts.numWorkers = o.worldSize;
  opts.multiTenant = true;
  try {
    return c10::make_intrusive<c10d::TCPStore>(o.addr, opts);
  } catch (const std::exception& e) {
    throw std::runtime_error(
        (o.rank == 0 ? "could not start the store on " : "could not reach the master at ") + o.addr + ":" +
        std::to_string(o.port) + " within " + Seconds(o.timeout) + " (rank " + std::to_string(o.rank) + " of " +
        std::to_string(o.worldSize) + "): " + e.what());
  }
}

// Rank 0 states its world size; every other rank compares its own with
// it and, when they differ, says so at once and leaves the message for
// the ranks waiting in the rendezvous. A PyTorch rank 0 states nothing:
// after a second the check is skipped.
void CheckWorldSize(c10d::TCPStore& tcp, const InitOptions& o) {
  const std::string mine = std::to_string(o.worldSize);
  if (o.rank == 0) {
    tcp.set(kWorldSizeKey, std::vector<uint8_t>(mine.begin(), mine.end()));
    return;
  }
  auto waitUntil = std::chrono::steady_clock::now() + std::min(o.timeout, std::chrono::milliseconds(1000));
  while (!tcp.check({kWorldSizeKey}) && std::chrono::steady_clock::now() < waitUntil) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!tcp.check({kWorldSizeKey})) return;
  auto bytes = tcp.get(kWorldSizeKey);
  std::string theirs(bytes.begin(), bytes.end());
  if (theirs != mine) {
    std::string message = "mismatched world sizes: rank " + std::to_string(o.rank) + " was started with " + mine +
                          ", rank 0 with " + theirs;
    tcp.set(kMismatchKey, std::vector<uint8_t>(message.begin(), message.end()));
    throw std::runtime_error(message);
  }
}

// JoinGroup, where a failure to join is told as the world-size mismatch a
// rank left in the store, if one did (the rendezvous only times out).
void JoinGroupOrSayWhy(Group& g, const std::string& hostname) {
  try {
    JoinGroup(g, hostname);
  } catch (const std::exception&) {
    bool mismatch = false;
    try {
      mismatch = g.tcp->check({kMismatchKey});
    } catch (const std::exception&) {
    }
    if (mismatch) {
      auto bytes = g.tcp->get(kMismatchKey);
      throw std::runtime_error(std::string(bytes.begin(), bytes.end()));
    }
    throw;
  }
}

// The heartbeat (see Group): a thread that bumps this rank's counter on its
// own store connection every 500 ms until the group is dropped.
void StartHeartbeat(Group& g, const InitOptions& o) {
  g.beatStore = c10::make_intrusive<c10d::TCPStore>(o.addr, StoreOptions(o.port, false, false, o.timeout));
  Group* raw = &g;
  g.beat = std::thread([raw] {
    const std::string key = BeatKey(raw->rank);
    while (!raw->stopping) {
      try {
        raw->beatStore->add(key, 1);
      } catch (...) {
        return;  // the store is gone; the collectives will report it
      }
      for (int i = 0; i < 5 && !raw->stopping; i++) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

// The group, from the store to the heartbeat (on the worker thread: every step may wait on the other ranks).
std::shared_ptr<Group> MakeGroup(const InitOptions& o) {
  auto g = std::make_shared<Group>();
  g->rank = o.rank;
  g->worldSize = o.worldSize;
  g->timeout = o.timeout;
  g->tcp = MakeStore(o);
  CheckWorldSize(*g->tcp, o);
  JoinGroupOrSayWhy(*g, o.hostname);
  StartHeartbeat(*g, o);
  return g;
}

// (rank, worldSize, masterAddr, masterPort, timeoutMs, interfaceHost) -> Promise<void>
Napi::Value DistInit(const Napi::CallbackInfo& info) {
  const InitOptions options = ReadInitOptions(info);
  {
    std::lock_guard<std::mutex> lock(groupMutex);
    if (group) throw std::runtime_error("a process group is already initialised: call destroyProcessGroup first");
  }
  auto run = [options] {
    std::shared_ptr<Group> g = MakeGroup(options);
    std::lock_guard<std::mutex> lock(groupMutex);
    group = g;
  };
  return Queue(new DistWorker(info.Env(), "initProcessGroup", run, nullptr, false));
}

// () -> void. Drops the group; the heartbeat thread stops.
Napi::Value DistDestroy(const Napi::CallbackInfo& info) {
  std::shared_ptr<Group> g;
  {
    std::lock_guard<std::mutex> lock(groupMutex);
    g.swap(group);
  }
  g.reset();
  return info.Env().Undefined();
}

// () -> { rank, worldSize } | undefined
Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(groupMutex);
  if (!group) return info.Env().Undefined();
  auto out = Napi::Object::New(info.Env());
  out.Set("rank", group->rank);
  out.Set("worldSize", group->worldSize);
  return out;
}

// Runs a collective on each tensor in turn and waits for it: Gloo's CPU collectives take a list of one tensor.
template <typename Collective>
void EachTensor(std::vector<at::Tensor>& tensors, Collective collective) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    Wait(collective(one));
  }
}

// (tensors[], op) -> Promise<void>; in place, as torch.distributed.all_reduce.
Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  auto tensors = TensorListArg(info, 0);
  auto op = ReduceOpArg(StringArg(info, 1));
  auto g = CurrentGroup();
  auto run = [g, tensors, op]() mutable {
    c10d::AllreduceOptions opts;
    opts.reduceOp = op;
    EachTensor(tensors, [&](std::vector<at::Tensor>& one) { return g->pg->allreduce(one, opts); });
  };
  return Queue(new DistWorker(info.Env(), "allReduce", run, nullptr));
}

// (tensors[], src) -> Promise<void>; in place.
Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  auto tensors = TensorListArg(info, 0);
  int64_t src = IntArg(info, 1);
  auto g = CurrentGroup();
  auto run = [g, tensors, src]() mutable {
    c10d::BroadcastOptions opts;
    opts.rootRank = src;
    EachTensor(tensors, [&](std::vector<at::Tensor>& one) { return g->pg->broadcast(one, opts); });
  };
  return Queue(new DistWorker(info.Env(), "broadcast", run, nullptr));
}

// (tensor) -> Promise<Tensor[]>: one tensor per rank.
Napi::Value DistAllGather(const Napi::CallbackInfo& info) {
  at::Tensor input = TensorArg(info, 0).contiguous();
  auto g = CurrentGroup();
  auto outputs = std::make_shared<std::vector<at::Tensor>>();
  auto run = [g, input, outputs] {
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < g->worldSize; r++) out[0].push_back(at::empty_like(input));
    std::vector<at::Tensor> in{input};
    Wait(g->pg->allgather(out, in));
    *outputs = out[0];
  };
  auto finish = [outputs](Napi::Env env) { return WrapList(env, *outputs); };
  return Queue(new DistWorker(info.Env(), "allGather", run, finish));
}

// () -> Promise<void>
Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  auto g = CurrentGroup();
  auto run = [g] { Wait(g->pg->barrier()); };
  return Queue(new DistWorker(info.Env(), "barrier", run, nullptr));
}

// () -> Promise<string>: which ranks stopped, for an error message.
Napi::Value DistDiagnose(const Napi::CallbackInfo& info) {
  auto g = CurrentGroup();
  auto text = std::make_shared<std::string>();
  auto run = [g, text] { *text = DiagnoseFailure(g); };
  auto finish = [text](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *text); };
  return Queue(new DistWorker(info.Env(), "diagnose", run, finish, false));
}

// A differentiable all-reduce sum (torch.distributed.nn.all_reduce): the
// gradient of a sum over ranks is the sum of the ranks' gradients. Runs on the
// calling thread, as it sits inside a forward or backward pass (SyncBatchNorm).
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor input) {
    auto g = CurrentGroup();
    std::vector<at::Tensor> one{input.clone().contiguous()};
    Wait(g->pg->allreduce(one));
    return one[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = CurrentGroup();
    std::vector<at::Tensor> one{grads[0].clone().contiguous()};
    Wait(g->pg->allreduce(one));
    return {one[0]};
  }
};

Napi::Value DistAllReduceSumAutograd(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), AllReduceSum::apply(TensorArg(info, 0)));
}

// DistributedDataParallel's gradient engine: c10d::Reducer hooks every
// parameter's gradient accumulator and launches a bucket's all-reduce as soon
// as its gradients are ready, overlapping the rest of backward; backward ends
// when every bucket is averaged back into .grad.
struct ReducerBox {
  std::unique_ptr<c10d::Reducer> reducer;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
};

// (params[], bucketCapBytes, findUnusedParameters) -> External reducer
Napi::Value DdpReducer(const Napi::CallbackInfo& info) {
  auto params = TensorListArg(info, 0);
  int64_t cap = IntArg(info, 1);
  bool findUnused = BoolArg(info, 2);
  auto g = CurrentGroup();
  std::vector<bool> sparse(params.size(), false);
  std::vector<size_t> limits{static_cast<size_t>(std::min<int64_t>(c10d::kDefaultFirstBucketBytes, cap)),
                             static_cast<size_t>(cap)};
  auto assignment = c10d::compute_bucket_assignment_by_size(params, limits, sparse);
  auto buckets = std::get<0>(assignment);
  auto sizes = std::get<1>(assignment);
  // As DistributedDataParallel: buckets in reverse, since backward produces
  // the last layers' gradients first.
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(sizes.begin(), sizes.end());
  auto* box = new ReducerBox();
  box->pg = g->reducerPg;
  box->reducer = std::make_unique<c10d::Reducer>(params, buckets, sizes, g->reducerPg, sparse, cap, findUnused, false,
                                                 std::unordered_map<size_t, std::string>(), c10d::kDefaultFirstBucketBytes);
  auto external = Napi::External<ReducerBox>::New(info.Env(), box, [](Napi::Env, ReducerBox* b) { delete b; });
  return external;
}

ReducerBox* ReducerArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a reducer");
  auto* box = info[i].As<Napi::External<ReducerBox>>().Data();
  if (!box->reducer) throw Napi::Error::New(info.Env(), "the reducer was released");
  return box;
}

// (reducer, outputs[]) -> void: arms the hooks for the next backward, as
// DDP's forward does; with findUnusedParameters the outputs' graph tells which
// parameters will get no gradient, so their buckets do not wait for them.
Napi::Value DdpPrepare(const Napi::CallbackInfo& info) {
  ReducerArg(info, 0)->reducer->prepare_for_backward(TensorListArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value DdpRelease(const Napi::CallbackInfo& info) {
  ReducerArg(info, 0)->reducer.reset();
  return info.Env().Undefined();
}

}  // namespace

// The ops of this file, each once: X(C++ function, JS name).
#define SKIPSTUDIO_DIST_OPS(X)                          \
  X(DistInit, distInit)                                 \
  X(DistDestroy, distDestroy)                           \
  X(DistInfo, distInfo)                                 \
  X(DistAllReduce, distAllReduce)                       \
  X(DistBroadcast, distBroadcast)                       \
  X(DistAllGather, distAllGather)                       \
  X(DistBarrier, distBarrier)                           \
  X(DistDiagnose, distDiagnose)                         \
  X(DistAllReduceSumAutograd, distAllReduceSumAutograd) \
  X(DdpReducer, ddpReducer)                             \
  X(DdpPrepare, ddpPrepare)                             \
  X(DdpRelease, ddpRelease)

SKIPSTUDIO_DEFINE_REGISTER(Dist, SKIPSTUDIO_DIST_OPS)

}  // namespace skipstudio
