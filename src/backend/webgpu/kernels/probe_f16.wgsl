// The backend's probe of unpack2x16float on f16 subnormals (WGSL lets an implementation flush
// them; qgemv1_ilv's SUB decode needs them kept): out[i] = unpack2x16float(words[i]), i < n.
// Header: none. Grid: 1 (64 threads).
struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) i: u32) {
  if (i < p.n) {
    out[i] = unpack2x16float(words[i]);
  }
}
