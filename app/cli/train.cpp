// `supersam train`: sandwich-rule supernet training (core/train), optionally data-parallel over N local processes
// (--nproc N: this program re-executes itself N times with RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT set; a
// launcher such as SLURM may set those variables itself and start one process per rank instead).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/data/dataset_spec.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/model/sam.h"
#include "core/supernet/search_space.h"
#include "core/supernet/supernet_info.h"
#include "core/pipeline/train_job.h"
#include "core/train/distributed.h"
#include "core/train/train_checkpoint.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam train --supernet FILE --dataset SPEC --out OUT.safetensors [options]

Trains a supernet with the sandwich rule: each step the largest, the smallest and N random subnets see the same
batch, their gradients accumulate, then one AdamW step (linear warm-up + cosine decay). Loss: focal (20) + dice (1)
on the mask logits + MSE of the IoU head. Prompt encoder frozen.

  --supernet FILE        calibrated supernet, any model file, or a training checkpoint
  --arch NAME|JSON       instead of --supernet: a randomly initialised model of this arch (seeded by --seed;
                         the encoder's position embedding starts as MAE's 2-D sine-cosine table, not zeros);
                         with --steps 0 it is just written to --out (the first step of building a supernet)
  --dataset SPEC         training data; several specs joined with '+' are mixed (see `supersam eval --help`)
  --val-dataset SPEC     validation data (mIoU of the largest / middle / smallest subnet, logged)
  --out FILE             the trained supernet (our safetensors); the checkpoint is FILE.ckpt unless --checkpoint
  --steps N              optimizer steps (default 1000; 0 = write the --arch initialisation and stop)
  --batch B              global images per step (default 4; divisible by --nproc)
  --lr X                 peak learning rate (default 1e-4)
  --weight-decay X       AdamW weight decay (default 0.01)
  --warmup N             linear warm-up steps (default 50)
  --random-subnets N     random members per step besides largest and smallest (default 2)
  --distill              smaller members also match the largest member's mask logits
  --objects K            objects (prompts) per image (default 8)
  --focal-weight X       weight of the focal loss (default 20, SAM's)
  --dice-weight X        weight of the dice loss (default 1, SAM's)
  --point-fraction P     share of objects prompted by one point instead of a jittered box (default 0.5)
  --augment SPEC         training-image augmentation: off (default), on (the defaults below), or a comma list
                         scale=MIN:MAX (longest side vs the input size, 0.6:1.4), flip=P (0.5), colour=A
                         (brightness/contrast/saturation amplitude, 0.25), paste=P (copy-paste objects of another
                         training image, 0.3), max-pasted=N (3); validation images are never augmented
  --train PARTS          comma list of encoder,decoder,prompt (default encoder,decoder)
  --checkpoint FILE      checkpoint path (default OUT.ckpt)
  --checkpoint-every N   steps between checkpoints (default 50)
  --resume               continue exactly from the checkpoint
  --log FILE             JSONL log of every step and validation (appended on --resume)
  --validate-every N     steps between validations (default: only at the end)
  --val-images N         images per validation dataset (default 8)
  --nproc N              data-parallel local worker processes (default 1)
  --master-port P        rendezvous port for --nproc (default: a free one)
  --seed N               data order, prompts and subnets (default 0)
  --threads N            LibTorch threads per process (default: cores / nproc)
  --device DEV           cpu (default), cuda, cuda:N
  --fp16                 write the output in half precision (loads into fp32 models)
  --quiet                no progress bar
SIGINT (Ctrl-C) stops after the current step and writes a checkpoint; exit status 130.)";

util::CancelToken g_cancel;

extern "C" void onSigint(int) {
  g_cancel.cancel();
  signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw util::Error("train --nproc: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw util::Error("train --nproc: cannot bind a loopback port");
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// Starts `nproc` copies of this program with the rank variables set and waits for all of them.
int launchWorkers(const std::vector<std::string>& args, int nproc, int port) {
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    pid_t pid = ::fork();
    if (pid < 0) throw util::Error("train --nproc: fork failed");
    if (pid == 0) {
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<std::string> argv = {"supersam", "train"};
      for (const auto& a : args) argv.push_back(a);
      if (r > 0) argv.push_back("--quiet");
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv("/proc/self/exe", cargv.data());
      std::perror("supersam train: exec");
      std::_Exit(127);
    }
    pids.push_back(pid);
  }
  // Ctrl-C reaches the whole foreground process group; the launcher itself just waits.
  signal(SIGINT, SIG_IGN);
  int worst = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && worst == 0) worst = code;
  }
  return worst;
}

void progressBar(long long done, long long total, const std::string& status) {
  const int width = 30;
  const int filled = total > 0 ? static_cast<int>(width * done / total) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r[%s] %lld/%lld  %s   ", bar.c_str(), done, total, status.c_str());
  if (done >= total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int runTrain(const std::vector<std::string>& argv) {
  Args args(argv,
            {"supernet", "arch", "dataset", "val-dataset", "out", "steps", "batch", "lr", "weight-decay", "warmup",
             "random-subnets", "objects", "focal-weight", "dice-weight", "point-fraction", "augment", "train", "checkpoint", "checkpoint-every", "log",
             "validate-every", "val-images", "nproc", "master-port", "seed", "threads", "device"},
            {"distill", "resume", "fp16", "quiet"});
  const int nproc = args.getInt("nproc", 1);
  if (nproc < 1) throw util::Error("--nproc must be >= 1");
  const bool isWorker = std::getenv("WORLD_SIZE") != nullptr || std::getenv("SLURM_NTASKS") != nullptr;
  if (nproc > 1 && !isWorker) {
    std::vector<std::string> rest;
    for (size_t i = 0; i < argv.size(); ++i) {
      if (argv[i] == "--nproc" || argv[i] == "--master-port") {
        ++i;
        continue;
      }
      if (argv[i].rfind("--nproc=", 0) == 0 || argv[i].rfind("--master-port=", 0) == 0) continue;
      rest.push_back(argv[i]);
    }
    if (args.has("threads") == false) {
      const int each = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / nproc);
      rest.push_back("--threads");
      rest.push_back(std::to_string(each));
    }
    return launchWorkers(rest, nproc, args.getInt("master-port", freePort()));
  }

  util::setThreads(args.getInt("threads", 0));
  const std::string out = args.required("out");
  pipeline::TrainJob job;
  train::TrainConfig cfg;
  cfg.steps = args.getInt64("steps", 1000);
  cfg.batch = args.getInt64("batch", 4);
  cfg.lr = args.getDouble("lr", 1e-4);
  cfg.weightDecay = args.getDouble("weight-decay", 0.01);
  cfg.warmup = args.getInt64("warmup", 50);
  cfg.randomSubnets = args.getInt64("random-subnets", 2);
  cfg.distill = args.flag("distill");
  cfg.prompts.maxObjects = args.getInt64("objects", 8);
  cfg.loss.focal = args.getDouble("focal-weight", 20.0);
  cfg.loss.dice = args.getDouble("dice-weight", 1.0);
  cfg.prompts.pointFraction = args.getDouble("point-fraction", 0.5);
  cfg.augment = train::parseAugmentOptions(args.get("augment").value_or("off"));
  cfg.checkpointPath = args.get("checkpoint").value_or(out + ".ckpt");
  cfg.checkpointEvery = args.getInt64("checkpoint-every", 50);
  cfg.logPath = args.get("log").value_or("");
  cfg.validateEvery = args.getInt64("validate-every", 0);
  cfg.valImages = args.getInt64("val-images", 8);
  cfg.seed = static_cast<uint64_t>(args.getInt64("seed", 0));
  cfg.device = util::parseDevice(args.get("device").value_or("cpu"));
  if (auto parts = args.get("train")) {
    cfg.trainImageEncoder = cfg.trainMaskDecoder = cfg.trainPromptEncoder = false;
    std::string p = *parts + ",";
    for (size_t s = 0, e; (e = p.find(',', s)) != std::string::npos; s = e + 1) {
      const std::string part = p.substr(s, e - s);
      if (part == "encoder") cfg.trainImageEncoder = true;
      else if (part == "decoder") cfg.trainMaskDecoder = true;
      else if (part == "prompt") cfg.trainPromptEncoder = true;
      else if (!part.empty()) throw util::Error("--train: unknown part '" + part + "' (encoder, decoder, prompt)");
    }
  }

  std::unique_ptr<train::Distributed> dist;
  const train::DistributedEnv env = train::DistributedEnv::fromEnvironment();
  if (env.worldSize > 1) dist = std::make_unique<train::Distributed>(env);
  const bool root = env.rank == 0;

  if (auto archName = args.get("arch")) {
    // A randomly initialised model of that architecture: written as is with --steps 0, else trained from it.
    if (args.has("supernet")) throw util::Error("give either --supernet or --arch, not both");
    at::manual_seed(cfg.seed);
    model::SamArch arch = model::SamArch::fromPresetOrFile(*archName);
    job.model.sam = model::Sam(arch);
    model::initPositionEmbeddingSinCos(*job.model.sam);
    job.model.metadata = {{"format", "supersam"}, {"arch", arch.toJsonText()}};
    if (cfg.steps == 0) {
      if (root) {
        io::saveSafetensors(out, io::stateDictOf(*job.model.sam), job.model.metadata);
        std::cout << "wrote " << out << " (random initialisation, seed " << cfg.seed << ")\n";
      }
      return 0;
    }
  } else {
    job.supernet = args.required("supernet");
  }
  job.dataset = args.required("dataset");
  job.valDataset = args.get("val-dataset").value_or("");
  job.out = out;
  job.config = cfg;
  job.resume = args.flag("resume");
  job.fp16 = args.flag("fp16");

  signal(SIGINT, onSigint);
  util::JobControl control;
  control.cancel = &g_cancel;
  if (root && !args.flag("quiet")) control.progress = progressBar;
  const auto note = [root](const std::string& s) {
    if (root) std::cerr << "train: " << s << "\n";
  };
  const pipeline::TrainOutcome outcome = pipeline::trainSupernet(job, control, {}, note, dist.get());
  if (!outcome.finished) {
    if (root) std::cerr << "\ntrain: cancelled at step " << outcome.step << "; checkpoint " << outcome.checkpoint
                        << " (continue with --resume)\n";
    return 130;
  }
  if (root) std::cout << "wrote " << out << " (" << outcome.step << " steps)\n";
  return 0;
}

SUPERSAM_COMMAND("train", "train a supernet with the sandwich rule (data-parallel with --nproc)", kUsage,
                 [](const std::vector<std::string>& a) { return runTrain(a); });

}  // namespace
}  // namespace supersam::cli
