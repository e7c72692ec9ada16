// Weight access, f32 weights: element e of a row-major weight chunk (binding 1).
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;

fn w_load1(e: u32) -> f32 {
  return w[e >> 2u][e & 3u];
}

// Elements e … e+3, e % 4 == 0.
fn w_load4(e: u32) -> vec4<f32> {
  return w[e >> 2u];
}

// Elements e … e+7, e % 8 == 0: two 16-byte loads.
fn w_load8(e: u32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(w[e >> 2u], w[(e >> 2u) + 1u]);
}
