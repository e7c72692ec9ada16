// Weight access, f16 weights packed two per u32 (element 2i in the low half),
// widened with unpack2x16float, so no shader-f16 feature is needed (binding 1).
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;

fn w_load1(e: u32) -> f32 {
  return unpack2x16float(w[e >> 3u][(e >> 1u) & 3u])[e & 1u];
}

// Elements e … e+3, e % 4 == 0: two words of one vec4.
fn w_load4(e: u32) -> vec4<f32> {
  let q = w[e >> 3u];
  let o = (e >> 1u) & 2u;
  return vec4<f32>(unpack2x16float(q[o]), unpack2x16float(q[o + 1u]));
}

// Elements e … e+7, e % 8 == 0: one 16-byte load.
fn w_load8(e: u32) -> array<vec4<f32>, 2> {
  let q = w[e >> 3u];
  return array<vec4<f32>, 2>(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)));
}
