// SpQR's first-level fit of one group (formats/grids/affine.ts
// fitAffineOutlierAware): one thread per output row r fits (scale, zero) on the
// working weights wt[j0 … j0+gw, r]. With outliers on (OUTLIERS), weight k is a
// likely outlier when leaving it out of the fit lowers the row's error
// Σ ((ŵ − w)/d_c)² (d_c = U[c, c]) by more than tau; likely outliers are
// replaced by the mean of the others before the min-max fit, which needs only
// the minimum and maximum of the modified row. Sums in f32 (f64 on the host).
// Header: WG, OUTLIERS. Snippet: spqr_grid. Grid: x over rows.
struct Params {
  n: u32,
  out: u32,
  j0: u32,
  gw: u32,
  maxq: f32,
  tau: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> fit: array<f32>;

fn w_at(c: u32, r: u32) -> f32 {
  return wt[(p.j0 + c) * p.out + r];
}

// ((deq(q(w_c)) − w_c) / d_c)² on the grid sz.
fn sq_err(r: u32, c: u32, sz: vec2<f32>) -> f32 {
  let v = w_at(c, r);
  let x = qdiv(affine_deq(affine_code(v, sz, p.maxq), sz) - v, u[(p.j0 + c) * p.n + p.j0 + c]);
  return x * x;
}

// (min, max) of row r's group without column skip (gw = skip: none skipped).
fn range_of(r: u32, skip: u32) -> vec2<f32> {
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var c = 0u; c < p.gw; c++) {
    if (c != skip) {
      let v = w_at(c, r);
      lo = min(lo, v);
      hi = max(hi, v);
    }
  }
  return vec2<f32>(lo, hi);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= p.out) {
    return;
  }
  var rng = range_of(r, p.gw);
  if (OUTLIERS && p.gw >= 2u) {
    let full = affine_params(rng.x, rng.y, p.maxq);
    var lo = 3.4e38;
    var hi = -3.4e38;
    var sum = 0.0;
    var kept = 0u;
    for (var k = 0u; k < p.gw; k++) {
      // the reduction Σ_c e_c(full fit) − Σ_{c≠k} e_c(fit without k), summed as
      // e_k + Σ_{c≠k} (e_c(full) − e_c(without k)): exactly e_k when k is not an
      // extreme of the row (the fit is then the same), as the host's f64 difference
      var red = sq_err(r, k, full);
      let o = range_of(r, k);
      if (any(o != rng)) {
        let sz = affine_params(o.x, o.y, p.maxq);
        for (var c = 0u; c < p.gw; c++) {
          if (c != k) {
            red += sq_err(r, c, full) - sq_err(r, c, sz);
          }
        }
      }
      let v = w_at(k, r);
      if (!(red > p.tau)) {
        sum += v;
        kept += 1u;
        lo = min(lo, v);
        hi = max(hi, v);
      }
    }
    if (kept < p.gw) {
      // the likely outliers take the mean of the others
      let mean = qdiv(sum, f32(max(kept, 1u)));
      lo = min(lo, mean);
      hi = max(hi, mean);
    }
    rng = vec2<f32>(lo, hi);
  }
  let sz = affine_params(rng.x, rng.y, p.maxq);
  fit[r] = sz.x;
  fit[p.out + r] = sz.y;
}
