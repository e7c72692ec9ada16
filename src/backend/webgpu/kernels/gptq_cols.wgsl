// The column loop of one GPTQ block (Alg. 1 lines 5–9) on transposed working
// weights wt [n, out]: one thread per output row r walks the layout columns
// j of [i1, i2) — rows are independent inside a block — reading wt[k, r]
// coalesced across threads and U's rows as broadcasts. Grids follow
// formats/grids/uniform.ts (min-max fit): f32 steps, round half to even (WGSL
// `round`), quotients refined with an fma so they round like IEEE division,
// steps stored in fp16 (rounded to nearest even here). A step that overflows
// fp16 is stored as −1 for the caller to report. MSE: gptq's shrink search
// (ranges sh·[xmin, xmax], sh = 1 − i/mseGrid for i < mseSteps, lowest
// Σ|x̂ − x|^mseNorm kept, first wins ties), summed in f32 here (f64 on the host).
// Header: WG, SYM, MSE, CACHE, CACHE_N (blocks of at most CACHE_N columns keep
// the row's block in a private array).
// Grid: x over rows.
struct Params {
  n: u32,
  out: u32,
  i1: u32,
  i2: u32,
  maxq: f32,
  fitG: u32,
  mseGrid: f32,
  mseNorm: f32,
  mseSteps: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> zero: array<f32>;
@group(0) @binding(5) var<storage, read> group: array<i32>;
@group(0) @binding(6) var<storage, read> perm: array<i32>;
@group(0) @binding(7) var<storage, read_write> what: array<f32>;
@group(0) @binding(8) var<storage, read_write> err: array<f32>;

// x / y rounded as IEEE division: one fma residual step over the hardware quotient.
fn qdiv(x: f32, y: f32) -> f32 {
  let q = x / y;
  return q + fma(-q, y, x) / y;
}

// A positive f32 rounded to the nearest fp16 (ties to even); subnormals on the 2^-24 grid; −1 on overflow.
fn roundF16(x: f32) -> f32 {
  let e = i32((bitcast<u32>(x) >> 23u) & 0xffu) - 127;
  let qe = max(e, -14) - 10;
  let s = round(ldexp(x, -qe));
  if (s > 2047.5 && e >= 15) {
    return -1.0;
  }
  return ldexp(s, qe);
}

// Row r's block columns wt[i1 … i2, r]: in a private array when the block fits
// (CACHE: the in-block updates stay out of global memory), else in wt itself.
var<private> wc: array<f32, CACHE_N>;

fn wget(j: u32, r: u32) -> f32 {
  if (CACHE) {
    return wc[j - p.i1];
  }
  return wt[j * p.out + r];
}

fn wset(j: u32, r: u32, v: f32) {
  if (CACHE) {
    wc[j - p.i1] = v;
  } else {
    wt[j * p.out + r] = v;
  }
}

// (step stored in fp16, zero) for the range [xmin, xmax] (uniform.ts paramsFor).
fn params(xmin: f32, xmax: f32) -> vec2<f32> {
  let s32 = qdiv(xmax - xmin, p.maxq);
  var z = (p.maxq + 1.0) / 2.0;
  if (!SYM) {
    z = round(qdiv(-xmin, s32));
    z = select(z, 0.0, z == 0.0); // +0, never −0 (as the host's `+ 0`)
  }
  let s16 = roundF16(s32);
  return vec2<f32>(select(s16, ldexp(1.0, -24), s16 == 0.0), z);
}

// Row r's grid over columns [j, c1) (uniform.ts fitUniform).
fn fit(j: u32, c1: u32, r: u32) -> vec2<f32> {
  var xmin = 0.0;
  var xmax = 0.0;
  for (var c = j; c < c1; c++) {
    let v = wget(c, r);
    xmin = min(xmin, v);
    xmax = max(xmax, v);
  }
  if (SYM) {
    xmax = max(-xmin, xmax);
    if (xmin < 0.0) {
      xmin = -xmax;
    }
  }
  if (xmin == 0.0 && xmax == 0.0) {
    xmin = -1.0;
    xmax = 1.0;
  }
  var best = params(xmin, xmax);
  if (!MSE) {
    return best;
  }
  var bestErr = 3.4e38;
  for (var i = 0u; i < p.mseSteps; i++) {
    let sh = 1.0 - qdiv(f32(i), p.mseGrid);
    let cand = params(sh * xmin, sh * xmax);
    var err = 0.0;
    for (var c = j; c < c1; c++) {
      let v = wget(c, r);
      let q = clamp(round(qdiv(v, cand.x)) + cand.y, 0.0, p.maxq);
      let d = abs(cand.x * (q - cand.y) - v);
      err += select(pow(d, p.mseNorm), 0.0, d == 0.0);
    }
    if (err < bestErr) {
      bestErr = err;
      best = cand;
    }
  }
  return best;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= p.out) {
    return;
  }
  let n = p.n;
  let out = p.out;
  if (CACHE) {
    for (var j = p.i1; j < p.i2; j++) {
      wc[j - p.i1] = wt[j * out + r];
    }
  }
  for (var j = p.i1; j < p.i2; j++) {
    if (p.fitG > 0u && j % p.fitG == 0u) {
      // gptq find_params on this row of the group, on the updated weights (blocks are cut at group starts)
      let sz = fit(j, min(n, j + p.fitG), r);
      let gi = j / p.fitG;
      scale[gi * out + r] = sz.x;
      zero[gi * out + r] = sz.y;
    }
    let gi = u32(group[j]);
    let s = scale[gi * out + r];
    let z = zero[gi * out + r];
    let w = wget(j, r);
    let q = clamp(round(qdiv(w, s)) + z, 0.0, p.maxq);
    let qhat = s * (q - z);
    what[r * n + u32(perm[j])] = qhat;
    let e = (w - qhat) / u[j * n + j];
    err[(j - p.i1) * out + r] = e;
    let uj = j * n;
    for (var k = j + 1u; k < p.i2; k++) {
      wset(k, r, wget(k, r) - e * u[uj + k]);
    }
  }
  if (CACHE) {
    for (var j = p.i1; j < p.i2; j++) {
      wt[j * out + r] = wc[j - p.i1];
    }
  }
}
