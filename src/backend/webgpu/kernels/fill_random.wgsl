// Fills a buffer with uniform values in [−scale, scale) from a hash of
// (seed, word index): benchmark weights made on the GPU instead of the host.
// Header: WG, PACKED (two 16-bit values per word, bf16 when BF16 else f16;
// otherwise one f32 per word). Grid: 2-D over the words.
struct Params {
  words: u32,
  stride: u32,
  seed: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

fn hash(x: u32) -> u32 {
  var h = x * 0x9e3779b1u;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

fn sample(h: u32) -> f32 {
  return (f32(h >> 8u) / 16777216.0 * 2.0 - 1.0) * p.scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.words) {
    return;
  }
  let h = hash(i ^ hash(p.seed));
  if (PACKED) {
    let a = sample(h);
    let b = sample(hash(h));
    if (BF16) {
      out[i] = (bitcast<u32>(a) >> 16u) | (bitcast<u32>(b) & 0xffff0000u);
    } else {
      out[i] = pack2x16float(vec2<f32>(a, b));
    }
  } else {
    out[i] = bitcast<u32>(sample(h));
  }
}
