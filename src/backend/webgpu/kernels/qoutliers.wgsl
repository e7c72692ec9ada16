// SpQR outliers, the second pass: out[t, col0 + r] += Σ_e val[e] · x[t, col[e]] over row r's
// CSR entries (array 5 rowPtr; array 6 each entry as column | fp16 value << 16, the GPU image's
// merged outlierCol and outlierVal, array 7 empty), after the dense GEMM/GEMV wrote out.
// One invocation per (t, r); rows without outliers do nothing. Header: WG. Grid: 2-D over T·rows.
struct Params {
  T: u32,
  K: u32,
  ldo: u32,
  col0: u32,
  rows: u32,
  stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.T * p.rows) {
    return;
  }
  let t = i / p.rows;
  let r = i - t * p.rows;
  let e0 = q_word(q_off(5u) + r);
  let e1 = q_word(q_off(5u) + r + 1u);
  if (e1 <= e0) {
    return;
  }
  var acc = 0.0;
  for (var e = e0; e < e1; e++) {
    let pr = q_word(q_off(6u) + e); // column | fp16 value << 16 (webgpu/packed.ts)
    acc += unpack2x16float(pr).y * x[t * p.K + (pr & 0xffffu)];
  }
  let o = t * p.ldo + p.col0 + r;
  out[o] = out[o] + acc;
}
