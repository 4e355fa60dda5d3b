// `supersam embed`: pre-encode every image of a folder into the embedding cache (pipeline::embedFolder), so that
// segmenting them later (the studio) starts from the cached embedding instead of waiting for the encoder.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/pipeline/embed_job.h"
#include "core/util/error.h"
#include "core/util/progress.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam embed --checkpoint F --folder DIR [--cache DIR] [options]

Encodes every image of DIR (jpg, jpeg, png, bmp, tif, tiff; not sub-folders) and stores its image embedding in the
embedding cache, keyed by the image's bytes, the model (checkpoint bytes + architecture) and the subnet: a changed
image, model or subnet is never served an old entry. Images already in the cache are not encoded again, so a re-run
(or a run after Ctrl+C) only encodes what is missing. The studio looks images up in the same cache.

  --checkpoint F         official SAM .pth, our .safetensors, or Hugging Face SAM .safetensors
  --arch vit_b|FILE.json architecture (default: the file's metadata, else inferred from the tensor shapes)
  --subnet S             the encoder subnet: largest, smallest, or one token per block (default: every block, full
                         width)
  --folder DIR           the images
  --cache DIR            the cache folder (default: $XDG_CACHE_HOME/supersam/embeddings, else
                         ~/.cache/supersam/embeddings); several programs may share it
  --max-cache-mb N       size limit of the cache folder in MiB (default 1024): after each write the least recently
                         used entries are removed until the folder is under it
  --threads N            CPU threads (default: all cores)

Ctrl+C (SIGINT) stops after the current image and keeps what is stored; exit status 130.
Exit status 1 when an input is bad, the folder holds no image, or an image could not be encoded (the others are
still done; each failure is listed by file).)";

util::CancelToken g_cancel;

extern "C" void onEmbedSigint(int) { g_cancel.cancel(); }

const char* outcomeWord(pipeline::EmbedOutcome o) {
  switch (o) {
    case pipeline::EmbedOutcome::Encoded: return "encoded";
    case pipeline::EmbedOutcome::Reused: return "reused ";
    case pipeline::EmbedOutcome::Failed: return "FAILED ";
  }
  return "?";
}

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

int runEmbed(const std::vector<std::string>& argv) {
  Args args(argv, {"checkpoint", "arch", "subnet", "folder", "cache", "max-cache-mb", "threads"}, {});
  if (!args.positional().empty()) throw util::Error("unexpected argument '" + args.positional().front() + "'");
  pipeline::EmbedJob job;
  job.checkpoint = args.required("checkpoint");
  job.folder = args.required("folder");
  job.arch = args.get("arch");
  job.subnet = args.get("subnet").value_or("");
  job.cacheDir = args.get("cache").value_or("");
  const long long maxMb = args.getInt64("max-cache-mb", 1024);
  if (maxMb <= 0 || maxMb > (1LL << 40)) {
    throw util::Error("--max-cache-mb " + std::to_string(maxMb) + ": expected a size in MiB between 1 and 2^40");
  }
  job.maxCacheBytes = static_cast<int64_t>(maxMb) << 20;
  util::setThreads(args.getInt("threads", 0));

  struct sigaction sa {};
  sa.sa_handler = onEmbedSigint;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl+C kills
  struct sigaction old {};
  sigaction(SIGINT, &sa, &old);
  util::JobControl control;
  control.cancel = &g_cancel;
  const auto onImage = [](const pipeline::EmbedImageEvent& e) {
    const std::string name = std::filesystem::path(e.path).filename().string();
    if (e.outcome == pipeline::EmbedOutcome::Failed) {
      std::printf("[%lld/%lld] %s %s: %s\n", static_cast<long long>(e.index + 1), static_cast<long long>(e.total),
                  outcomeWord(e.outcome), name.c_str(), e.reason.c_str());
    } else {
      std::printf("[%lld/%lld] %s %s  %.1f ms\n", static_cast<long long>(e.index + 1),
                  static_cast<long long>(e.total), outcomeWord(e.outcome), name.c_str(), e.seconds * 1000.0);
    }
    std::fflush(stdout);
  };
  pipeline::EmbedStats s;
  try {
    s = pipeline::embedFolder(job, control, onImage);
  } catch (...) {
    sigaction(SIGINT, &old, nullptr);
    throw;
  }
  sigaction(SIGINT, &old, nullptr);

  for (const auto& w : s.warnings) std::fprintf(stderr, "embed: warning: %s\n", w.c_str());
  std::printf("cache %s (subnet %s)\n", s.cacheDir.c_str(), s.subnet.c_str());
  std::printf("images %lld: encoded %lld, reused %lld, failed %lld%s\n", static_cast<long long>(s.images),
              static_cast<long long>(s.encoded), static_cast<long long>(s.reused), static_cast<long long>(s.failed),
              s.cancelled ? ", the rest not visited (cancelled)" : "");
  std::printf("wrote %.2f MiB, evicted %lld entries; the cache holds %.2f MiB (limit %lld MiB)\n", mib(s.bytesWritten),
              static_cast<long long>(s.evicted), mib(s.cacheBytes), maxMb);
  std::printf("time %.2f s (model load %.2f s, of which hashing the checkpoint %.2f s%s)", s.seconds, s.loadSeconds,
              s.fingerprintSeconds, s.modelBuilt ? "" : "; every image cached, the model was not built");
  if (s.encoded > 0) std::printf(", encode %.1f ms/image", 1000.0 * s.encodeSeconds / static_cast<double>(s.encoded));
  if (s.reused > 0) std::printf(", cache read %.2f ms/image", 1000.0 * s.reuseSeconds / static_cast<double>(s.reused));
  if (s.encoded > 0 && s.reused > 0) {
    std::printf(", read/encode %.4f",
                (s.reuseSeconds / static_cast<double>(s.reused)) / (s.encodeSeconds / static_cast<double>(s.encoded)));
  }
  std::printf("\n");
  for (const auto& f : s.failures) std::fprintf(stderr, "embed: failed: %s: %s\n", f.path.c_str(), f.reason.c_str());
  if (s.cancelled) {
    std::fprintf(stderr, "embed: cancelled; the %lld entries stored are kept (run again to encode the rest)\n",
                 static_cast<long long>(s.encoded + s.reused));
    return 130;
  }
  return s.failed > 0 ? 1 : 0;
}

}  // namespace

SUPERSAM_COMMAND("embed", "pre-encode a folder of images into the embedding cache (resumable, size-limited)", kUsage,
                 runEmbed);

}  // namespace supersam::cli
