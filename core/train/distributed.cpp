#include "core/train/distributed.h"

#include <chrono>
#include <cstdlib>

#include <ATen/ATen.h>

#include "core/util/error.h"

#if __has_include(<gloo/context.h>)
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define SUPERSAM_HAVE_GLOO 1
#else
#define SUPERSAM_HAVE_GLOO 0
#endif

namespace supersam::train {

namespace {

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1000000) {
    throw util::Error(std::string("environment variable ") + name + "='" + v + "': expected a non-negative integer");
  }
  return static_cast<int>(x);
}

}  // namespace

DistributedEnv DistributedEnv::fromEnvironment() {
  DistributedEnv e;
  e.worldSize = envInt("WORLD_SIZE", envInt("SLURM_NTASKS", 1));
  e.rank = envInt("RANK", envInt("SLURM_PROCID", 0));
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.masterAddr = a;
  e.masterPort = envInt("MASTER_PORT", 29500);
  if (e.worldSize < 1 || e.rank >= e.worldSize) {
    throw util::Error("distributed environment: RANK=" + std::to_string(e.rank) + " must be < WORLD_SIZE=" +
                      std::to_string(e.worldSize));
  }
  if (e.masterPort <= 0 || e.masterPort > 65535) {
    throw util::Error("distributed environment: MASTER_PORT=" + std::to_string(e.masterPort) + " is not a port");
  }
  return e;
}

bool Distributed::available() { return SUPERSAM_HAVE_GLOO != 0; }

#if SUPERSAM_HAVE_GLOO

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Distributed::Distributed(const DistributedEnv& env, int timeoutSeconds) : m_env(env), m_impl(new Impl) {
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(env.masterPort);
    opts.isServer = env.rank == 0;
    opts.numWorkers = static_cast<std::size_t>(env.worldSize);
    opts.waitWorkers = true;
    opts.timeout = std::chrono::seconds(timeoutSeconds);
    m_impl->store = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, opts);
    auto pgOpts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(timeoutSeconds));
    pgOpts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.masterAddr == "localhost" ||
                                                                                      env.masterAddr == "127.0.0.1"
                                                                                  ? "127.0.0.1"
                                                                                  : std::string()));
    if (!pgOpts->devices.back()) pgOpts->devices.back() = c10d::ProcessGroupGloo::createDefaultDevice();
    m_impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_impl->store, env.rank, env.worldSize, pgOpts);
  } catch (const util::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw util::Error("distributed rendezvous at " + env.masterAddr + ":" + std::to_string(env.masterPort) +
                      " (rank " + std::to_string(env.rank) + " of " + std::to_string(env.worldSize) +
                      ") failed: " + e.what());
  }
}

Distributed::~Distributed() = default;

void Distributed::allReduceMean(const std::vector<at::Tensor>& tensors) {
  if (tensors.empty()) return;
  std::vector<at::Tensor> flat;
  flat.reserve(tensors.size());
  for (const at::Tensor& t : tensors) flat.push_back(t.detach().to(at::kCPU, at::kFloat).reshape({-1}));
  std::vector<at::Tensor> buf{at::cat(flat)};
  m_impl->group->allreduce(buf)->wait();
  buf[0].div_(static_cast<double>(m_env.worldSize));
  int64_t off = 0;
  for (const at::Tensor& t : tensors) {
    const int64_t n = t.numel();
    at::NoGradGuard g;
    t.copy_(buf[0].narrow(0, off, n).view(t.sizes()));
    off += n;
  }
}

void Distributed::allReduceSum(at::Tensor& t) {
  std::vector<at::Tensor> buf{t.to(at::kCPU).contiguous()};
  m_impl->group->allreduce(buf)->wait();
  t.copy_(buf[0]);
}

void Distributed::broadcastFromRoot(const std::vector<at::Tensor>& tensors) {
  for (const at::Tensor& t : tensors) {
    std::vector<at::Tensor> buf{t.detach().to(at::kCPU).contiguous().clone()};
    m_impl->group->broadcast(buf)->wait();
    at::NoGradGuard g;
    t.copy_(buf[0]);
  }
}

void Distributed::barrier() { m_impl->group->barrier()->wait(); }

#else

struct Distributed::Impl {};

Distributed::Distributed(const DistributedEnv& env, int) : m_env(env) {
  throw util::Error("distributed training: this build has no c10d Gloo backend (install libgloo-dev and rebuild)");
}
Distributed::~Distributed() = default;
void Distributed::allReduceMean(const std::vector<at::Tensor>&) {}
void Distributed::allReduceSum(at::Tensor&) {}
void Distributed::broadcastFromRoot(const std::vector<at::Tensor>&) {}
void Distributed::barrier() {}

#endif

}  // namespace supersam::train
