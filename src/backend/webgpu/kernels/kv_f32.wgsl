// The KV cache as f32 (Backend.attention with f32 caches): the kernel binds the caches k (array<KK>)
// and v (array<KV>), one vec4 (four elements of a row-major [S, Ckv] cache) an entry; these read
// them. The same names as kv_f16.wgsl, so each attention kernel has one source for both.
alias KK = vec4<f32>;
alias KV = vec4<f32>;
alias VR = vec4<f32>;

// elements 8j … 8j + 7 of the key cache
fn k8(j: u32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(k[2u * j], k[2u * j + 1u]);
}

// elements 4j … 4j + 3 of the key cache
fn k4(j: u32) -> vec4<f32> {
  return k[j];
}

// element e of the key cache
fn k1(e: u32) -> f32 {
  return k[e / 4u][e % 4u];
}

// element e of the value cache
fn v1(e: u32) -> f32 {
  return v[e / 4u][e % 4u];
}

// a value column as loaded (v[j]), widened
fn vwide(x: VR) -> vec4<f32> {
  return x;
}

// four values as a loaded column
fn vr_of(x: vec4<f32>) -> VR {
  return x;
}

// value e alone as a loaded column (the others zero)
fn v_raw1(e: u32) -> VR {
  return vec4<f32>(v1(e), 0.0, 0.0, 0.0);
}
