// h += scale · xᵀx, tiled: each workgroup owns a TILE×TILE block of h and walks
// T in steps of TILE through shared memory. Header: TILE (WG = TILE²).
// Grid: x over column blocks, y over row blocks.
struct Params {
  T: u32,
  K: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

var<workgroup> xi: array<f32, TILE * TILE>;
var<workgroup> xj: array<f32, TILE * TILE>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i0 = wid.y * TILE;
  let j0 = wid.x * TILE;
  let i = i0 + lid.y;
  let j = j0 + lid.x;
  var acc = 0.0;
  for (var t0 = 0u; t0 < p.T; t0 += TILE) {
    // row t0+lid.y of x, columns i0+lid.x and j0+lid.x
    let t = t0 + lid.y;
    let ci = i0 + lid.x;
    let cj = j0 + lid.x;
    xi[lid.y * TILE + lid.x] = select(0.0, x[t * p.K + ci], t < p.T && ci < p.K);
    xj[lid.y * TILE + lid.x] = select(0.0, x[t * p.K + cj], t < p.T && cj < p.K);
    workgroupBarrier();
    for (var tt = 0u; tt < TILE; tt++) {
      acc += xi[tt * TILE + lid.y] * xj[tt * TILE + lid.x];
    }
    workgroupBarrier();
  }
  if (i < p.K && j < p.K) {
    h[i * p.K + j] += p.scale * acc;
  }
}
