#include "core/io/hf_sam_keys.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;

TEST(HfSamKeys, KnownNamesOfFacebookSamVitBase) {
  const std::pair<const char*, const char*> cases[] = {
      {"image_encoder.patch_embed.proj.weight", "vision_encoder.patch_embed.projection.weight"},
      {"image_encoder.pos_embed", "vision_encoder.pos_embed"},
      {"image_encoder.blocks.11.norm1.bias", "vision_encoder.layers.11.layer_norm1.bias"},
      {"image_encoder.blocks.0.attn.qkv.weight", "vision_encoder.layers.0.attn.qkv.weight"},
      {"image_encoder.blocks.0.attn.rel_pos_h", "vision_encoder.layers.0.attn.rel_pos_h"},
      {"image_encoder.blocks.3.mlp.lin1.weight", "vision_encoder.layers.3.mlp.lin1.weight"},
      {"image_encoder.neck.0.weight", "vision_encoder.neck.conv1.weight"},
      {"image_encoder.neck.3.bias", "vision_encoder.neck.layer_norm2.bias"},
      {"prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "shared_image_embedding.positional_embedding"},
      {"prompt_encoder.point_embeddings.3.weight", "prompt_encoder.point_embed.3.weight"},
      {"prompt_encoder.mask_downscaling.4.bias", "prompt_encoder.mask_embed.layer_norm2.bias"},
      {"prompt_encoder.mask_downscaling.6.weight", "prompt_encoder.mask_embed.conv3.weight"},
      {"prompt_encoder.no_mask_embed.weight", "prompt_encoder.no_mask_embed.weight"},
      {"mask_decoder.transformer.layers.1.norm4.weight", "mask_decoder.transformer.layers.1.layer_norm4.weight"},
      {"mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight",
       "mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight"},
      {"mask_decoder.transformer.norm_final_attn.bias", "mask_decoder.transformer.layer_norm_final_attn.bias"},
      {"mask_decoder.output_upscaling.1.weight", "mask_decoder.upscale_layer_norm.weight"},
      {"mask_decoder.output_upscaling.3.bias", "mask_decoder.upscale_conv2.bias"},
      {"mask_decoder.iou_prediction_head.layers.0.weight", "mask_decoder.iou_prediction_head.proj_in.weight"},
      {"mask_decoder.iou_prediction_head.layers.1.weight", "mask_decoder.iou_prediction_head.layers.0.weight"},
      {"mask_decoder.output_hypernetworks_mlps.2.layers.2.bias", "mask_decoder.output_hypernetworks_mlps.2.proj_out.bias"},
      {"mask_decoder.iou_token.weight", "mask_decoder.iou_token.weight"},
  };
  for (const auto& [sam, hf] : cases) {
    EXPECT_EQ(io::samKeyToHf(sam).value_or("<none>"), hf) << sam;
    EXPECT_EQ(io::hfKeyToSam(hf).value_or("<none>"), sam) << hf;
  }
  EXPECT_FALSE(io::samKeyToHf("optimizer.state").has_value());
  EXPECT_FALSE(io::hfKeyToSam("vision_encoder").has_value());
}

TEST(HfSamKeys, EveryVitBKeyRoundTrips) {
  auto j = nlohmann::json::parse(util::readFileBytes(test::fixturesDir() + "/vit_b_state_dict.json"));
  std::set<std::string> hfNames;
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto hf = io::samKeyToHf(it.key());
    ASSERT_TRUE(hf.has_value()) << it.key();
    EXPECT_EQ(io::hfKeyToSam(*hf).value_or("<none>"), it.key());
    hfNames.insert(*hf);
  }
  EXPECT_EQ(hfNames.size(), j.size());  // one-to-one
}

TEST(HfSamKeys, TinyFixtureRoundTripsThroughHfSafetensors) {
  auto ours = io::readCheckpoint(test::fixturesDir() + "/tiny/checkpoint.pth");
  auto hf = io::samStateDictToHf(ours.tensors, "tiny");
  // HF also stores the prompt encoder's tied alias of the positional matrix; it must be tolerated.
  for (const auto& [k, t] : hf)
    if (k == "shared_image_embedding.positional_embedding")
      hf.emplace_back("prompt_encoder.shared_embedding.positional_embedding", t);
  std::string dir = test::tempDir("hf_roundtrip");
  io::saveSafetensors(dir + "/model.safetensors", hf, {{"format", "pt"}});
  auto back = io::readCheckpoint(dir + "/model.safetensors");
  EXPECT_EQ(back.format, io::CheckpointFormat::HuggingFaceSafetensors);
  EXPECT_EQ(back.metadata.at("format"), "pt");
  ASSERT_EQ(back.tensors.size(), ours.tensors.size());
  std::map<std::string, at::Tensor> got(back.tensors.begin(), back.tensors.end());
  for (const auto& [k, t] : ours.tensors) {
    ASSERT_TRUE(got.count(k)) << k;
    EXPECT_TRUE(got.at(k).equal(t)) << k;
  }
}

TEST(HfSamKeys, HfTensorWithoutSamCounterpartIsNamed) {
  std::vector<std::pair<std::string, at::Tensor>> hf = {
      {"vision_encoder.pos_embed", at::zeros({1})},
      {"vision_encoder.layers.0.norm1.weight", at::zeros({1})},  // SAM's name inside HF's layout: not HF
  };
  try {
    io::hfStateDictToSam(hf, "weird.safetensors");
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'vision_encoder.layers.0.norm1.weight'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("weird.safetensors"), std::string::npos) << e.what();
  }
}
