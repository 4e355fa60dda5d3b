#pragma once
// ONNX export of a SAM (or of one subnet of a supernet) in the interface of SAM's own ONNX export and of the
// annotation tools built on it. Two models are written, each built node by node from the model's weights
// (initializers) with the ONNX library, checked with onnx::checker::check_model and written atomically:
//
//   encoder.onnx  input_image [1, 3, S, S] float32, the preprocessed image exactly as infer::preprocessImage makes
//                 it (RGB normalised with SAM's pixel mean/std, zero-padded bottom/right to S x S)
//                 -> image_embeddings [1, C, S/16, S/16]
//   decoder.onnx  SAM's SamOnnxModel interface with return_single_mask:
//                 image_embeddings [1, C, h, w], point_coords [1, N, 2] (x, y in the resized-input frame, N dynamic),
//                 point_labels [1, N] float (1 fg, 0 bg, 2/3 box corners, -1 padding point), mask_input
//                 [1, 1, 4h, 4w], has_mask_input [1] (1 or 0), orig_im_size [2] float (H, W)
//                 -> masks [1, 1, H, W] logits at the original size, iou_predictions [1, 1], low_res_masks
//                 [1, 1, 4h, 4w]. The mask is chosen as SAM's export does: with more than two points (boxes count
//                 two) the single-mask output, otherwise the best of the three multimask outputs by predicted IoU.
//                 Masks are upscaled bilinearly to S x S, cropped to the resized image, resized to orig_im_size.
//   encoder_rgb.onnx + x-anylabeling.yaml  optional (rgbEncoder): the encoder with SAM's preprocessing in front,
//                 input_image [H, W, 3] RGB 0-255, and X-AnyLabeling's config for it and decoder.onnx.
//   supersam_onnx.json  a sidecar: opset, input size, pixel mean/std (0-255, RGB), the subnet and its hash, the arch,
//                 the files and their input/output names.
//
// Opset 17 (ONNX 1.12's newest): LayerNormalization exists from 17; GELU is written with Erf (exact GELU).
// Dropped blocks are absent from encoder.onnx and MLPs have the subnet's widths (the model is first extracted with
// supernet::extractModel). Windowed attention (with its padding), decomposed relative positions, global blocks, the
// neck, the prompt encoder and the mask decoder are all in the graphs; the dense positional encoding of the image
// grid and the relative-position tables, which depend on weights only, are stored as constants.
//
// The protobuf itself is built by OnnxGraph (onnx_graph.h), the one file compiled against ONNX's headers.
//
// Thread-safety: reads the model's weights; do not modify them concurrently. Memory: the serialised models (about
// 4 bytes per parameter) are held once in memory while written.

#include <cstdint>
#include <string>

#include "core/model/sam.h"
#include "core/supernet/subnet.h"
#include "core/util/progress.h"

namespace supersam::exporter {

inline constexpr int64_t kOnnxOpset = 17;
inline constexpr const char* kOnnxEncoderFile = "encoder.onnx";
inline constexpr const char* kOnnxDecoderFile = "decoder.onnx";
inline constexpr const char* kOnnxSidecarFile = "supersam_onnx.json";
inline constexpr const char* kOnnxRgbEncoderFile = "encoder_rgb.onnx";
inline constexpr const char* kAnyLabelingConfigFile = "x-anylabeling.yaml";

struct OnnxExportResult {
  std::string encoderPath, decoderPath, sidecarPath;
  int64_t encoderBytes = 0, decoderBytes = 0;
  int64_t encoderNodes = 0, decoderNodes = 0;
  std::string rgbEncoderPath, anylabelingConfigPath;  // only with rgbEncoder
};

// Serialised, checked ONNX models of a standalone SAM (every block of `sam` runs at its full width; use an extracted
// model for a subnet). util::Error when the model's weights do not have SAM's layout (names the key), or when the
// checker rejects the graph (a bug: the message says so).
// rawRgbInput: the encoder takes the resized image itself, input_image [H, W, 3] float32 RGB 0-255 (H, W <= S,
// dynamic), and normalises and pads it in the graph (the encoder interface of X-AnyLabeling's SAM loader).
std::string encoderOnnxBytes(model::SamImpl& sam, const util::JobControl& job = {}, int64_t* nodes = nullptr,
                             bool rawRgbInput = false);
std::string decoderOnnxBytes(model::SamImpl& sam, int64_t* nodes = nullptr);

// Extracts subnet `s` of `supernet` and writes encoder.onnx, decoder.onnx and supersam_onnx.json into `dir`
// (created if missing). util::Error naming `dir` when it cannot be created or written, or naming the subnet when it
// does not fit the supernet's arch. Progress: one unit per encoder block plus the decoder; a cancelled export
// (util::Cancelled) writes nothing. Each file is written atomically; an existing export in `dir` is replaced file
// by file.
// rgbEncoder: also encoder_rgb.onnx (rawRgbInput above) and x-anylabeling.yaml, X-AnyLabeling's custom model config
// for the pair encoder_rgb.onnx + decoder.onnx.
OnnxExportResult exportOnnx(const model::Sam& supernet, const supernet::Subnet& s, const std::string& dir,
                            const util::JobControl& job = {}, bool rgbEncoder = false);

}  // namespace supersam::exporter
