// The columns of one SpQR group (quant/methods/spqr.ts, Alg. 1) on transposed
// working weights wt [n, out], one thread per output row r:
// 1. bilevel stats (affine.ts fitAffineF16): every thread of a chunk of QQG
//    rows fits the chunk's fp16 (scale, zero) of the first-level scales and of
//    the zeros in `fit` (the same numbers in each thread), quantizes its own
//    row's pair to qqBits and writes grid[gi, :, r]; the chunk's first row
//    writes stats[gi, chunk, :]. A second-level scale that overflows fp16 is −1.
// 2. columns j0 … j0+gw: code, ŵ and e = (w − ŵ)/U[j, j]; with OUTLIERS and
//    e² > tau the code of 0 plus the fp16 residual (saturated at ±65504, where
//    the host would store inf), e recomputed; ŵ, the code word and e are
//    written, and wt[k, r] −= e · U[j, k] for k in (j, i2).
// Header: WG, OUTLIERS. Snippets: spqr_grid, f16_bits (an outlier's bits). Grid: x over rows.
struct Params {
  n: u32,
  out: u32,
  i1: u32,
  i2: u32,
  j0: u32,
  gw: u32,
  gi: u32,
  qqg: u32,
  nStat: u32,
  maxq: f32,
  qqMax: f32,
  tau: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> fit: array<f32>;
@group(0) @binding(4) var<storage, read_write> grid: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> what: array<f32>;
@group(0) @binding(7) var<storage, read_write> codes: array<u32>;
@group(0) @binding(8) var<storage, read_write> err: array<f32>;

// A second-level step stored in fp16 (uniform.ts storeScaleF16): 2^-24 at least; −1 on overflow.
fn store_scale(s: f32) -> f32 {
  if (f16_overflows(s)) {
    return -1.0;
  }
  let h = round_f16(s);
  return select(ldexp(1.0, -24), h, h > 0.0);
}

// fitAffineF16 of fit[off + r0 … off + r1].
fn fit_stat(off: u32, r0: u32, r1: u32) -> vec2<f32> {
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var r = r0; r < r1; r++) {
    lo = min(lo, fit[off + r]);
    hi = max(hi, fit[off + r]);
  }
  let sz = affine_params(lo, hi, p.qqMax);
  if (!f16_overflows(sz.y)) {
    return vec2<f32>(store_scale(sz.x), round_f16(sz.y));
  }
  // the zero overflows fp16: widen the step to |min|/60000 so that it fits
  let s = store_scale(qdiv(abs(lo), 60000.0));
  return vec2<f32>(s, round_f16(qdiv(-lo, s)));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= p.out) {
    return;
  }
  let n = p.n;
  let out = p.out;
  let og = r / p.qqg;
  let r0 = og * p.qqg;
  let r1 = min(out, r0 + p.qqg);
  let ps = fit_stat(0u, r0, r1);
  let pz = fit_stat(out, r0, r1);
  if (r == r0) {
    let k = (p.gi * p.nStat + og) * 4u;
    stats[k] = ps.x;
    stats[k + 1u] = ps.y;
    stats[k + 2u] = pz.x;
    stats[k + 3u] = pz.y;
  }
  let qs = affine_code(fit[r], ps, p.qqMax);
  let qz = affine_code(fit[out + r], pz, p.qqMax);
  let sz = vec2<f32>(affine_deq(qs, ps), affine_deq(qz, pz));
  let g = p.gi * 4u * out + r;
  grid[g] = sz.x;
  grid[g + out] = sz.y;
  grid[g + 2u * out] = qs;
  grid[g + 3u * out] = qz;

  for (var j = p.j0; j < p.j0 + p.gw; j++) {
    let d = u[j * n + j];
    let w = wt[j * out + r];
    var q = affine_code(w, sz, p.maxq);
    var qhat = affine_deq(q, sz);
    var e = qdiv(w - qhat, d);
    var flags = 0u;
    if (OUTLIERS && e * e > p.tau) {
      // outlier: the dense part holds the code of 0, the fp16 residual the rest
      q = affine_code(0.0, sz, p.maxq);
      let dense = affine_deq(q, sz);
      let v = round_f16(clamp(w - dense, -65504.0, 65504.0));
      qhat = dense + v;
      e = qdiv(w - qhat, d);
      flags = 0x100u | (f16_bits(v) << 16u);
    }
    what[r * n + j] = qhat;
    codes[r * n + j] = u32(q) | flags;
    err[(j - p.i1) * out + r] = e;
    let uj = j * n;
    for (var k = j + 1u; k < p.i2; k++) {
      wt[k * out + r] -= e * u[uj + k];
    }
  }
}
