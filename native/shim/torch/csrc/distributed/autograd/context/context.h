// Stand-in for a header that Debian's libtorch-dev leaves out (distributed
// autograd, which skipstudio does not use) but c10d's reducer.hpp includes.
// reducer.hpp needs only these two names: a GradCallback type to check its own
// against, and ContextPtr, held as a shared_ptr (whose layout does not depend
// on the class). Upstream: torch/csrc/distributed/autograd/context/context.h.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
