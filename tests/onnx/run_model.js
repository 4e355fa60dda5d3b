// Runs an ONNX model in ONNX Runtime (CPU) for SuperSAM's export tests and benchmarks.
//
//   node run_model.js MODEL.onnx IO_DIR [REPEAT [THREADS]]
//
// IO_DIR/inputs.json lists the inputs: [{"name": ..., "shape": [...], "file": "x.bin"}], each file raw float32
// little-endian. Every output is written as IO_DIR/out_<name>.bin (float32; int64 outputs are converted) and
// IO_DIR/outputs.json lists them with their shapes, plus "run_ms": the mean wall time of REPEAT runs (default 1)
// after one warm-up run, and "load_ms": the session's creation time. THREADS: ONNX Runtime's intra-op threads
// (default: its own choice, the physical cores).
'use strict';
const fs = require('fs');
const path = require('path');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  console.error('run_model.js: onnxruntime-node is not installed; run ' +
                '`cd tests/onnx && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci`');
  process.exit(3);
}

async function main() {
  const [modelPath, ioDir, repeatArg, threadsArg] = process.argv.slice(2);
  if (!modelPath || !ioDir) {
    console.error('usage: node run_model.js MODEL.onnx IO_DIR [REPEAT [THREADS]]');
    process.exit(2);
  }
  const repeat = Math.max(1, parseInt(repeatArg || '1', 10));
  const spec = JSON.parse(fs.readFileSync(path.join(ioDir, 'inputs.json'), 'utf8'));
  const feeds = {};
  for (const input of spec) {
    const buf = fs.readFileSync(path.join(ioDir, input.file));
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (buf.length !== count * 4) {
      throw new Error(`${input.file}: ${buf.length} bytes, expected ${count * 4} for shape [${input.shape}]`);
    }
    const data = new Float32Array(count);
    for (let i = 0; i < count; ++i) data[i] = buf.readFloatLE(i * 4);
    feeds[input.name] = new ort.Tensor('float32', data, input.shape);
  }
  const t0 = process.hrtime.bigint();
  const options = {executionProviders: ['cpu']};
  if (threadsArg) options.intraOpNumThreads = Math.max(1, parseInt(threadsArg, 10));
  const session = await ort.InferenceSession.create(modelPath, options);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let results = await session.run(feeds);  // warm-up (and the results when REPEAT is 1)
  const t1 = process.hrtime.bigint();
  for (let r = 0; r < repeat; ++r) results = await session.run(feeds);
  const runMs = Number(process.hrtime.bigint() - t1) / 1e6 / repeat;
  const outputs = [];
  for (const name of session.outputNames) {
    const t = results[name];
    const data = Float32Array.from(t.data, (v) => Number(v));
    const out = Buffer.alloc(data.length * 4);
    for (let i = 0; i < data.length; ++i) out.writeFloatLE(data[i], i * 4);
    const file = `out_${name}.bin`;
    fs.writeFileSync(path.join(ioDir, file), out);
    outputs.push({name, shape: t.dims.map(Number), file});
  }
  fs.writeFileSync(path.join(ioDir, 'outputs.json'),
                   JSON.stringify({outputs, run_ms: runMs, load_ms: loadMs}, null, 1));
}

main().catch((e) => {
  console.error(`run_model.js: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
