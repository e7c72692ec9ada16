// Weight access, bf16 weights packed two per u32 (element 2i in the low half):
// a bf16 is the high half of an f32, so widening is a shift (binding 1).
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;

fn w_load1(e: u32) -> f32 {
  let word = w[e >> 3u][(e >> 1u) & 3u];
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (e & 1u) == 1u));
}

// Elements e … e+3, e % 4 == 0: two words of one vec4.
fn w_load4(e: u32) -> vec4<f32> {
  let q = w[e >> 3u];
  let o = (e >> 1u) & 2u;
  let a = q[o];
  let b = q[o + 1u];
  return vec4<f32>(bitcast<f32>(a << 16u), bitcast<f32>(a & 0xffff0000u), bitcast<f32>(b << 16u), bitcast<f32>(b & 0xffff0000u));
}

// Elements e … e+7, e % 8 == 0: one 16-byte load.
fn w_load8(e: u32) -> array<vec4<f32>, 2> {
  let q = w[e >> 3u];
  return array<vec4<f32>, 2>(
    vec4<f32>(bitcast<f32>(q.x << 16u), bitcast<f32>(q.x & 0xffff0000u), bitcast<f32>(q.y << 16u), bitcast<f32>(q.y & 0xffff0000u)),
    vec4<f32>(bitcast<f32>(q.z << 16u), bitcast<f32>(q.z & 0xffff0000u), bitcast<f32>(q.w << 16u), bitcast<f32>(q.w & 0xffff0000u)),
  );
}
