#!/usr/bin/env python3
"""The reference bench_sam's figures are compared with: the official SAM (segment_anything, Python) on this machine's
LibTorch (Debian's python3-torch is the same 1.13 build the project links), ViT-B with random weights.

Prints the image encoder's time at 1024x1024 (median of --runs, after one warm-up) and the time of
SamPredictor.predict per prompt (decoder, post-processing to the original size, thresholding) on a 1200x1800 image,
with multimask_output True (SAM's default) and False (median of --prompts).

The official code is not part of this project: point SAM_PYTHONPATH at a checkout of
facebookresearch/segment-anything. Needs python3-torch, python3-torchvision and python3-numpy (Debian packages).
OpenBLAS on this CPU needs OPENBLAS_CORETYPE=SkylakeX to use the kernels the project's programs use (see
core/util/process_env.h); the script sets it unless it is set already, and says which it used.

  SAM_PYTHONPATH=/path/to/segment-anything /usr/bin/python3 tests/bench/sam_python_reference.py \
      [--threads 2] [--runs 3] [--prompts 30]
"""
import argparse
import os
import statistics
import sys
import time

if "OPENBLAS_CORETYPE" not in os.environ:  # must precede loading OpenBLAS: re-execute with it set
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    os.execv(sys.executable, [sys.executable] + sys.argv)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=30)
    args = parser.parse_args()

    sam_path = os.environ.get("SAM_PYTHONPATH")
    if not sam_path or not os.path.isdir(os.path.join(sam_path, "segment_anything")):
        sys.exit("sam_python_reference: set SAM_PYTHONPATH to a directory containing segment_anything/ "
                 f"(got {sam_path!r})")
    sys.path.insert(0, sam_path)
    import numpy as np
    import torch
    from segment_anything import SamPredictor, sam_model_registry

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"official SAM (Python), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}")
    sam = sam_model_registry["vit_b"](checkpoint=None).eval()
    predictor = SamPredictor(sam)
    rng = np.random.default_rng(0)
    image = (rng.random((1200, 1800, 3)) * 255).astype(np.uint8)

    with torch.no_grad():
        x = torch.randn(1, 3, 1024, 1024)
        times = []
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            sam.image_encoder(x)
            times.append(time.perf_counter() - t0)
            print(f"  encoder run {run}: {times[-1]:.3f} s" + (" (warm-up)" if run == 0 else ""))
        print(f"encoder (1024x1024): median {statistics.median(times[1:]):.3f} s over {args.runs} runs")

        predictor.set_image(image)
        for multimask in (True, False):
            times = []
            for i in range(args.prompts + 2):
                point = np.array([[rng.uniform(100, 1700), rng.uniform(100, 1100)]])
                t0 = time.perf_counter()
                predictor.predict(point_coords=point, point_labels=np.array([1]), multimask_output=multimask)
                if i >= 2:  # two warm-up prompts
                    times.append(time.perf_counter() - t0)
            kind = "multimask, 3 masks" if multimask else "single mask"
            print(f"predict per prompt ({kind}, original 1200x1800): median "
                  f"{1000 * statistics.median(times):.1f} ms over {args.prompts} prompts")


if __name__ == "__main__":
    main()
