// out[t, d] = table[ids[t], d] for the ids inside this table chunk (rows r0 … r0+rows−1).
// Header: WG. Weight access (w_load1) comes from a wload_* file. Grid: x over D, y over T.
struct Params {
  D: u32,
  r0: u32,
  rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let t = gid.y;
  if (d >= p.D) {
    return;
  }
  let id = ids[t];
  if (id < i32(p.r0) || id >= i32(p.r0 + p.rows)) {
    return;
  }
  out[t * p.D + d] = w_load1((u32(id) - p.r0) * p.D + d);
}
