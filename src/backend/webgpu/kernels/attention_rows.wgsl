// What attention_decode.wgsl and attention_flash.wgsl share (a file in front of either, after the
// io file): the head's shape constants, the query in workgroup memory, q·k over a cached key row
// and a value column of a cached value row as loaded (k and v are bound by the io file, read
// through kv_f32.wgsl's or kv_f16.wgsl's accessors; a column widens with vwide at its product).
// Header: WG, HD.

const HD4 = (HD + 3u) / 4u;
const VEC = HD % 4u == 0u;
const NC = select(HD, HD / 4u, VEC); // value columns
const G = WG / NC; // key groups of the value pass

var<workgroup> qs: array<vec4<f32>, HD4>; // the query, zero-padded to whole vec4s

// q·k for the key row starting at element kb
fn qk(kb: u32) -> f32 {
  var d = 0.0;
  if (HD % 8u == 0u) {
    for (var i = 0u; i < HD4; i += 2u) {
      let kk = k8(kb / 8u + i / 2u);
      d += dot(qs[i], kk[0]);
      d += dot(qs[i + 1u], kk[1]);
    }
  } else if (VEC) {
    for (var i = 0u; i < HD4; i++) {
      d += dot(qs[i], k4(kb / 4u + i));
    }
  } else {
    for (var i = 0u; i < HD; i++) {
      d += qs[i / 4u][i % 4u] * k1(kb + i);
    }
  }
  return d;
}

// value column c of the row starting at element vb, as loaded (a dim in x when HD % 4 != 0)
fn v_raw(vb: u32, c: u32) -> VR {
  if (VEC) {
    return v[vb / 4u + c];
  }
  return v_raw1(vb + c);
}
