// The packed header (qpacked.wgsl) read from a copy in the kernel's uniforms, p.hdr (16 words):
// a kernel's first code loads then wait for the uniforms alone, which every layer's dispatch of
// one shape shares (and which stay cached), not for a load from the weight buffer's header, a
// trip to memory of its own before any code can be requested.

// Word offset of the format's array number `a`.
fn q_off(a: u32) -> u32 {
  return p.hdr[a >> 2u][a & 3u];
}

// Statistics groups per row (header word 15).
fn q_groups() -> u32 {
  return p.hdr[3].w;
}
