// What the T = 1 packed GEMVs (qgemv1.wgsl, qgemv1_ilv.wgsl) share: their uniforms and bindings,
// the weight rows of a thread group, and the output epilogue (row sums, 1/rms, bias, SwiGLU
// output, residual add). Header: R, NR (R, or 2·R with GLU), TPR, HAS_BIAS, GLU, ACC; row_sums
// from a gemv_reduce_rows_* file (and row_sum from the gemv_reduce_* file it builds on); the
// header's words in p.hdr for qheader_uniform.wgsl.
struct Params {
  K: u32,
  rows: u32,
  col0: u32,
  eps: f32,
  hdr: array<vec4<u32>, 4>, // the weight's packed header (qheader_uniform.wgsl)
  parts: u32, // PREP: the partial sums of squares at x[K …]
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> nw: array<vec4<f32>>; // NORM: this norm's weight; NORM_OUT: the next one's
// NORM_OUT: [out·nw (rows) | Σ out² per workgroup (ceil(rows / (R·RG)))], the next matmul's PREP input
@group(0) @binding(6) var<storage, read_write> xo: array<f32>;

fn silu4(g: vec4<f32>) -> vec4<f32> {
  return g / (vec4<f32>(1.0) + exp(-g));
}

// The NR weight rows of the group whose first output row is r0: outputs r0 … r0 + R − 1, then
// with GLU their up rows (rows + r0 …). Dead rows read a live one and discard the result.
fn weight_rows(r0: u32) -> array<u32, NR> {
  var wrow: array<u32, NR>;
  for (var t = 0u; t < NR; t++) {
    var r = min(r0 + t % R, p.rows - 1u);
    if (GLU && t >= R) {
      r += p.rows; // the up row of output t − R
    }
    wrow[t] = r;
  }
  return wrow;
}

// With ACC, out[col0 + r0 + t] as it was before this dispatch, read when the kernel starts (no
// other workgroup writes these rows), so the epilogue's residual add does not wait for a load
// after the row sums.
fn prior_rows(r0: u32) -> array<f32, R> {
  var a: array<f32, R>;
  if (ACC) {
    for (var t = 0u; t < R; t++) {
      a[t] = out[p.col0 + min(r0 + t, p.rows - 1u)];
    }
  }
  return a;
}

// NORM_OUT: the next norm's weight at the group's output rows, read when the kernel starts.
fn next_norm_rows(r0: u32) -> array<f32, R> {
  var a: array<f32, R>;
  if (NORM_OUT) {
    for (var t = 0u; t < R; t++) {
      let r = min(r0 + t, p.rows - 1u);
      a[t] = nw[r >> 2u][r & 3u];
    }
  }
  return a;
}

// PREP: x is [x·nw | p.parts partial sums of x²] as a NORM_OUT producer wrote it; the share of
// Σ x² of the thread `first` of `stride` threads that split the partials (the group's lanes, or
// the workgroup's threads). Read when the kernel starts.
fn prep_ss(first: u32, stride: u32) -> f32 {
  var s = 0.0;
  if (PREP) {
    let K4 = p.K / 4u;
    for (var i = first; 4u * i < p.parts; i += stride) {
      let live = vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.parts);
      s += dot(select(vec4<f32>(0.0), x[K4 + i], live), vec4<f32>(1.0));
    }
  }
  return s;
}

// out[col0 + r0 + t] = prior[t] (ACC) + the group's sum of acc[t] · inv (+ bias), or with GLU
// silu(gate)·up; with NORM_OUT also xo[r] = out·nn[t] and the workgroup's Σ out² at
// xo[rows + workgroup] (col0 is 0). Call in uniform control flow (row_sum, the barrier).
var<workgroup> sq_groups: array<f32, RG>; // NORM_OUT: each group's Σ out²

fn store_rows(acc: array<f32, NR>, inv: f32, r0: u32, lid: u32, prior: array<f32, R>, nn: array<f32, R>) {
  let sums = row_sums(acc, lid);
  var sq = 0.0;
  for (var t = 0u; t < R; t++) {
    var s = sums[t] * inv;
    var up = 0.0;
    if (GLU) {
      up = sums[R + t] * inv;
    }
    let r = r0 + t;
    if (r < p.rows && lid % TPR == 0u) {
      if (HAS_BIAS) {
        s += bias[r];
        if (GLU) {
          up += bias[p.rows + r];
        }
      }
      if (GLU) {
        s = s / (1.0 + exp(-s)) * up;
      }
      let o = p.col0 + r;
      if (ACC) {
        s += prior[t];
      }
      out[o] = s;
      if (NORM_OUT) {
        xo[r] = s * nn[t];
        sq += s * s;
      }
    }
  }
  if (NORM_OUT) {
    // one partial sum per workgroup (its RG groups' rows), so a consumer reads few of them
    if (lid % TPR == 0u) {
      sq_groups[lid / TPR] = sq;
    }
    workgroupBarrier();
    if (lid == 0u) {
      var total = 0.0;
      for (var g = 0u; g < RG; g++) {
        total += sq_groups[g];
      }
      xo[p.rows + r0 / (R * RG)] = total;
    }
  }
}
