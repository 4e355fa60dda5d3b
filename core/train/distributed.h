#pragma once
// Data-parallel training across processes with LibTorch's c10d: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT
// (rank 0 hosts it) and a Gloo process group (CPU; NCCL is not in Debian's LibTorch, so CUDA tensors are reduced
// through host copies). The usual environment variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; SLURM_PROCID
// / SLURM_NTASKS as fallbacks) let a launcher start the workers on one or several machines.
// Thread-safety: one instance per process, used from the training thread only. Collective calls must be made by
// every rank in the same order.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace supersam::train {

struct DistributedEnv {
  int rank = 0;
  int worldSize = 1;
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;
  // Reads the environment; worldSize 1 when WORLD_SIZE (and SLURM_NTASKS) is unset. util::Error on bad values.
  static DistributedEnv fromEnvironment();
};

class Distributed {
 public:
  // Joins the group (blocks until every rank arrived, `timeoutSeconds` at most). util::Error when c10d/Gloo is
  // missing from this build, or the rendezvous fails.
  explicit Distributed(const DistributedEnv& env, int timeoutSeconds = 300);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return m_env.rank; }
  int worldSize() const { return m_env.worldSize; }

  // In place: every tensor becomes the mean over ranks (one flattened all-reduce). Float tensors, any device.
  void allReduceMean(const std::vector<at::Tensor>& tensors);
  // In place: the sum over ranks of a small tensor.
  void allReduceSum(at::Tensor& t);
  // In place: every rank gets rank 0's values.
  void broadcastFromRoot(const std::vector<at::Tensor>& tensors);
  void barrier();

  static bool available();  // whether this build has c10d with Gloo

 private:
  struct Impl;
  DistributedEnv m_env;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace supersam::train
