#!/usr/bin/env node
// hf_bench.js TOKENIZER.json TEXT.txt [ROUNDS]: HF tokenizers' (npm
// tokenizers@0.23.2, Rust) single-thread encode speed on the same text as
// the Go benchmark. bench.sh runs it with RAYON_NUM_THREADS=1 and
// TOKENIZERS_PARALLELISM=false. Prints two lines, MB/s (1e6 bytes) of:
//   whole  the whole text in one encode call
//   lines  the text line by line (encodeBatch of all lines, one thread)
// each the median of ROUNDS rounds after one warm-up round.
'use strict';
process.env.RAYON_NUM_THREADS = '1';
process.env.TOKENIZERS_PARALLELISM = 'false';
const fs = require('fs');
const path = require('path');

function loadHF() {
  const root = path.resolve(__dirname, '../../..');
  for (const p of [path.join(root, '.cache/npm/node_modules/tokenizers'), 'tokenizers']) {
    try { return require(p); } catch (e) { /* next */ }
  }
  throw new Error('npm package tokenizers not found: npm install --prefix .cache/npm tokenizers@0.23.2');
}

async function main() {
  const [file, textFile, roundsArg] = process.argv.slice(2);
  const rounds = Number(roundsArg || 5);
  const hf = loadHF();
  const t = hf.Tokenizer.fromFile(file);
  const text = fs.readFileSync(textFile, 'utf8');
  const bytes = Buffer.byteLength(text);
  const lines = text.split(/(?<=\n)/);
  const opts = { addSpecialTokens: false };
  const runs = {
    whole: async () => { await t.encode(text, null, opts); },
    lines: async () => { await t.encodeBatch(lines, opts); },
  };
  for (const [name, run] of Object.entries(runs)) {
    await run();
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      await run();
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(`${name} ${(bytes / 1e6 / median).toFixed(2)}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
