#!/usr/bin/env node
// make.js builds the project's own small tokenizer and its reference cases
// with HuggingFace tokenizers (the Rust library, npm tokenizers@0.23.2), so
// the Go tests can compare against HF without ../shared.
//
//   node make.js               writes tokenizer.json, cases.jsonl and
//                              decode_cases.jsonl beside this script
//   node make.js --diff TOKENIZER.json N OUT.jsonl
//                              writes N random texts with HF's ids for any
//                              tokenizer (a development check: see
//                              hfdiff_test.go)
//
// The tokenizer is trained on corpus.txt (written for this project) and set
// up like GPT-NeoX-20B's: NFC, ByteLevel without prefix space, the full
// byte-level alphabet, <|endoftext|> = 0 and <|padding|> = 1, and runs of
// 2-4 spaces as added tokens. A few more added tokens try HF's flags
// (lstrip, rstrip, single_word, normalized). `make tokenizer-testdata`
// installs the npm package into .cache/npm and runs this.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');

function loadHF() {
  const root = path.resolve(__dirname, '../../..');
  for (const p of [path.join(root, '.cache/npm/node_modules/tokenizers'), 'tokenizers']) {
    try { return require(p); } catch (e) { /* next */ }
  }
  throw new Error('npm package tokenizers not found: run `make tokenizer-testdata` or npm install --prefix .cache/npm tokenizers@0.23.2');
}
const hf = loadHF();

const MERGES = 740; // with 2 specials and 256 bytes: a vocab of about 1000

// mulberry32: a small deterministic PRNG, so the cases are reproducible.
function rng(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// GPT-2's byte-level alphabet, in byte order.
function byteAlphabet() {
  const out = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    out.push(String.fromCodePoint(printable ? b : 256 + n++));
  }
  return out;
}

async function train() {
  const corpus = path.join(__dirname, 'corpus.txt');
  const t = new hf.Tokenizer(hf.BPE.empty());
  t.setNormalizer(hf.nfcNormalizer());
  t.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  t.train([corpus]);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tok-')), 'trained.json');
  t.save(tmp, false);
  const trained = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  let merges = trained.model.merges.map((m) => (typeof m === 'string' ? m.split(' ') : m));
  merges = merges.slice(0, MERGES);

  // Vocab: the two specials, the whole byte alphabet, then the merged
  // tokens in merge order; every merge's parts are already in it.
  const vocab = { '<|endoftext|>': 0, '<|padding|>': 1 };
  let next = 2;
  for (const c of byteAlphabet()) vocab[c] = next++;
  for (const [a, b] of merges) {
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b} names an unknown token`);
    if (!((a + b) in vocab)) vocab[a + b] = next++;
  }
  const tok = (id, content, special, normalized, extra = {}) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized, special, ...extra,
  });
  let id = next;
  const added = [
    tok(0, '<|endoftext|>', true, false),
    tok(1, '<|padding|>', true, false),
    tok(id++, '    ', false, true),
    tok(id++, '   ', false, true),
    tok(id++, '  ', false, true),
    // Beyond GPT-NeoX: one token per flag, to check HF's rules for them.
    tok(id++, '<mask>', true, false, { lstrip: true, rstrip: true }),
    tok(id++, '[word]', false, true, { single_word: true }),
    tok(id++, 'cafe\u0301', false, true), // matched in NFC: "café"
    tok(id++, '\u2126', false, false), // OHM SIGN, matched before NFC makes it Ω U+03A9
    tok(id++, 'naïve', false, true), // ï is a byte-level rune: decodes to invalid UTF-8
  ];
  const spec = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab, merges,
    },
  };
  // Let HF read it and write it back, so the file is in HF's own format.
  const out = path.join(__dirname, 'tokenizer.json');
  hf.Tokenizer.fromString(JSON.stringify(spec)).save(out, true);
  return out;
}

// Pieces that random texts are made of: every class the pre-tokenizer
// tells apart, Unicode white space and near-white space, marks, other
// scripts' digits, NFC-sensitive text, controls, emoji, added tokens and
// near misses, and recent or unusual code points.
const ATOMS = [
  'the', 'model', 'Hello', 'hello', 'world', 'state', 'Mamba', 'x', 'I', 'a', 'ing', 'token',
  "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'RE", "'x", "''", "'",
  ' ', ' ', ' ', '  ', '   ', '    ', '     ', '\t', '\n', '\r\n', '\n\n', ' \n', '\u00a0', '\u2000',
  '\u2009', '\u3000', '\u0085', '\u1680', '\u180e', '\u200b', '\u2028', '\ufeff', '\u000b', '\u000c',
  '\u001c', '\u001f',
  '0', '7', '42', '3.14', '1,000', '٣', '२', '²', '½', 'Ⅻ', '①', '𝟘', '〇',
  'é', 'e\u0301', 'A\u030a', 'Å', 'ñ', 'ß', 'İ', 'ı', 'ǅ', 'ʰ', 'ª', 'ﬁ', 'Ａ', 'α', 'Ж', 'ש',
  'ع', 'क', 'कि', 'ก', '中', 'の', 'ア', '한', '\u1100\u1161', '𝔸', 'ᾳ',
  '\u0301', '\u0308', '\u0332', '\u093f', '\u20dd', '\u0e31', '\u05b0',
  '.', ',', '!', '?', '-', '_', '...', '--', '(', ')', '{', '}', '[', ']', '"', '`', '/', '\\',
  '@', '#', '$', '%', '&', '*', '+', '=', '<', '>', '|', '~', '^', '€', '©', '™', '→', '∑', '•',
  '…', '«', '»', '“', '”', '—',
  '🐍', '🦙', '👍🏽', '👨‍👩‍👧', '❤️', '🇫🇷', '😀',
  '\u0000', '\u0001', '\u007f', '\u0080', '\u009f',
  '<|endoftext|>', '<|padding|>', '<|endoftext|', '<|', '|>', '<mask>', '<mask', '[word]', '[word',
  'naïve', 'nai\u0308ve', 'café', 'cafe\u0301', '\u2126', '\u03a9',
  '\ue000', '\uffff', '\u{10ffff}', '\u{1fae8}', '\u{31350}', '\u{2ebf0}', '\u{10d40}', '\u{a7cb}',
  '\u{1e4d0}', '\u{11f00}',
];

function randomTexts(n, seed) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + Math.floor(r() * 12);
    let s = '';
    for (let j = 0; j < k; j++) s += ATOMS[Math.floor(r() * ATOMS.length)];
    out.push(s);
  }
  return out;
}

// Hand-picked texts: the GPT-NeoX quirks, and each added token's flags.
const TEXTS = [
  '', ' ', '  ', '   ', '    ', '     ', '         ', '\t', '\n', '\n\n', '\r\n', ' \n', '\n ',
  'Hello world', 'Hello  world', 'Hello   world', 'Hi  Hello', 'Hi   Hello', ' Hello', '  Hello',
  'Hello ', 'Hello  ', 'a\tb', 'a \tb', 'a\t b', 'a\u00a0b', 'a \u00a0b', 'a\u3000\u3000b',
  "I'm sure it's what they've said we'd do", "IT'S", "it''s", "'s'", "don't", "'ll'd're've'm't",
  '3.14159 and 1,000,000 and 2024-06-01', '٠١٢٣ ²³ ½ Ⅻ ①', 'x² + y³',
  'é vs e\u0301', 'Å Å Å', '\u1100\u1161\u11a8', 'ﬁne Ａ',
  '<|endoftext|>', '<|endoftext|><|padding|>', 'a<|endoftext|>b', ' <|endoftext|> ',
  'text<|endoftext|>\n\nmore', '<|endoftext|', '<|endoftext|>>', '<<|padding|>',
  'a <mask> b', 'a<mask>b', '  <mask>  x', '<mask><mask>', 'x\t<mask>\n\ny', '<mask>   ',
  '[word]', 'a [word] b', 'a[word] b', 'a [word]b', '[word][word]', '([word])', 'é[word]',
  '_[word]', '1[word]', '\u0301[word]',
  'café', 'cafe\u0301', 'cafés', 'Xcafé', 'café<|endoftext|>cafe\u0301',
  '\u2126', '\u03a9', 'a\u2126b', 'naïve', 'nai\u0308ve', 'naïveté',
  '🐍 🦙 👍🏽 👨‍👩‍👧 ❤️ 🇫🇷', '中文：模型逐字读取文本。', 'Съешь же ещё этих мягких булок',
  'हिन्दी पाठ', 'ไทย', 'عربي', 'עברית',
  'a\u0000b', '\u0001\u0002\u0003', '\u007f', '\u0085x', 'x\u180ey', 'x\u200by', '\ufeffx',
  '    func main() {\n        fmt.Println("hi")\n    }\n',
  'line one   \nline two\t\n\n\nend',
];

async function encodeAll(t, texts) {
  const out = [];
  for (const text of texts) {
    const enc = await t.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    out.push({ text, ids, tokens: enc.getTokens(), decoded: await t.decode(ids, false) });
  }
  return out;
}

async function decodeCases(t, n, seed) {
  const r = rng(seed);
  const size = t.getVocabSize(true);
  const byteId = (b) => t.tokenToId(byteAlphabet()[b]);
  // Bytes of characters that a token can cut: é, €, 🐍.
  const parts = [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x90, 0x8d, 0x80, 0xbf, 0xed, 0xa0, 0xf4, 0x90].map(byteId);
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + Math.floor(r() * 8);
    const ids = [];
    for (let j = 0; j < k; j++) {
      const x = r();
      if (x < 0.45) ids.push(parts[Math.floor(r() * parts.length)]);
      else if (x < 0.55) ids.push(Math.floor(r() * 2));
      else if (x < 0.6) ids.push(size + Math.floor(r() * 5)); // no such id
      else ids.push(Math.floor(r() * size));
    }
    out.push({ ids, decoded: await t.decode(ids, false), decoded_skip_special: await t.decode(ids, true) });
  }
  return out;
}

function writeJSONL(file, rows) {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--diff') {
    const [file, n, out] = args.slice(1);
    const t = hf.Tokenizer.fromFile(file);
    const rows = await encodeAll(t, randomTexts(Number(n), 12345));
    writeJSONL(out, [{ tokenizer: path.resolve(file) }, ...rows]);
    return;
  }
  const file = await train();
  const t = hf.Tokenizer.fromFile(file);
  writeJSONL(path.join(__dirname, 'cases.jsonl'), await encodeAll(t, [...TEXTS, ...randomTexts(400, 1)]));
  writeJSONL(path.join(__dirname, 'decode_cases.jsonl'), await decodeCases(t, 150, 2));
  console.error(`wrote ${file} (vocab ${t.getVocabSize(true)}), cases.jsonl and decode_cases.jsonl`);
}

main().catch((e) => { console.error(e); process.exit(1); });
